import {
  formatTable,
  type IngestResult,
  type MaterializeResult,
  parseValidationPolicy,
  responseToRows,
  StrataError,
} from '@strata/sdk';
import type { Command } from 'commander';
import { info, output, progressBar, withClient, withStrata } from '../context.js';

function list(v: string, prev: string[] = []): string[] {
  return [
    ...prev,
    ...v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

type IngestCliOptions = { format?: string; ingestionId?: string; materialize?: boolean; policy?: string; wait: boolean };
type HistoricalCliOptions = {
  features?: string[];
  featureService?: string;
  entities?: string;
  entitySql?: string;
  entitySqlTimeout?: number;
  timestampColumn: string;
  fullFeatureNames?: boolean;
  asOfCommit?: number;
  asOf?: string;
  dropCreatedAfterEntityTime?: boolean;
  workMem?: string;
  format?: string;
  workflow?: boolean;
  wait: boolean;
  out?: string;
};

function describeIngest(view: string, result: IngestResult): string {
  const v = result.validation;
  const lines = [
    result.alreadyCommitted
      ? `ingestion ${result.ingestionId} was already committed (commit ${result.commitSeq}); nothing new written`
      : `committed ${result.rows} rows into ${view} as commit ${result.commitSeq} (ingestion ${result.ingestionId})`,
  ];
  if (!result.alreadyCommitted && result.duplicateRows) {
    lines.push(
      `${result.duplicateRows} exact duplicate rows (same keys, event time and created time) dropped: the last in input order won`,
    );
  }
  if (v.validated) {
    lines.push(
      `validation: ${v.success ? 'passed' : 'FAILED'} (${v.evaluated - v.failed.length}/${v.evaluated} expectations, policy ${v.policy})`,
    );
  }
  for (const f of v.failed)
    lines.push(`  - ${f.expectation}${f.column ? ` on ${f.column}` : ''}: ${f.unexpectedCount ?? ''} unexpected`);
  if (result.materialization) lines.push(`materialized ${result.materialization.rowsWritten} entities online`);
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('ingest')
    .description('ingest a file (CSV, Parquet, Arrow IPC, JSON lines) into a feature view as one atomic commit')
    .argument('<view>', 'feature view name')
    .argument('<file>', 'input file')
    .option('--format <format>', 'csv | parquet | arrow | jsonl (default: from the extension)')
    .option('--ingestion-id <id>', 'idempotency key: ingesting again with the same id commits nothing new')
    .option('--materialize', 'materialize the new commit online when it lands')
    .option('--policy <policy>', 'validation policy for this ingestion: NONE | ALWAYS | STRICT')
    .option('--no-wait', 'return once the workflow has started')
    .action(async (view: string, file: string, opts: IngestCliOptions, cmd: Command) => {
      await withClient(cmd, async (strata) => {
        const bar = progressBar(cmd, `staging ${view}`, 0);
        const handle = await strata.ingest(view, file, {
          ...(opts.format ? { format: opts.format } : {}),
          ...(opts.ingestionId ? { ingestionId: opts.ingestionId } : {}),
          ...(opts.materialize ? { materialize: true } : {}),
          ...(opts.policy !== undefined ? { validationPolicy: parseValidationPolicy(opts.policy, '--policy') } : {}),
          onStaged: (n) => {
            bar.setTotal?.(n);
            bar.update(n);
          },
        });
        bar.stop();
        info(cmd, `staged ${handle.stagedRows} rows; workflow ${handle.workflowId}\n  ${handle.url}`);
        if (handle.ignoredColumns.length)
          info(cmd, `note: columns not in the view were ignored: ${handle.ignoredColumns.join(', ')}`);
        if (!opts.wait) {
          output(
            cmd,
            { workflowId: handle.workflowId, ingestionId: handle.ingestionId, rows: handle.stagedRows, url: handle.url },
            handle.workflowId,
          );
          return;
        }
        const result = await handle.result();
        output(cmd, { workflowId: handle.workflowId, url: handle.url, ...result }, () => describeIngest(view, result));
      });
    });

  program
    .command('materialize')
    .description('copy the latest values per entity from offline to online (incremental by default)')
    .argument('<views...>', 'feature view names')
    .option('--start <time>', 'window start (ISO time); with --end materializes that event-time window')
    .option('--end <time>', 'window end (ISO time), exclusive')
    .option('--batch-size <n>', 'rows per Redis pipeline', (v) => Number(v))
    .action(async (views: string[], opts: { start?: string; end?: string; batchSize?: number }, cmd: Command) => {
      await withClient(cmd, async (strata) => {
        const results: (MaterializeResult & { workflowId: string })[] = [];
        for (const view of views) {
          const handle = await strata.materialize(view, {
            ...(opts.start ? { start: opts.start } : {}),
            ...(opts.end ? { end: opts.end } : {}),
            ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
          });
          info(cmd, `materializing ${view}: workflow ${handle.workflowId}\n  ${handle.url}`);
          results.push({ workflowId: handle.workflowId, ...(await handle.result()) });
        }
        output(cmd, results, () =>
          results
            .map(
              (r) =>
                `${r.view} v${r.version}: ${r.rowsWritten} entities written, ${r.rowsSkippedOlder} skipped (newer online), commits ${r.fromSeq}..${r.toSeq}`,
            )
            .join('\n'),
        );
      });
    });

  program
    .command('get-online')
    .description('read the latest feature values for entities from the online store')
    .option('-f, --features <refs>', 'comma-separated view:feature references', list)
    .option('-s, --feature-service <name>', 'a feature service instead of --features')
    .requiredOption(
      '-e, --entity <key=values>',
      'join key and comma-separated values, e.g. user_id=1,2 (repeat for composite keys; request data of on-demand views the same way, e.g. price=9.5,3)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--full-feature-names', 'name columns view__feature')
    .option('--training-set <id>', "apply this training set's fitted transformations (with --feature-service)")
    .action(
      async (
        opts: {
          features?: string[];
          featureService?: string;
          entity: string[];
          fullFeatureNames?: boolean;
          trainingSet?: string;
        },
        cmd: Command,
      ) => {
        const entities: Record<string, unknown[]> = {};
        for (const e of opts.entity) {
          const [k, vs] = e.split('=');
          if (!k || vs === undefined) throw new StrataError('INVALID_INPUT', `--entity '${e}' is not key=value[,value...]`);
          // Digits beyond 2^53 stay text: a number would be rounded, and text gives an INT64 key exactly.
          entities[k] = vs.split(',').map((v) => (/^-?\d+$/.test(v) && Number.isSafeInteger(Number(v)) ? Number(v) : v));
        }
        await withStrata(cmd, async (strata) => {
          const sel = opts.featureService ? { featureService: opts.featureService } : { features: opts.features ?? [] };
          const res = await strata.getOnlineFeatures({
            ...sel,
            entities,
            fullFeatureNames: opts.fullFeatureNames ?? false,
            ...(opts.trainingSet ? { trainingSet: opts.trainingSet } : {}),
          });
          output(cmd, res, () => {
            const names = res.metadata.feature_names;
            const lines = [names.join('\t')];
            for (const [i, r] of responseToRows(res).entries()) {
              const cells = names.map((n, c) => {
                const status = res.results[c]?.statuses[i];
                return `${JSON.stringify(r[n])}${status !== 'PRESENT' ? ` (${status})` : ''}`;
              });
              lines.push(cells.join('\t'));
            }
            return lines.join('\n');
          });
        });
      },
    );

  program
    .command('get-historical')
    .description('build a point-in-time-correct training set from an entity file (or SQL) and write it to a file')
    .option('-f, --features <refs>', 'comma-separated view:feature references', list)
    .option('-s, --feature-service <name>', 'a feature service instead of --features')
    .option('--entities <file>', 'entity rows: join keys, an event timestamp and any label columns')
    .option('--entity-sql <sql>', 'entity rows from one read-only SELECT against the offline store')
    .option('--entity-sql-timeout <ms>', 'stop the entity query after this many milliseconds (default 300000)', (v) => Number(v))
    .option('--timestamp-column <name>', "the entity rows' time column", 'event_timestamp')
    .option('--full-feature-names', 'name columns view__feature')
    .option('--as-of-commit <seq>', 'only commits up to this sequence number (reproducible training sets)', (v) => Number(v))
    .option('--as-of <time>', 'only commits committed at or before this time (ISO 8601)')
    .option(
      '--drop-created-after-entity-time',
      'drop feature rows created (or committed) after each entity row (backfill leakage)',
    )
    .option('--work-mem <size>', "Postgres work_mem for the join, e.g. '256MB'")
    .option('--workflow', 'build it as a Temporal workflow (needs --out; chunks on the worker, progress by query)')
    .option('--no-wait', 'with --workflow: return once the workflow has started')
    .option(
      '-o, --out <file>',
      'output file (.csv, .parquet, .arrow, .jsonl), written batch by batch; without it a preview is printed',
    )
    .option(
      '--format <format>',
      "output format (default: from --out's extension); parquet-dataset: with --workflow on the columnar engine, --out is a new folder of Parquet parts",
    )
    .action(async (opts: HistoricalCliOptions, cmd: Command) => {
      if (!opts.entities && !opts.entitySql)
        throw new StrataError('INVALID_INPUT', 'give --entities <file> or --entity-sql <query>');
      if (opts.asOfCommit !== undefined && !Number.isSafeInteger(opts.asOfCommit))
        throw new StrataError('INVALID_INPUT', '--as-of-commit takes a commit number (see `strata history <view>`)');
      await withClient(cmd, async (strata) => {
        const sel = opts.featureService ? { featureService: opts.featureService } : { features: opts.features ?? [] };
        const bar = opts.out ? progressBar(cmd, 'training set', 0) : undefined;
        const req = {
          ...sel,
          entities: opts.entities
            ? { path: opts.entities }
            : {
                sql: opts.entitySql as string,
                ...(opts.entitySqlTimeout !== undefined ? { timeoutMs: opts.entitySqlTimeout } : {}),
              },
          timestampColumn: opts.timestampColumn,
          fullFeatureNames: opts.fullFeatureNames ?? false,
          ...(opts.asOfCommit !== undefined ? { asOfCommit: opts.asOfCommit } : {}),
          ...(opts.asOf !== undefined ? { asOf: opts.asOf } : {}),
          ...(opts.dropCreatedAfterEntityTime ? { dropCreatedAfterEntityTime: true } : {}),
          ...(opts.workMem ? { workMem: opts.workMem } : {}),
          onProgress: (p: { stage: string; rows: number }) => {
            if (p.stage === 'loading') bar?.setTotal?.(p.rows);
            else bar?.update(p.rows);
          },
        };
        if (opts.workflow) {
          if (!opts.out) throw new StrataError('INVALID_INPUT', '--workflow needs --out <file> (a path the worker can write)');
          const run = await strata.startTrainingSet({ ...req, out: opts.out, ...(opts.format ? { format: opts.format } : {}) });
          info(cmd, `training set ${run.id}: ${run.entityRows} entity rows; workflow ${run.workflowId}\n  ${run.url}`);
          if (!opts.wait) {
            output(cmd, { id: run.id, workflowId: run.workflowId, url: run.url }, run.id);
            return;
          }
          const wbar = progressBar(cmd, 'training set', run.entityRows);
          const timer = setInterval(() => {
            run
              .progress()
              .then((p) => wbar.update(p.rowsDone))
              .catch(() => {});
          }, 1000);
          try {
            const r = await run.result();
            wbar.stop();
            output(cmd, r, `wrote ${r.rows} rows to ${r.uri} (training set ${r.id}, ${r.chunks} chunks)`);
          } finally {
            clearInterval(timer);
          }
        } else if (opts.out) {
          const w = await strata.writeHistoricalFeatures({
            ...req,
            out: opts.out,
            ...(opts.format ? { format: opts.format } : {}),
          });
          bar?.stop();
          output(cmd, { out: w.path, rows: w.rows }, `wrote ${w.rows} rows to ${w.path}`);
        } else {
          const table = await strata.getHistoricalFeatures(req);
          const columns = table.schema.fields.map((f) => f.name);
          output(cmd, { rows: table.numRows, columns }, formatTable(table));
        }
      });
    });

  program
    .command('ingestions')
    .description("list a project's (or a view's) commits and other ingestions with their status")
    .argument('[view]')
    .action(async (view: string | undefined, _opts: unknown, cmd: Command) => {
      await withClient(cmd, async (strata) => {
        const found = await strata.listIngestions(view);
        output(
          cmd,
          found,
          () =>
            found
              .map(
                (i) =>
                  `${String(i.commitSeq ?? '-').padStart(5)}  ${i.status.padEnd(11)} ${i.view} v${i.version}  ${i.rowCount} rows${i.duplicateRows ? ` (+${i.duplicateRows} duplicates dropped)` : ''}  ${i.id}  ${i.createdAt.toISOString()}`,
              )
              .join('\n') || 'no ingestions',
        );
      });
    });
}
