import { collect, formatTable, StrataError, writeBatches } from '@strata/sdk';
import type { Command } from 'commander';
import { info, output, withClient } from '../context.js';

function commitNumber(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n))
    throw new StrataError('INVALID_INPUT', `'${v}' is not a commit number`, { hint: 'see `strata history <view>`' });
  return n;
}

function day(d: Date | null): string {
  return d ? d.toISOString().replace('.000Z', 'Z') : '-';
}

/** Time travel: a view's commits, the view as of a commit or time, and the changes between two commits. */
export function register(program: Command): void {
  program
    .command('history')
    .description("a view's commits: commit number, status, rows, event-time range, who and when")
    .argument('<view>', 'feature view name')
    .action(async (view: string, _opts: unknown, cmd: Command) => {
      await withClient(cmd, async (strata) => {
        const h = await strata.history(view);
        output(cmd, h, () =>
          h.length
            ? [
                'commit  status       ver  rows        event time range                          committed at              by',
                ...h.map(
                  (c) =>
                    `${String(c.commitSeq ?? '-').padStart(6)}  ${c.status.padEnd(11)}  v${String(c.version).padEnd(3)}${String(c.rows).padStart(10)}  ${day(c.minEventTime)} .. ${day(c.maxEventTime)}  ${day(c.committedAt).padEnd(24)}  ${c.createdBy ?? '-'}  ${c.ingestionId}`,
                ),
              ].join('\n')
            : `view ${view} has no ingestions yet`,
        );
      });
    });

  program
    .command('read')
    .description('read a view as of a commit or a time (only what was committed by then)')
    .argument('<view>', 'feature view name')
    .option('--as-of <time>', 'wall-clock time (ISO 8601): commits committed at or before it')
    .option('--as-of-commit <seq>', 'commit number: commits up to it', commitNumber)
    .option('--latest', 'only the latest row per entity (as training sets and materialization see it)')
    .option('--view-version <n>', 'a older version of the view', (v) => Number(v))
    .option('-o, --out <file>', 'write all rows to a file (.csv, .parquet, .arrow, .jsonl); without it a preview is printed')
    .action(
      async (
        view: string,
        opts: { asOf?: string; asOfCommit?: number; latest?: boolean; viewVersion?: number; out?: string },
        cmd: Command,
      ) => {
        await withClient(cmd, async (strata) => {
          const batches = strata.readView(view, {
            ...(opts.asOf ? { asOf: opts.asOf } : {}),
            ...(opts.asOfCommit !== undefined ? { asOfCommit: opts.asOfCommit } : {}),
            ...(opts.latest ? { latest: true } : {}),
            ...(opts.viewVersion ? { version: opts.viewVersion } : {}),
          });
          if (opts.out) {
            const w = await writeBatches(batches, opts.out);
            output(cmd, { out: w.path, rows: w.rows }, `wrote ${w.rows} rows to ${w.path}`);
          } else {
            const t = await collect(batches, 20);
            output(cmd, { rows: t.numRows, preview: t.toArray().map((r) => r.toJSON()) }, formatTable(t));
          }
        });
      },
    );

  program
    .command('diff')
    .description('the rows that commits after <from> up to <to> added to a view (0 = from the beginning)')
    .argument('<view>', 'feature view name')
    .argument('<from>', 'commit number (exclusive)', commitNumber)
    .argument('<to>', 'commit number (inclusive)', commitNumber)
    .option('-o, --out <file>', 'write the added rows to a file; without it per-commit counts and a preview are printed')
    .action(async (view: string, from: number, to: number, opts: { out?: string }, cmd: Command) => {
      await withClient(cmd, async (strata) => {
        const summary = await strata.diffSummary(view, from, to);
        if (opts.out) {
          const w = await writeBatches(strata.diff(view, from, to), opts.out);
          output(cmd, { out: w.path, rows: w.rows, commits: summary }, `wrote ${w.rows} rows to ${w.path}`);
          return;
        }
        const t = await collect(strata.diff(view, from, to), 20);
        info(
          cmd,
          summary.map((c) => `commit ${c.commitSeq}: ${c.rows} rows, ${c.entities} entities (${c.ingestionId})`).join('\n') ||
            'no commits in range',
        );
        output(cmd, { commits: summary, preview: t.toArray().map((r) => r.toJSON()) }, formatTable(t));
      });
    });

  program
    .command('training-set')
    .description('a training set built by a workflow: status, rows, pinned commit and where its output is')
    .argument('[id]', "training-set id; without it the project's training sets are listed")
    .action(async (id: string | undefined, _opts: unknown, cmd: Command) => {
      await withClient(cmd, async (strata) => {
        const list = id ? [await strata.trainingSet(id)] : await strata.listTrainingSets();
        output(cmd, id ? list[0] : list, () =>
          list.length
            ? list
                .map(
                  (t) =>
                    `${t.id}  ${t.status.padEnd(8)} ${t.rowsDone}/${t.entityRows} rows  commit <= ${t.asOfCommitSeq ?? '-'}  ${t.outputUri ?? ''}`,
                )
                .join('\n')
            : 'no training sets',
        );
      });
    });
}
