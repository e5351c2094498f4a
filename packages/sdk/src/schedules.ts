/**
 * Periodic materialization per view with Temporal Schedules. One schedule per view, id
 * `materialize:<project>:<view>`; each run is an incremental materializeWorkflow (commits after the watermark).
 * Overlapping runs are skipped, so a slow run is never doubled.
 */
import { invalidInput, StrataError } from '@strata/core';
import type { JanitorReport } from '@strata/offline-postgres';
import { type JanitorInput, janitorScheduleId, type MaterializeInput, SA } from '@strata/workflows';
import { type Client, ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Strata } from './client.js';

export interface MaterializeSchedule {
  scheduleId: string;
  view: string;
  every: string;
  paused: boolean;
  nextRuns: Date[];
  recentRuns: { workflowId: string; startedAt: Date }[];
}

export function materializeScheduleId(project: string, view: string): string {
  return `materialize:${project}:${view}`;
}

/** Parses 30s, 15m, 2h, 1d (or a bare number of seconds) into milliseconds. */
export function parseEvery(every: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(every.trim());
  if (!m) throw invalidInput(`'${every}' is not an interval`, { hint: 'use e.g. 30s, 15m, 2h or 1d' });
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
  const ms = n * unit;
  if (ms < 1000) throw invalidInput(`interval '${every}' is shorter than one second`);
  return ms;
}

export function formatEvery(ms: number): string {
  for (const [u, f] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms % f === 0) return `${ms / f}${u}`;
  }
  return `${ms}ms`;
}

/** Creates (or, with replace, updates) the schedule that materializes a view every `every`. */
export async function createMaterializeSchedule(
  strata: Strata,
  view: string,
  opts: { every: string; batchSize?: number; partitions?: number; replace?: boolean; paused?: boolean },
): Promise<MaterializeSchedule> {
  const vv = await strata.getView(view);
  if (!vv.spec.online)
    throw invalidInput(`feature view '${view}' is not online`, { hint: 'set online: true and apply it first' });
  const everyMs = parseEvery(opts.every);
  const client = await strata.workflowClient();
  const scheduleId = materializeScheduleId(strata.project, view);
  const input: MaterializeInput = {
    project: strata.project,
    view,
    mode: 'incremental',
    ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
    ...(opts.partitions ? { partitions: opts.partitions } : {}),
  };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'materializeWorkflow',
    args: [input],
    taskQueue: strata.config.temporal.taskQueue,
    workflowId: `${scheduleId}:scheduled`,
    typedSearchAttributes: [
      { key: SA.project, value: strata.project },
      { key: SA.view, value: view },
      { key: SA.stage, value: 'planning' },
    ],
  };
  const spec = { intervals: [{ every: everyMs }] };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: everyMs };
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies,
      state: { paused: opts.paused ?? false, note: `materialize ${view} every ${formatEvery(everyMs)}` },
      memo: { project: strata.project, view, every: formatEvery(everyMs) },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    if (!opts.replace) {
      throw new StrataError('CONFLICT', `a materialization schedule for '${view}' already exists`, {
        hint: 'delete it first, or pass replace to update it',
      });
    }
    await client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action, policies }));
  }
  return describeSchedule(strata, view);
}

export async function describeSchedule(strata: Strata, view: string): Promise<MaterializeSchedule> {
  const client = await strata.workflowClient();
  const scheduleId = materializeScheduleId(strata.project, view);
  try {
    const d = await client.schedule.getHandle(scheduleId).describe();
    const every = d.spec.intervals?.[0]?.every;
    return {
      scheduleId,
      view,
      every: typeof every === 'number' ? formatEvery(every) : String(every ?? ''),
      paused: d.state.paused,
      nextRuns: d.info.nextActionTimes,
      recentRuns: d.info.recentActions.map((a) => ({
        workflowId: a.action.type === 'startWorkflow' ? a.action.workflow.workflowId : '',
        startedAt: a.takenAt,
      })),
    };
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) {
      throw new StrataError('UNKNOWN_OBJECT', `no materialization schedule for '${view}' in project '${strata.project}'`, {
        hint: 'create one with `strata schedule create <view> --every 15m`',
      });
    }
    throw err;
  }
}

