import { formatPlan } from '@strata/sdk';
import { Strata } from '@strata/sdk';
import type { Command } from 'commander';
import { output, withStrata } from '../context.js';

export function register(program: Command): void {
  program
    .command('apply')
    .description('apply entities, feature views and services from YAML files (Strata format or Feast 0.x FeatureSet)')
    .argument('<files...>', 'spec files (.yaml, .yml, .json)')
    .option('--dry-run', 'print the plan and change nothing')
    .action(async (files: string[], opts: { dryRun?: boolean }, cmd: Command) => {
      const specs = files.map((f) => Strata.readSpecFile(f));
      const repo = {
        entities: specs.flatMap((s) => s.entities),
        featureViews: specs.flatMap((s) => s.featureViews),
        featureServices: specs.flatMap((s) => s.featureServices),
      };
      const project = specs.find((s) => s.project)?.project;
      const root = cmd.parent as Command;
      if (project && !root.opts().project) root.setOptionValue('project', project);
      await withStrata(cmd, async (strata) => {
        if (opts.dryRun) {
          const changes = await strata.plan(repo);
          output(cmd, { project: strata.project, changes, applied: false }, formatPlan(changes));
          return;
        }
        const res = await strata.apply(repo);
        output(
          cmd,
          { project: strata.project, changes: res.changes, applied: true },
          `${res.text}\nApplied to project '${strata.project}'.`,
        );
      });
    });

  program
    .command('plan')
    .description('show what apply would change, without changing anything')
    .argument('<files...>', 'spec files')
    .action(async (files: string[], _opts: unknown, cmd: Command) => {
      const specs = files.map((f) => Strata.readSpecFile(f));
      const project = specs.find((s) => s.project)?.project;
      const root = cmd.parent as Command;
      if (project && !root.opts().project) root.setOptionValue('project', project);
      await withStrata(cmd, async (strata) => {
        const changes = await strata.plan({
          entities: specs.flatMap((s) => s.entities),
          featureViews: specs.flatMap((s) => s.featureViews),
          featureServices: specs.flatMap((s) => s.featureServices),
        });
        output(cmd, { project: strata.project, changes }, formatPlan(changes));
      });
    });

  program
    .command('list')
    .description('list the registered entities, feature views (with versions) and feature services')
    .action(async (_opts: unknown, cmd: Command) => {
      await withStrata(cmd, async (strata) => {
        const repo = await strata.loadRepo();
        const versions = await strata.registry.listViewVersions(strata.project);
        output(
          cmd,
          {
            project: strata.project,
            ...repo,
            versions: versions.map((v) => ({ view: v.name, version: v.version, table: v.tableName })),
          },
          () => {
            const lines = [`project ${strata.project}`];
            for (const e of repo.entities)
              lines.push(`  entity ${e.name} (${e.joinKeys.map((k) => `${k.name}: ${k.valueType}`).join(', ')})`);
            for (const v of repo.featureViews) {
              const latest = Math.max(...versions.filter((x) => x.name === v.name).map((x) => x.version));
              lines.push(
                `  feature view ${v.name} v${latest}: ${v.features.length} features, ttl ${v.ttlSeconds}s, online ${v.online}`,
              );
            }
            for (const s of repo.featureServices)
              lines.push(`  feature service ${s.name}: ${s.features.map((f) => f.view).join(', ')}`);
            return lines.join('\n');
          },
        );
      });
    });

  program
    .command('delete')
    .description('delete an entity, feature view (with its offline tables) or feature service')
    .argument('<kind>', 'entity | feature-view | feature-service')
    .argument('<name>')
    .action(async (kind: string, name: string, _opts: unknown, cmd: Command) => {
      await withStrata(cmd, async (strata) => {
        const d = await strata.delete(kind, name);
        output(
          cmd,
          { deleted: { kind: d.kind, name }, droppedIngestions: d.droppedIngestions },
          `deleted ${kind} ${name}${d.droppedIngestions.length ? ` (and the staging of ${d.droppedIngestions.length} unfinished ingestions)` : ''}`,
        );
      });
    });
}
