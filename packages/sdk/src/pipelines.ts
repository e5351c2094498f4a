/**
 * Pipelines from the SDK: run a view's pipeline now (incremental: the complete windows after its watermark),
 * backfill a range (one child workflow per window, resumable), schedule it (Temporal Schedules, overlap SKIP,
 * configurable catch-up), pause, resume, trigger, and see its status (watermark, recent windows, schedule).
 */
import { invalidInput, StrataError } from '@strata/core';
import { type PipelineWindow, pipelineWatermark, pipelineWindows } from '@strata/offline-postgres';
import { type PipelineRunInput, type PipelineRunResult, pipelineScheduleId, pipelineWorkflowId, SA } from '@strata/workflows';
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import { RunHandle, type Strata } from './client.js';
import { formatEvery, parseEvery } from './schedules.js';

async function pipelineView(strata: Strata, view: string) {
  const vv = await strata.getView(view);
  if (!vv.spec.source || !vv.spec.pipeline) {
    throw invalidInput(`feature view '${view}' has no source`, {
      hint: 'add source: {kind: sql | files, ...} and pipeline: {window, start} to the view and apply it',
    });
  }
  return vv;
}

function attrs(strata: Strata, view: string) {
  return [
    { key: SA.project, value: strata.project },
    { key: SA.view, value: view },
    { key: SA.stage, value: 'planning' },
  ];
}

async function start(strata: Strata, input: PipelineRunInput, workflowId: string): Promise<RunHandle<PipelineRunResult>> {
  const client = await strata.workflowClient();
  const handle = await client.workflow.start('pipelineWorkflow', {
    workflowId,
    taskQueue: strata.config.temporal.taskQueue,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    typedSearchAttributes: attrs(strata, input.view),
    memo: { mode: input.mode, ...(input.start ? { start: input.start, end: input.end } : {}) },
  });
  return new RunHandle<PipelineRunResult>(workflowId, handle, strata.config.temporal.uiUrl, strata.config.temporal.namespace);
}

/** Runs a view's pipeline once now: every complete window after its watermark, in order. */
export async function runPipeline(strata: Strata, view: string): Promise<RunHandle<PipelineRunResult>> {
  await pipelineView(strata, view);
  const input: PipelineRunInput = { project: strata.project, view, mode: 'incremental' };
  return start(strata, input, `${pipelineWorkflowId(strata.project, view, input)}:run`);
}

/**
 * Computes the windows of [start, end) (default length: the view's pipeline.window) as one child workflow each,
 * `parallel` at a time. Windows already committed by the same code are skipped, so running it again resumes.
 */
export async function backfill(
  strata: Strata,
  view: string,
  opts: { start: Date | string; end: Date | string; every?: string; parallel?: number },
): Promise<RunHandle<PipelineRunResult>> {
  await pipelineView(strata, view);
  const s = new Date(opts.start);
  const e = new Date(opts.end);
  if (Number.isNaN(s.getTime()) || Number.isNaN(e.getTime())) {
    throw invalidInput('--start and --end must be times (ISO 8601, e.g. 2024-01-01 or 2024-01-01T00:00:00Z)');
  }
  if (!(e > s)) throw invalidInput(`the backfill's end (${e.toISOString()}) is not after its start (${s.toISOString()})`);
  if (opts.parallel !== undefined && !(Number.isInteger(opts.parallel) && opts.parallel >= 1)) {
    throw invalidInput('--parallel must be an integer >= 1');
  }
  const input: PipelineRunInput = {
    project: strata.project,
    view,
    mode: 'backfill',
    start: s.toISOString(),
    end: e.toISOString(),
    ...(opts.every ? { every: opts.every } : {}),
    ...(opts.parallel ? { parallel: opts.parallel } : {}),
  };
  return start(strata, input, pipelineWorkflowId(strata.project, view, input));
}

export interface PipelineSchedule {
  scheduleId: string;
  view: string;
  every?: string;
  cron?: string;
  catchupWindow: string;
  paused: boolean;
  nextRuns: Date[];
  recentRuns: { workflowId: string; startedAt: Date }[];
}

export interface PipelineScheduleOptions {
  /** An interval (30s, 15m, 1h, 1d) ... */
  every?: string;
  /** ... or a cron expression (`0 * * * *`). */
  cron?: string;
  /** How far back missed runs are caught up after downtime (default: one interval, or 1m for cron). */
  catchupWindow?: string;
  replace?: boolean;
  paused?: boolean;
}

