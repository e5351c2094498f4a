import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '@strata/sdk';
import { readTable } from '@strata/sdk';
import {
  type DriftReport,
  type Profile,
  parseSuite,
  renderDataDocs,
  suggestSuite,
  suiteToGx1,
  toHopsworksStatistics,
  type ValidationResult,
  validateAndProfile,
} from '@strata/validation';
import type { Command } from 'commander';
import { info, output, withClient, withStrata } from '../context.js';

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new StrataError('INVALID_INPUT', `cannot read ${what} ${path}: ${(err as Error).message}`, {
      where: path,
      hint: 'check the path of the file (it is read relative to the current directory)',
    });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new StrataError('INVALID_SPEC', `${what} ${path} is not valid JSON: ${(err as Error).message}`, { where: path });
  }
}

/** Writes a folder's files atomically: into a temporary sibling, then renamed over the target. */
async function writeFolder(out: string, files: Record<string, string>): Promise<string[]> {
  const tmp = `${out}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(tmp, name), text);
  await rm(out, { recursive: true, force: true });
  await rename(tmp, out);
  return Object.keys(files).map((f) => join(out, f));
}

function summarize(result: ValidationResult): string {
  const s = result.statistics;
  const lines = [
    `validation ${result.success ? 'passed' : 'FAILED'}: ${s.successful_expectations}/${s.evaluated_expectations} expectations (${s.success_percent?.toFixed(1)}%)`,
  ];
  for (const r of result.results) {
    if (r.success) continue;
    const cfg = r.expectation_config as { type?: string; expectation_type?: string; kwargs?: Record<string, unknown> };
    const res = (r.result ?? {}) as { unexpected_count?: number; observed_value?: unknown; partial_unexpected_list?: unknown[] };
    const detail =
      res.unexpected_count !== undefined
        ? `${res.unexpected_count} unexpected, e.g. ${JSON.stringify((res.partial_unexpected_list ?? []).slice(0, 5))}`
        : `observed ${JSON.stringify(res.observed_value)}`;
    const exc = (r as { exception_info?: { raised_exception?: boolean; exception_message?: string } }).exception_info;
    lines.push(
      `  - ${cfg.type ?? cfg.expectation_type}${cfg.kwargs?.column ? ` on ${cfg.kwargs.column}` : ''}: ${exc?.raised_exception ? exc.exception_message : detail}`,
    );
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('validate')
    .description(
      'validate a file against a Great Expectations suite (GX 0.x/1.x or Hopsworks JSON); exits 6 when it fails (a CI gate)',
    )
    .argument('<file>', 'data file (.csv, .parquet, .arrow, .jsonl)')
    .requiredOption('--suite <suite.json>', 'expectation suite')
    .option('--docs <folder>', 'also write data docs (HTML) for this run')
    .option('--param <name=value>', 'a $PARAMETER value (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--result-format <format>', 'BOOLEAN_ONLY | BASIC | SUMMARY | COMPLETE', 'SUMMARY')
    .action(
      async (file: string, opts: { suite: string; docs?: string; param?: string[]; resultFormat: string }, cmd: Command) => {
        const suite = parseSuite(await readJson(opts.suite, 'suite'), { source: opts.suite });
        if (suite.expectations.length === 0) {
          // A CI gate that checks nothing must not pass silently.
          throw new StrataError('INVALID_SPEC', `suite ${opts.suite} has no expectations: validate would pass any file`, {
            where: opts.suite,
            hint: 'add expectations to the suite (strata suggest <view> drafts some from a profile)',
          });
        }
        const runParameters: Record<string, unknown> = {};
        for (const p of opts.param ?? []) {
          const [k, ...rest] = p.split('=');
          const v = rest.join('=');
          runParameters[k as string] = v !== '' && !Number.isNaN(Number(v)) ? Number(v) : v;
        }
        const table = await readTable(file);
        // one pass over the batches: each column is read once for the suite and the profile
        const run = await validateAndProfile(table.batches, suite, {
          resultFormat: opts.resultFormat.toUpperCase() as 'SUMMARY',
          runParameters,
          columnsAvailable: table.schema.fields.map((f) => f.name),
          profile: opts.docs ? {} : false,
        });
        const result = run.result!;
        if (opts.docs) {
          const files = await writeFolder(opts.docs, {
            'index.html': renderDataDocs({
              title: `Validation of ${file}`,
              suites: [suite],
              results: [{ label: file, result }],
              profiles: [{ label: file, profile: run.profile }],
            }),
            'validation_result.json': JSON.stringify(result, null, 2),
          });
          info(cmd, `data docs: ${files[0]}`);
        }
        output(cmd, result, () => summarize(result));
        if (!result.success) process.exitCode = 6;
      },
    );

  program
    .command('release')
    .description('validate a quarantined ingestion again (after fixing the suite) and commit it if it passes')
    .argument('<view>')
    .argument('<ingestionId>')
    .action(async (view: string, ingestionId: string, _opts: unknown, cmd: Command) => {
      await withClient(cmd, async (strata) => {
        const handle = await strata.release(view, ingestionId);
        info(cmd, `workflow ${handle.workflowId}\n  ${handle.url}`);
        const r = await handle.result();
        output(cmd, r, `released: ${r.rows} rows committed into ${view} as commit ${r.commitSeq}`);
      });
    });

  program
    .command('suggest')
    .description("suggest an expectation suite (GX 1.x JSON) from a view's latest committed profile, Deequ-style")
    .argument('<view>')
    .option('-o, --out <file>', 'write the suite here instead of printing it')
    .action(async (view: string, opts: { out?: string }, cmd: Command) => {
      await withStrata(cmd, async (strata) => {
        const ref = await strata.offline.latestCommittedStatistics(strata.project, view);
        if (!ref)
          throw new StrataError('INVALID_INPUT', `view '${view}' has no committed profile yet`, {
            hint: 'ingest some data first',
          });
        const suite = suiteToGx1(suggestSuite(ref.statistics as Profile));
        const text = JSON.stringify({ ...suite, name: `${view}_suggested` }, null, 2);
        if (opts.out) {
          await writeFile(opts.out, `${text}\n`);
          info(cmd, `wrote ${opts.out}`);
        } else process.stdout.write(`${text}\n`);
      });
    });

  program
    .command('stats')
    .description("a commit's statistics (default: the latest), as Strata's profile or Hopsworks' FeatureDescriptiveStatistics")
    .argument('<view>')
    .option('--ingestion <id>', 'a specific ingestion')
    .option('--format <format>', 'strata | hopsworks', 'strata')
    .action(async (view: string, opts: { ingestion?: string; format: string }, cmd: Command) => {
      await withStrata(cmd, async (strata) => {
        const stats = opts.ingestion
          ? (await strata.offline.getIngestion(opts.ingestion))?.statistics
          : (await strata.offline.latestCommittedStatistics(strata.project, view))?.statistics;
        if (!stats)
          throw new StrataError(
            'INVALID_INPUT',
            `no statistics for view '${view}'${opts.ingestion ? ` ingestion ${opts.ingestion}` : ''}`,
          );
        const out =
          opts.format === 'hopsworks' ? { featureDescriptiveStatistics: toHopsworksStatistics(stats as Profile) } : stats;
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      });
    });

  const docs = program.command('docs').description('data docs');
  docs
    .command('build')
    .description(
      'write static HTML data docs: suites, validation results per commit, statistics with histograms, drift over time',
    )
    .requiredOption('-o, --out <folder>', 'output folder (replaced atomically)')
    .action(async (opts: { out: string }, cmd: Command) => {
      await withStrata(cmd, async (strata) => {
        const repo = await strata.loadRepo();
        const ingestions = (await strata.listIngestions(undefined)).slice().reverse();
        const label = (i: { view: string; commitSeq: number | null; id: string; status: string }) =>
          `${i.view} ${i.commitSeq !== null ? `commit ${i.commitSeq}` : i.status} (${i.id})`;
        const files = await writeFolder(opts.out, {
          'index.html': renderDataDocs({
            title: `Strata data docs: project ${strata.project}`,
            suites: repo.featureViews
              .filter((v) => v.expectationSuite)
              .map((v) => ({ ...parseSuite(v.expectationSuite), name: `${v.name}: ${parseSuite(v.expectationSuite).name}` })),
            results: ingestions.filter((i) => i.report).map((i) => ({ label: label(i), result: i.report as ValidationResult })),
            profiles: ingestions.filter((i) => i.statistics).map((i) => ({ label: label(i), profile: i.statistics as Profile })),
            drift: ingestions.filter((i) => i.drift).map((i) => ({ label: label(i), report: i.drift as DriftReport })),
          }),
        });
        output(cmd, { files }, `wrote ${files.join(', ')}`);
      });
    });
}