/** The project's materialization schedules. */
export async function listMaterializeSchedules(strata: Strata): Promise<MaterializeSchedule[]> {
  const client = await strata.workflowClient();
  const prefix = `materialize:${strata.project}:`;
  const views: string[] = [];
  for await (const s of client.schedule.list()) {
    if (s.scheduleId.startsWith(prefix)) views.push(s.scheduleId.slice(prefix.length));
  }
  const out: MaterializeSchedule[] = [];
  for (const v of views.sort()) out.push(await describeSchedule(strata, v));
  return out;
}

/** Starts one run now (outside the interval). */
export async function triggerMaterializeSchedule(strata: Strata, view: string): Promise<void> {
  await describeSchedule(strata, view);
  const client = await strata.workflowClient();
  await client.schedule.getHandle(materializeScheduleId(strata.project, view)).trigger(ScheduleOverlapPolicy.ALLOW_ALL);
}

export async function deleteMaterializeSchedule(strata: Strata, view: string): Promise<void> {
  await describeSchedule(strata, view);
  const client = await strata.workflowClient();
  await client.schedule.getHandle(materializeScheduleId(strata.project, view)).delete();
}

export interface JanitorSchedule {
  scheduleId: string;
  every: string;
  maxStagingAgeSeconds: number;
  /** True when this call created it, false when it existed and was brought up to date. */
  created: boolean;
}

/**
 * Creates the janitor schedule of a Postgres schema, or brings an existing one up to date (idempotent: the worker
 * calls it at every start, several workers may race). Each run is a janitorWorkflow on the given task queue.
 */
export async function ensureJanitorSchedule(
  client: Client,
  opts: { schema: string; taskQueue: string; every: string; maxStagingAgeSeconds: number },
): Promise<JanitorSchedule> {
  const everyMs = parseEvery(opts.every);
  const scheduleId = janitorScheduleId(opts.schema);
  const input: JanitorInput = { maxStagingAgeSeconds: opts.maxStagingAgeSeconds };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'janitorWorkflow',
    args: [input],
    taskQueue: opts.taskQueue,
    workflowId: `${scheduleId}:run`,
    // A run that no worker picks up (its queue gone) must not wait for ever.
    workflowExecutionTimeout: '10 minutes',
    typedSearchAttributes: [{ key: SA.stage, value: 'janitor' }],
  };
  const spec = { intervals: [{ every: everyMs }] };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: everyMs };
  const note = `remove staging older than ${opts.maxStagingAgeSeconds} s in schema ${opts.schema}, every ${formatEvery(everyMs)}`;
  try {
    await client.schedule.create({ scheduleId, spec, action, policies, state: { note }, memo: { schema: opts.schema } });
    return { scheduleId, every: formatEvery(everyMs), maxStagingAgeSeconds: opts.maxStagingAgeSeconds, created: true };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action, policies }));
    return { scheduleId, every: formatEvery(everyMs), maxStagingAgeSeconds: opts.maxStagingAgeSeconds, created: false };
  }
}

/** The janitor schedule of this client's schema, from its config (janitor.every, janitor.maxStagingAge). */
export async function scheduleJanitor(
  strata: Strata,
  opts: { every?: string; maxStagingAgeSeconds?: number } = {},
): Promise<JanitorSchedule> {
  return ensureJanitorSchedule(await strata.workflowClient(), {
    schema: strata.config.postgres.schema,
    taskQueue: strata.config.temporal.taskQueue,
    every: opts.every ?? strata.config.janitor.every,
    maxStagingAgeSeconds: opts.maxStagingAgeSeconds ?? strata.config.janitor.maxStagingAge,
  });
}

/** Runs one janitor sweep now as a workflow and returns what it removed. */
export async function runJanitor(strata: Strata, opts: { maxStagingAgeSeconds?: number } = {}): Promise<JanitorReport> {
  const client = await strata.workflowClient();
  const input: JanitorInput = { maxStagingAgeSeconds: opts.maxStagingAgeSeconds ?? strata.config.janitor.maxStagingAge };
  return client.workflow.execute('janitorWorkflow', {
    workflowId: `${janitorScheduleId(strata.config.postgres.schema)}:now:${Date.now()}`,
    taskQueue: strata.config.temporal.taskQueue,
    args: [input],
    workflowExecutionTimeout: '10 minutes',
  }) as Promise<JanitorReport>;
}