/** Creates (or, with replace, updates) the schedule that runs a view's pipeline (overlapping runs are skipped). */
export async function createPipelineSchedule(
  strata: Strata,
  view: string,
  opts: PipelineScheduleOptions,
): Promise<PipelineSchedule> {
  await pipelineView(strata, view);
  if (!opts.every === !opts.cron) throw invalidInput('give exactly one of --every (e.g. 1h) or --cron (e.g. "0 * * * *")');
  const everyMs = opts.every ? parseEvery(opts.every) : undefined;
  if (opts.cron && opts.cron.trim().split(/\s+/).length < 5 && !opts.cron.trim().startsWith('@')) {
    throw invalidInput(`'${opts.cron}' is not a cron expression`, {
      hint: 'five fields: minute hour day-of-month month day-of-week',
    });
  }
  const catchupMs = opts.catchupWindow ? parseEvery(opts.catchupWindow) : (everyMs ?? 60_000);
  const client = await strata.workflowClient();
  const scheduleId = pipelineScheduleId(strata.project, view);
  const input: PipelineRunInput = { project: strata.project, view, mode: 'incremental' };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'pipelineWorkflow',
    args: [input],
    taskQueue: strata.config.temporal.taskQueue,
    workflowId: `${scheduleId}:scheduled`,
    typedSearchAttributes: attrs(strata, view),
    // Temporal keeps a cron expression as calendar specs; the text is kept here so status can show it as given.
    memo: { mode: 'incremental', ...(opts.cron ? { cron: opts.cron } : {}) },
  };
  const spec = everyMs ? { intervals: [{ every: everyMs }] } : { cronExpressions: [opts.cron as string] };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: catchupMs };
  const note = `pipeline ${view} ${everyMs ? `every ${formatEvery(everyMs)}` : `cron ${opts.cron}`}`;
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies,
      state: { paused: opts.paused ?? false, note },
      memo: { project: strata.project, view },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    if (!opts.replace) {
      throw new StrataError('CONFLICT', `a pipeline schedule for '${view}' already exists`, {
        hint: 'pass --replace to update it, or delete it first',
      });
    }
    await client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action, policies }));
  }
  return describePipelineSchedule(strata, view);
}

async function handleOf(strata: Strata, view: string) {
  const client = await strata.workflowClient();
  return client.schedule.getHandle(pipelineScheduleId(strata.project, view));
}

function notFound(strata: Strata, view: string): StrataError {
  return new StrataError('UNKNOWN_OBJECT', `no pipeline schedule for '${view}' in project '${strata.project}'`, {
    hint: 'create one with `strata pipeline schedule <view> --every 1h` (or --cron)',
  });
}

export async function describePipelineSchedule(strata: Strata, view: string): Promise<PipelineSchedule> {
  const h = await handleOf(strata, view);
  try {
    const d = await h.describe();
    const every = d.spec.intervals?.[0]?.every;
    const actionMemo = d.action.type === 'startWorkflow' ? ((await Promise.resolve(d.action.memo)) ?? {}) : {};
    const cron = typeof actionMemo.cron === 'string' ? actionMemo.cron : undefined;
    const catchup = d.policies.catchupWindow;
    return {
      scheduleId: h.scheduleId,
      view,
      ...(typeof every === 'number' ? { every: formatEvery(every) } : {}),
      ...(cron ? { cron } : {}),
      catchupWindow: typeof catchup === 'number' ? formatEvery(catchup) : String(catchup),
      paused: d.state.paused,
      nextRuns: d.info.nextActionTimes,
      recentRuns: d.info.recentActions.map((a) => ({
        workflowId: a.action.type === 'startWorkflow' ? a.action.workflow.workflowId : '',
        startedAt: a.takenAt,
      })),
    };
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw notFound(strata, view);
    throw err;
  }
}

async function onSchedule(strata: Strata, view: string, fn: (h: Awaited<ReturnType<typeof handleOf>>) => Promise<void>) {
  const h = await handleOf(strata, view);
  try {
    await fn(h);
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw notFound(strata, view);
    throw err;
  }
}

export const pausePipelineSchedule = (strata: Strata, view: string, note = 'paused from strata') =>
  onSchedule(strata, view, (h) => h.pause(note));

export const resumePipelineSchedule = (strata: Strata, view: string, note = 'resumed from strata') =>
  onSchedule(strata, view, (h) => h.unpause(note));

/** Starts one run now. By default it is skipped while another run is going (overlap SKIP); allowOverlap runs it anyway. */
export const triggerPipelineSchedule = (strata: Strata, view: string, opts: { allowOverlap?: boolean } = {}) =>
  onSchedule(strata, view, (h) => h.trigger(opts.allowOverlap ? ScheduleOverlapPolicy.ALLOW_ALL : ScheduleOverlapPolicy.SKIP));

export const deletePipelineSchedule = (strata: Strata, view: string) => onSchedule(strata, view, (h) => h.delete());

/** A window of a pipeline run as pipelineStatus shows it. */
export type PipelineWindowRecord = PipelineWindow;

export interface PipelineStatus {
  view: string;
  version: number;
  codeHash: string;
  watermark: Date | null;
  windows: PipelineWindowRecord[];
  schedule: PipelineSchedule | null;
}

/** A pipeline's watermark, its most recent windows (status, rows, commit, code hash) and its schedule. */
export async function pipelineStatus(strata: Strata, view: string, opts: { limit?: number } = {}): Promise<PipelineStatus> {
  const vv = await pipelineView(strata, view);
  const { pipelineCodeHash } = await import('./pipeline/code.js');
  const watermark = await pipelineWatermark(strata.registry, strata.project, view);
  const rows = await pipelineWindows(strata.registry, strata.project, view, opts.limit ?? 20);
  let schedule: PipelineSchedule | null = null;
  try {
    schedule = await describePipelineSchedule(strata, view);
  } catch (err) {
    if (!StrataError.is(err, 'UNKNOWN_OBJECT')) throw err;
  }
  return {
    view,
    version: vv.version,
    codeHash: pipelineCodeHash(vv.spec),
    watermark: watermark ?? null,
    windows: rows,
    schedule,
  };
}
