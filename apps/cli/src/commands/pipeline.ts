/**
 * Feature pipelines from the command line: `strata backfill <view> --start --end [--every 1d]` (one child workflow per
 * window, resumable) and `strata pipeline run|schedule|pause|resume|trigger|status|delete <view>` (Temporal Schedules
 * with overlap SKIP and a configurable catch-up window).
 */
import {
  backfill,
  createPipelineSchedule,
  deletePipelineSchedule,
  type PipelineRunResult,
  type PipelineSchedule,
  pausePipelineSchedule,
  pipelineStatus,
  type RunHandle,
  resumePipelineSchedule,
  runPipeline,
  StrataError,
  triggerPipelineSchedule,
} from '@strata/sdk';
import type { Command } from 'commander';
import { info, output, progressBar, withStrata } from '../context.js';

function describeRun(view: string, r: PipelineRunResult): string {
  const parts = [
    `${view}: ${r.windows} window(s) run, ${r.committed} committed, ${r.empty} empty, ${r.skipped} already committed; ${r.rows} rows`,
  ];
  if (r.watermark) parts.push(`watermark ${r.watermark}`);
  return parts.join('; ');
}

async function follow(cmd: Command, view: string, handle: RunHandle<PipelineRunResult>, wait: boolean): Promise<void> {
  info(cmd, `pipeline run ${handle.workflowId}\n  ${handle.url}`);
  if (!wait) {
    output(cmd, { workflowId: handle.workflowId, url: handle.url }, handle.workflowId);
    return;
  }
  const bar = progressBar(cmd, `windows of ${view}`, 0);
  const timer = setInterval(() => {
    handle
      .progress()
      .then((p) => {
        bar.setTotal(p.rowsTotal);
        bar.update(p.rowsDone, p.stage);
      })
      .catch(() => {});
  }, 1000);
  try {
    const result = await handle.result();
    output(cmd, { workflowId: handle.workflowId, url: handle.url, ...result }, () => describeRun(view, result));
  } finally {
    clearInterval(timer);
    bar.stop();
  }
}

function describeSchedule(s: PipelineSchedule): string {
  const next = s.nextRuns[0] ? s.nextRuns[0].toISOString() : '-';
  const last = s.recentRuns.at(-1);
  const when = s.every ? `every ${s.every}` : `cron ${s.cron}`;
  return `${s.view}\t${when}${s.paused ? ' (paused)' : ''}\tcatch-up ${s.catchupWindow}\tnext ${next}\tlast ${last ? last.startedAt.toISOString() : '-'}\t${s.scheduleId}`;
}

const ACTIONS = ['run', 'schedule', 'pause', 'resume', 'trigger', 'status', 'delete'];

export function register(program: Command): void {
  program
    .command('backfill')
    .description(
      "compute a view's pipeline windows in [start, end): one child workflow per window; committed windows are skipped",
    )
    .argument('<view>', 'feature view with a source')
    .requiredOption('--start <time>', 'start of the first window (ISO time)')
    .requiredOption('--end <time>', 'end of the range (ISO time), exclusive')
    .option('--every <length>', "window length (1h, 1d, 1mo; default the view's pipeline.window)")
    .option('--parallel <n>', 'windows computed at once (default 4)', (v) => Number(v))
    .option('--no-wait', 'return once the workflow has started')
    .action(
      async (
        view: string,
        opts: { start: string; end: string; every?: string; parallel?: number; wait: boolean },
        cmd: Command,
      ) => {
        await withStrata(cmd, async (strata) => {
          const handle = await backfill(strata, view, {
            start: opts.start,
            end: opts.end,
            ...(opts.every ? { every: opts.every } : {}),
            ...(opts.parallel ? { parallel: opts.parallel } : {}),
          });
          await follow(cmd, view, handle, opts.wait);
        });
      },
    );

  program
    .command('pipeline')
    .description("a view's pipeline: run now, schedule (cron or interval), pause, resume, trigger, status, delete")
    .argument('<action>', ACTIONS.join(' | '))
    .argument('<view>', 'feature view with a source')
    .option('--every <interval>', 'schedule: interval (30s, 15m, 1h, 1d)')
    .option('--cron <expr>', 'schedule: cron expression, e.g. "0 * * * *"')
    .option('--catchup <duration>', 'schedule: how far back runs missed during downtime are caught up (default one interval)')
    .option('--replace', 'schedule: update the schedule when it exists')
    .option('--paused', 'schedule: create it paused')
    .option('--allow-overlap', 'trigger: run even while another run is going (windows still commit once)')
    .option('--no-wait', 'run: return once the workflow has started')
    .action(
      async (
        action: string,
        view: string,
        opts: {
          every?: string;
          cron?: string;
          catchup?: string;
          replace?: boolean;
          paused?: boolean;
          allowOverlap?: boolean;
          wait: boolean;
        },
        cmd: Command,
      ) => {
        if (!ACTIONS.includes(action)) {
          throw new StrataError('INVALID_INPUT', `unknown pipeline action '${action}'`, { hint: `use ${ACTIONS.join(', ')}` });
        }
        await withStrata(cmd, async (strata) => {
          switch (action) {
            case 'run':
              await follow(cmd, view, await runPipeline(strata, view), opts.wait);
              return;
            case 'schedule': {
              const s = await createPipelineSchedule(strata, view, {
                ...(opts.every ? { every: opts.every } : {}),
                ...(opts.cron ? { cron: opts.cron } : {}),
                ...(opts.catchup ? { catchupWindow: opts.catchup } : {}),
                ...(opts.replace ? { replace: true } : {}),
                ...(opts.paused ? { paused: true } : {}),
              });
              output(cmd, s, `scheduled ${s.scheduleId}: ${describeSchedule(s)}`);
              return;
            }
            case 'pause':
              await pausePipelineSchedule(strata, view);
              output(cmd, { paused: view }, `paused the pipeline schedule of ${view}`);
              return;
            case 'resume':
              await resumePipelineSchedule(strata, view);
              output(cmd, { resumed: view }, `resumed the pipeline schedule of ${view}`);
              return;
            case 'trigger':
              await triggerPipelineSchedule(strata, view, { allowOverlap: Boolean(opts.allowOverlap) });
              output(cmd, { triggered: view }, `triggered a pipeline run of ${view}`);
              return;
            case 'delete':
              await deletePipelineSchedule(strata, view);
              output(cmd, { deleted: view }, `deleted the pipeline schedule of ${view}`);
              return;
            default: {
              const st = await pipelineStatus(strata, view);
              output(cmd, st, () =>
                [
                  `${st.view} v${st.version}  code ${st.codeHash.slice(0, 12)}  watermark ${st.watermark?.toISOString() ?? '-'}`,
                  `schedule: ${st.schedule ? describeSchedule(st.schedule) : 'none'}`,
                  'window_start\twindow_end\tstatus\trows\tcommit\tcode',
                  ...st.windows.map((w) =>
                    [
                      w.start.toISOString(),
                      w.end.toISOString(),
                      w.status,
                      w.rows,
                      w.commitSeq ?? '-',
                      w.codeHash.slice(0, 12),
                      w.error ? JSON.stringify(w.error) : '',
                    ].join('\t'),
                  ),
                ].join('\n'),
              );
            }
          }
        });
      },
    );
}
