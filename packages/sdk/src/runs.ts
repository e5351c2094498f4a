/**
 * A project's long runs (ingest, materialize, training-set and pipeline workflows), listed from Temporal's visibility
 * store by the StrataProject search attribute, and one run's steps (activities and child workflows) with their
 * timings, from its event history.
 */
import { invalidInput, StrataError } from '@strata/core';
import { progressQuery, SA, type Progress } from '@strata/workflows';
import type { Strata } from './client.js';
import { temporalRunUrl } from './links.js';

export type RunKind = 'ingest' | 'materialize' | 'training-set' | 'pipeline';

/** The workflow types of each kind (children that only do part of a run, such as partitions, are not listed). */
export const RUN_KINDS: Record<RunKind, string> = {
  ingest: 'ingestWorkflow',
  materialize: 'materializeWorkflow',
  'training-set': 'trainingSetWorkflow',
  pipeline: 'pipelineWorkflow',
};

/** Temporal's execution statuses, as the API spells them (RunInfo.status), and as visibility queries spell them. */
const STATUS_QUERY: Record<string, string> = {
  RUNNING: 'Running',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  CANCELLED: 'Canceled',
  CANCELED: 'Canceled',
  TERMINATED: 'Terminated',
  TIMED_OUT: 'TimedOut',
  CONTINUED_AS_NEW: 'ContinuedAsNew',
};

export interface RunSummary {
  workflowId: string;
  kind: RunKind;
  type: string;
  status: string;
  /** The StrataStage search attribute: the stage the run last reported. */
  stage: string | null;
  view: string | null;
  ingestionId: string | null;
  rows: number | null;
  startTime: Date | null;
  closeTime: Date | null;
  durationMs: number | null;
  /** The `progress` query of a running run (null for closed runs, or with no worker to answer). */
  progress: Progress | null;
  url: string;
}

export interface RunStep {
  name: string;
  kind: 'activity' | 'child-workflow';
  status: 'scheduled' | 'running' | 'completed' | 'failed' | 'timed-out' | 'canceled' | 'terminated';
  attempt: number | null;
  /** The child workflow's id (child workflows only). */
  workflowId?: string;
  scheduledAt: Date | null;
  startedAt: Date | null;
  closedAt: Date | null;
  durationMs: number | null;
}

const kindOf = (type: string): RunKind | undefined =>
  (Object.entries(RUN_KINDS) as [RunKind, string][]).find(([, t]) => t === type)?.[0];

export async function listRuns(
  strata: Strata,
  opts: { kind?: string; status?: string; view?: string; limit?: number } = {},
): Promise<RunSummary[]> {
  const limit = opts.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 500)
    throw invalidInput('limit must be an integer from 1 to 500', { details: { field: 'limit' } });
  const kinds = opts.kind ? [opts.kind] : Object.keys(RUN_KINDS);
  for (const k of kinds)
    if (!(k in RUN_KINDS))
      throw invalidInput(`unknown run kind '${k}'`, {
        details: { field: 'kind' },
        hint: `one of ${Object.keys(RUN_KINDS).join(', ')}`,
      });
  const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const where = [
    `${SA.project.name} = ${quote(strata.project)}`,
    `(${kinds.map((k) => `WorkflowType = ${quote(RUN_KINDS[k as RunKind])}`).join(' OR ')})`,
  ];
  if (opts.status) {
    const s = STATUS_QUERY[opts.status.toUpperCase()];
    if (!s)
      throw invalidInput(`unknown run status '${opts.status}'`, {
        details: { field: 'status' },
        hint: `one of ${[...new Set(Object.keys(STATUS_QUERY))].join(', ')}`,
      });
    where.push(`ExecutionStatus = ${quote(s)}`);
  }
  if (opts.view) where.push(`${SA.view.name} = ${quote(opts.view)}`);
  const client = await strata.workflowClient();
  const found: RunSummary[] = [];
  for await (const w of client.workflow.list({ query: where.join(' AND '), pageSize: Math.min(limit, 100) })) {
    const attrs = w.typedSearchAttributes;
    found.push({
      workflowId: w.workflowId,
      kind: kindOf(w.type) as RunKind,
      type: w.type,
      status: w.status.name,
      stage: attrs.get(SA.stage) ?? null,
      view: attrs.get(SA.view) ?? null,
      ingestionId: attrs.get(SA.ingestionId) ?? null,
      rows: attrs.get(SA.rows) ?? null,
      startTime: w.startTime ?? null,
      closeTime: w.closeTime ?? null,
      durationMs: w.startTime && w.closeTime ? w.closeTime.getTime() - w.startTime.getTime() : null,
      progress: null,
      url: temporalRunUrl(strata.config.temporal, w.workflowId),
    });
    if (found.length >= limit) break;
  }
  // Running runs answer their progress query (at most a second each, side by side).
  await Promise.all(
    found
      .filter((r) => r.status === 'RUNNING')
      .map(async (r) => {
        try {
          // A deadline on the call itself: no query retry outlives it (or the client's connection).
          r.progress = await client.withDeadline(Date.now() + 1000, () =>
            client.workflow.getHandle(r.workflowId).query(progressQuery),
          );
        } catch {
          // no worker to answer: the run is described by its status and stage
        }
      }),
  );
  return found;
}

