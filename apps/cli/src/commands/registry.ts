import { formatPlan, oneOf } from '@strata/sdk';
import { Strata } from '@strata/sdk';
import type { Command } from 'commander';
import { info, output, withClient } from '../context.js';

export function register(program: Command): void {
  program
    .command('apply')
    .description('apply entities, feature views and services from YAML files (Strata format or Feast 0.x FeatureSet)')
    .argument('<files...>', 'spec files (.yaml, .yml, .json)')
    .option('--dry-run', 'print the plan and change nothing')
    .option('--based-on <revision>', 'refuse (exit 5) if the registry changed since the plan that printed this revision')
    .action(async (files: string[], opts: { dryRun?: boolean; basedOn?: string }, cmd: Command) => {
      const specs = files.map((f) => Strata.readSpecFile(f));
      const repo = {
        entities: specs.flatMap((s) => s.entities),
        featureViews: specs.flatMap((s) => s.featureViews),
        featureServices: specs.flatMap((s) => s.featureServices),
      };
      const project = specs.find((s) => s.project)?.project;
      const root = cmd.parent as Command;
      if (project && !root.opts().project) root.setOptionValue('project', project);
      await withClient(cmd, async (strata) => {
        if (opts.dryRun) {
          const changes = await strata.plan(repo);
          output(cmd, { project: strata.project, changes, applied: false }, formatPlan(changes));
          return;
        }
        const res = await strata.apply(repo, opts.basedOn ? { basedOn: opts.basedOn } : {});
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
      await withClient(cmd, async (strata) => {
        const revision = await strata.registryRevision();
        const changes = await strata.plan({
          entities: specs.flatMap((s) => s.entities),
          featureViews: specs.flatMap((s) => s.featureViews),
          featureServices: specs.flatMap((s) => s.featureServices),
        });
        info(cmd, `registry revision ${revision} (apply --based-on ${revision} refuses if it changes)`);
        output(cmd, { project: strata.project, changes, revision }, formatPlan(changes));
      });
    });

  program
    .command('list')
    .description('list the registered entities, feature views (with versions) and feature services')
    .action(async (_opts: unknown, cmd: Command) => {
      await withClient(cmd, async (strata) => {
        const repo = await strata.loadRepo();
        const versions = await strata.listViewVersions();
        output(
          cmd,
          {
            project: strata.project,
            ...repo,
            versions: versions.map((v) => ({ view: v.name, version: v.version, ...(v.tableName ? { table: v.tableName } : {}) })),
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
            for (const v of repo.onDemandFeatureViews ?? [])
              lines.push(
                `  on-demand feature view ${v.name}: ${v.features.length} features from ${[...v.sources.map((s) => s.view), ...(v.request?.length ? ['request'] : [])].join(', ')}, code ${v.transformation.codeHash?.slice(0, 12) ?? '-'}`,
              );
            for (const s of repo.featureServices)
              lines.push(`  feature service ${s.name}: ${s.features.map((f) => f.view).join(', ')}`);
            return lines.join('\n');
          },
        );
      });
    });

  program
    .command('delete')
    .description('delete an entity, feature view (with its offline tables), on-demand feature view or feature service')
    .argument('<kind>', 'entity | feature-view | on-demand-feature-view | feature-service')
    .argument('<name>')
    .action(async (kind: string, name: string, _opts: unknown, cmd: Command) => {
      const k = oneOf(
        kind.replace(/-/g, '_'),
        ['entity', 'feature_view', 'on_demand_feature_view', 'feature_service'] as const,
        'object kind',
        { hint: 'use entity, feature-view, on-demand-feature-view or feature-service' },
      );
      await withClient(cmd, async (strata) => {
        const d = await strata.deleteObject(k, name);
        output(
          cmd,
          { deleted: { kind: k, name }, droppedIngestions: d.droppedIngestions },
          `deleted ${kind} ${name}${d.droppedIngestions.length ? ` (and the staging of ${d.droppedIngestions.length} unfinished ingestions)` : ''}`,
        );
      });
    });
}
