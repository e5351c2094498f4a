/**
 * `strata schedule create <view> --every 15m | list | trigger <view> | delete <view>`: periodic materialization with
 * Temporal Schedules (id materialize:<project>:<view>), and `strata materializations [view]`: the history of runs.
 */
import {
  createMaterializeSchedule,
  deleteMaterializeSchedule,
  listMaterializeSchedules,
  type MaterializeSchedule,
  materializationHistory,
  oneOf,
  parseDurationSeconds,
  runJanitor,
  scheduleJanitor,
  StrataError,
  triggerMaterializeSchedule,
} from '@strata/sdk';
import type { Command } from 'commander';
import { output, withStrata } from '../context.js';

function describe(s: MaterializeSchedule): string {
  const next = s.nextRuns[0] ? s.nextRuns[0].toISOString() : '-';
  const last = s.recentRuns.at(-1);
  return `${s.view}\tevery ${s.every}${s.paused ? ' (paused)' : ''}\tnext ${next}\tlast ${last ? last.startedAt.toISOString() : '-'}\t${s.scheduleId}`;
}

export function register(program: Command): void {
  program
    .command('janitor')
    .description('remove staging nobody will finish: `schedule` (re)creates the periodic janitor, `run` sweeps now')
    .argument('<action>', 'schedule | run')
    .option('--every <interval>', 'schedule: how often (default janitor.every, 1h)')
    .option('--max-age <duration>', 'staging older than this is removed (default janitor.maxStagingAge, 24h)')
    .action(async (action: string, opts: { every?: string; maxAge?: string }, cmd: Command) => {
      const a = oneOf(action, ['schedule', 'run'] as const, 'janitor action');
      const maxStagingAgeSeconds = opts.maxAge === undefined ? undefined : parseDurationSeconds(opts.maxAge, '--max-age');
      await withStrata(cmd, async (strata) => {
        if (a === 'schedule') {
          const j = await scheduleJanitor(strata, {
            ...(opts.every ? { every: opts.every } : {}),
            ...(maxStagingAgeSeconds !== undefined ? { maxStagingAgeSeconds } : {}),
          });
          output(
            cmd,
            j,
            `${j.created ? 'created' : 'updated'} ${j.scheduleId}: every ${j.every}, removes staging older than ${j.maxStagingAgeSeconds} s`,
          );
          return;
        }
        const r = await runJanitor(strata, maxStagingAgeSeconds !== undefined ? { maxStagingAgeSeconds } : {});
        output(cmd, r, () =>
          [
            `janitor: removed ${r.removed.length} abandoned ingestions and ${r.orphanTables.length} orphan staging tables`,
            ...r.removed.map((x) => `  ${x.ingestionId} (${x.status}, ${x.ageSeconds} s old)`),
            ...r.orphanTables.map((t) => `  table ${t}`),
          ].join('\n'),
        );
      });
    });

  program
    .command('schedule')
    .description('periodic materialization of a view with a Temporal Schedule')
    .argument('<action>', 'create | list | trigger | delete')
    .argument('[view]', 'feature view (create, trigger, delete)')
    .option('--every <interval>', 'interval for create: 30s, 15m, 2h, 1d')
    .option('--replace', 'create: update the schedule when it exists')
    .option('--partitions <n>', 'create: child workflows per run (entity-key hash partitions)', (v) => Number(v))
    .action(
      async (
        action: string,
        view: string | undefined,
        opts: { every?: string; replace?: boolean; partitions?: number },
        cmd: Command,
      ) => {
        if (!['create', 'list', 'trigger', 'delete'].includes(action)) {
          oneOf(action, ['create', 'list', 'trigger', 'delete'], 'schedule action');
          throw new StrataError('INVALID_INPUT', `unknown schedule action '${action}'`, {
            hint: 'use create, list, trigger or delete',
          });
        }
        if (action !== 'list' && !view) throw new StrataError('INVALID_INPUT', `schedule ${action} needs a view name`);
        await withStrata(cmd, async (strata) => {
          if (action === 'create') {
            if (!opts.every) throw new StrataError('INVALID_INPUT', 'give --every, e.g. --every 15m');
            const s = await createMaterializeSchedule(strata, view as string, {
              every: opts.every,
              ...(opts.replace ? { replace: true } : {}),
              ...(opts.partitions ? { partitions: opts.partitions } : {}),
            });
            output(cmd, s, `created schedule ${s.scheduleId}: materialize ${s.view} every ${s.every}`);
          } else if (action === 'list') {
            const all = await listMaterializeSchedules(strata);
            output(cmd, all, all.length ? all.map(describe).join('\n') : `no materialization schedules in ${strata.project}`);
          } else if (action === 'trigger') {
            await triggerMaterializeSchedule(strata, view as string);
            output(cmd, { triggered: view }, `triggered a materialization of ${view}`);
          } else {
            await deleteMaterializeSchedule(strata, view as string);
            output(cmd, { deleted: view }, `deleted the materialization schedule of ${view}`);
          }
        });
      },
    );

  program
    .command('materializations')
    .description('history of materialization runs: rows written, duration, status')
    .argument('[view]', 'only this feature view')
    .option('--limit <n>', 'most recent runs (default 20)', (v) => Number(v), 20)
    .action(async (view: string | undefined, opts: { limit: number }, cmd: Command) => {
      await withStrata(cmd, async (strata) => {
        const runs = await materializationHistory(strata, view, opts.limit);
        output(cmd, runs, () =>
          runs.length
            ? [
                'id\tview\tversion\tmode\tstatus\trows_written\trows_skipped\tduration_ms\trows/s\tstarted',
                ...runs.map((r) =>
                  [
                    r.id,
                    r.view,
                    r.version,
                    r.mode,
                    r.status,
                    r.rowsWritten,
                    r.rowsSkipped,
                    r.durationMs ?? '-',
                    r.rowsPerSecond ?? '-',
                    r.startedAt.toISOString(),
                  ].join('\t'),
                ),
              ].join('\n')
            : 'no materialization runs',
        );
      });
    });
}
