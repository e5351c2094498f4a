import type { Command } from 'commander';
import { info, output, withStrata } from '../context.js';

/** The offline store's columnar copies: write the Parquet files of commits made before they were configured. */
export function register(program: Command): void {
  const offline = program.command('offline').description("the offline store's columnar copies of commits (ADR 0006)");
  offline
    .command('backfill')
    .description(
      "write the Parquet file of every commit that has none yet, and older files' facts (idempotent; needs offline.columnarRoot)",
    )
    .option('--view <name>', 'only this feature view')
    .action(async (opts: { view?: string }, cmd: Command) => {
      await withStrata(cmd, async (strata) => {
        const r = await strata.backfillColumnar(opts.view ? { view: opts.view } : {});
        output(
          cmd,
          r,
          () =>
            `wrote ${r.commits} commit file(s), ${r.rows} rows${r.facts ? `; recorded the facts of ${r.facts} older file(s)` : ''}`,
        );
        if (!r.commits && !r.facts) info(cmd, 'every commit already has its columnar file');
      });
    });
}