type Ts = { seconds?: unknown; nanos?: number | null } | null | undefined;
function tsDate(t: Ts): Date | null {
  if (!t || t.seconds === undefined || t.seconds === null) return null;
  const s = t.seconds as number | { toNumber(): number };
  const secs = typeof s === 'object' ? s.toNumber() : Number(s);
  return new Date(secs * 1000 + Math.floor((t.nanos ?? 0) / 1e6));
}
const num = (v: unknown): number =>
  v === null || v === undefined ? 0 : typeof v === 'object' ? (v as { toNumber(): number }).toNumber() : Number(v);

/** One run's activities and child workflows with their timings, in the order they were scheduled. */
export async function runSteps(strata: Strata, workflowId: string): Promise<RunStep[]> {
  await strata.getRun(workflowId); // UNKNOWN_OBJECT for an unknown run or another project's
  const client = await strata.workflowClient();
  let history: Awaited<ReturnType<ReturnType<typeof client.workflow.getHandle>['fetchHistory']>>;
  try {
    history = await client.workflow.getHandle(workflowId).fetchHistory();
  } catch (err) {
    throw new StrataError('UNAVAILABLE', `cannot read the history of run '${workflowId}': ${(err as Error).message}`);
  }
  const steps = new Map<number, RunStep>();
  const close = (id: unknown, status: RunStep['status'], at: Date | null) => {
    const s = steps.get(num(id));
    if (!s) return;
    s.status = status;
    s.closedAt = at;
    const from = s.startedAt ?? s.scheduledAt;
    s.durationMs = at && from ? at.getTime() - from.getTime() : null;
  };
  for (const e of history.events ?? []) {
    const at = tsDate(e.eventTime as Ts);
    const id = num(e.eventId);
    if (e.activityTaskScheduledEventAttributes) {
      steps.set(id, {
        name: e.activityTaskScheduledEventAttributes.activityType?.name ?? 'activity',
        kind: 'activity',
        status: 'scheduled',
        attempt: null,
        scheduledAt: at,
        startedAt: null,
        closedAt: null,
        durationMs: null,
      });
    } else if (e.activityTaskStartedEventAttributes) {
      const s = steps.get(num(e.activityTaskStartedEventAttributes.scheduledEventId));
      if (s) {
        s.status = 'running';
        s.startedAt = at;
        s.attempt = e.activityTaskStartedEventAttributes.attempt ?? 1;
      }
    } else if (e.activityTaskCompletedEventAttributes)
      close(e.activityTaskCompletedEventAttributes.scheduledEventId, 'completed', at);
    else if (e.activityTaskFailedEventAttributes) close(e.activityTaskFailedEventAttributes.scheduledEventId, 'failed', at);
    else if (e.activityTaskTimedOutEventAttributes)
      close(e.activityTaskTimedOutEventAttributes.scheduledEventId, 'timed-out', at);
    else if (e.activityTaskCanceledEventAttributes) close(e.activityTaskCanceledEventAttributes.scheduledEventId, 'canceled', at);
    else if (e.startChildWorkflowExecutionInitiatedEventAttributes) {
      const a = e.startChildWorkflowExecutionInitiatedEventAttributes;
      steps.set(id, {
        name: a.workflowType?.name ?? 'workflow',
        kind: 'child-workflow',
        status: 'scheduled',
        attempt: null,
        ...(a.workflowId ? { workflowId: a.workflowId } : {}),
        scheduledAt: at,
        startedAt: null,
        closedAt: null,
        durationMs: null,
      });
    } else if (e.childWorkflowExecutionStartedEventAttributes) {
      const s = steps.get(num(e.childWorkflowExecutionStartedEventAttributes.initiatedEventId));
      if (s) {
        s.status = 'running';
        s.startedAt = at;
      }
    } else if (e.childWorkflowExecutionCompletedEventAttributes)
      close(e.childWorkflowExecutionCompletedEventAttributes.initiatedEventId, 'completed', at);
    else if (e.childWorkflowExecutionFailedEventAttributes)
      close(e.childWorkflowExecutionFailedEventAttributes.initiatedEventId, 'failed', at);
    else if (e.childWorkflowExecutionTimedOutEventAttributes)
      close(e.childWorkflowExecutionTimedOutEventAttributes.initiatedEventId, 'timed-out', at);
    else if (e.childWorkflowExecutionCanceledEventAttributes)
      close(e.childWorkflowExecutionCanceledEventAttributes.initiatedEventId, 'canceled', at);
    else if (e.childWorkflowExecutionTerminatedEventAttributes)
      close(e.childWorkflowExecutionTerminatedEventAttributes.initiatedEventId, 'terminated', at);
  }
  return [...steps.values()];
}
