/**
 * import / export of Feast and Hopsworks registries, and `compare` (Feast vs Hopsworks vs Strata for a requirements
 * file). --dry-run prints what would be created, kept as extras and impossible, and the registry plan, before
 * anything is written.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  compare,
  exportFeast,
  exportHopsworks,
  formatReport,
  type ImportedRepo,
  type ImportReport,
  importFeast,
  importHopsworks,
  parseRequirements,
} from '@strata/adapters';
import { invalidInput, type RepoSpec } from '@strata/core';
import { formatPlan } from '@strata/sdk';
import type { Command } from 'commander';
import { globals, info, output, withStrata } from '../context.js';
import { measureSystems } from './measure.js';

type System = 'feast' | 'hopsworks';

function system(value: string): System {
  if (value !== 'feast' && value !== 'hopsworks')
    throw invalidInput(`unknown system '${value}'`, { where: 'system argument', hint: 'use feast or hopsworks' });
  return value;
}

function rootOf(cmd: Command): Command {
  let root = cmd;
  while (root.parent) root = root.parent;
  return root;
}

function pick(imports: ImportedRepo[], wanted: string | undefined, path: string): ImportedRepo {
  if (wanted) {
    const hit = imports.find((i) => i.project === wanted);
    if (hit) return hit;
    if (imports.length === 1 && imports[0]) return imports[0];
    throw invalidInput(`'${path}' has no project '${wanted}'`, {
      where: path,
      hint: `projects in it: ${imports.map((i) => i.project).join(', ')}`,
    });
  }
  if (imports.length !== 1 || !imports[0])
    throw invalidInput(`'${path}' holds ${imports.length} projects`, {
      where: path,
      hint: `choose one with --project (${imports.map((i) => i.project).join(', ')})`,
    });
  return imports[0];
}

const repoOnly = (r: RepoSpec): RepoSpec => ({
  entities: r.entities,
  featureViews: r.featureViews,
  featureServices: r.featureServices,
});

function reportText(r: ImportReport): string {
  return formatReport(r) || '(nothing to report)';
}

export function register(program: Command): void {
  program
    .command('import')
    .description('import a Feast registry (registry.db or repo folder with feature_store.yaml) or a folder of Hopsworks DTOs')
    .argument('<system>', 'feast | hopsworks')
    .argument('<path>', 'Feast: registry.db or repo folder; Hopsworks: folder of JSON DTOs')
    .option('--dry-run', 'print what would be created, kept as extras and impossible, and the plan; change nothing')
    .action(async (sys: string, path: string, opts: { dryRun?: boolean }, cmd: Command) => {
      const which = system(sys);
      const wanted = globals(cmd).project;
      const imported = which === 'feast' ? pick(await importFeast(path), wanted, path) : await importHopsworks(path);
      const project = wanted ?? imported.project;
      rootOf(cmd).setOptionValue('project', project);
      await withStrata(cmd, async (strata) => {
        const repo = repoOnly(imported.repo);
        if (opts.dryRun) {
          const changes = await strata.plan(repo);
          output(
            cmd,
            { project, source: which, report: imported.report, config: imported.config, changes, applied: false },
            () => `${reportText(imported.report)}\n\nplan for project '${project}':\n${formatPlan(changes)}`,
          );
          return;
        }
        const res = await strata.apply(repo);
        // Registry-wide objects with no Strata equivalent are kept beside the registry, so an export gives them back.
        if (imported.repo.extras && Object.keys(imported.repo.extras).length) {
          await strata.registry.setProjectExtras(project, which, imported.repo.extras);
        }
        output(
          cmd,
          { project, source: which, report: imported.report, config: imported.config, changes: res.changes, applied: true },
          () => `${reportText(imported.report)}\n\n${res.text}\nImported ${which} into project '${project}'.`,
        );
        if (imported.config && Object.keys(imported.config).length > 1)
          info(cmd, `settings from feature_store.yaml for strata.yaml: ${JSON.stringify(imported.config)}`);
      });
    });

  program
    .command('export')
    .description('export the project as a Feast repo (feature_store.yaml + registry.db) or a folder of Hopsworks DTOs')
    .argument('<system>', 'feast | hopsworks')
    .requiredOption('--out <dir>', 'output folder (must not exist unless --force)')
    .option('--force', 'replace the output folder if it exists')
    .option('--dry-run', 'print what would be written and lost; write nothing')
    .option('--featurestore-id <n>', 'Hopsworks: the feature store id the DTOs name (kept from an import otherwise)', (v) =>
      Number(v),
    )
    .action(
      async (sys: string, opts: { out: string; force?: boolean; dryRun?: boolean; featurestoreId?: number }, cmd: Command) => {
        const which = system(sys);
        await withStrata(cmd, async (strata) => {
          const extras = await strata.registry.getProjectExtras(strata.project, which);
          const repo = { ...(await strata.registry.loadRepo(strata.project)), ...(extras ? { extras } : {}) };
          const common = { force: opts.force, dryRun: opts.dryRun };
          const res =
            which === 'feast'
              ? await exportFeast(strata.project, repo, opts.out, common)
              : await exportHopsworks(strata.project, repo, opts.out, {
                  ...common,
                  ...(opts.featurestoreId !== undefined ? { featurestoreId: opts.featurestoreId } : {}),
                });
          output(
            cmd,
            { project: strata.project, target: which, files: res.files, report: res.report, written: !opts.dryRun },
            () =>
              `${reportText(res.report)}\n\n${opts.dryRun ? 'would write' : 'wrote'}:\n${res.files.map((f) => `  ${f}`).join('\n')}`,
          );
        });
      },
    );

  program
    .command('compare')
    .description('compare Feast, Hopsworks and Strata for a requirements file, with evidence from the registry')
    .requiredOption('--requirements <file>', 'YAML or JSON requirements (see docs/feast-vs-hopsworks.md)')
    .requiredOption('--out <dir>', 'folder for compare.md and compare.html')
    .option('--source <system>', 'where the registry came from (feast | hopsworks | strata), for the migration plan')
    .option(
      '--measure',
      'measure online latency (p50/p99) on loopback: Strata serving, and feast serve over the exported registry on the same Redis when feast is installed',
    )
    .action(async (opts: { requirements: string; out: string; source?: string; measure?: boolean }, cmd: Command) => {
      let text: string;
      try {
        text = await readFile(opts.requirements, 'utf8');
      } catch (e) {
        throw invalidInput(`cannot read '${opts.requirements}'`, { where: opts.requirements, cause: e });
      }
      const requirements = parseRequirements(text, opts.requirements);
      const source = opts.source === undefined ? undefined : opts.source === 'strata' ? 'strata' : system(opts.source);
      await withStrata(cmd, async (strata) => {
        const repo = await strata.registry.loadRepo(strata.project);
        if (opts.measure) info(cmd, 'measuring online latency on loopback (Strata, then feast serve when installed)');
        const measured = opts.measure ? await measureSystems(strata, repo) : undefined;
        const res = compare({
          project: strata.project,
          repo,
          requirements,
          ...(source ? { source } : {}),
          ...(measured ? { measured } : {}),
        });
        await mkdir(opts.out, { recursive: true });
        const md = join(opts.out, 'compare.md');
        const html = join(opts.out, 'compare.html');
        await writeFile(md, res.markdown);
        await writeFile(html, res.html);
        output(
          cmd,
          { project: strata.project, recommendation: res.recommendation, files: [md, html], ...(measured ? { measured } : {}) },
          `recommendation: ${res.recommendation.target} (${res.recommendation.reasons.join(' ')})\nwrote ${md}\nwrote ${html}`,
        );
      });
    });
}
