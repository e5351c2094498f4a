/**
 * Pipeline workflows: a run plans its event-time windows and computes each in a child workflow (in order for an
 * incremental run, which then moves the watermark; several at once for a backfill). A window: extract + transform +
 * stage (one activity, heartbeating), validate, commit, record, optionally materialize. Deterministic code only.
 */
import {
  ApplicationFailure,
  executeChild,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities.js';
import type {
  PipelineActivities,
  PipelineRunInput,
  PipelineRunResult,
  PipelineWindow,
  PipelineWindowInput,
  PipelineWindowResult,
} from '../pipeline-shared.js';
import { FailureTypes, type MaterializeInput, type Progress, progressQuery, SA } from '../shared.js';
import { materializeWorkflow } from './index.js';

type Activities = ReturnType<typeof createActivities>;

const NON_RETRYABLE = [
  'INVALID_INPUT',
  'INVALID_SPEC',
  'SCHEMA_MISMATCH',
  'UNKNOWN_OBJECT',
  'UNKNOWN_FEATURE',
  'VALIDATION_FAILED',
  'TRANSFORM_FAILED',
  'CONFIG',
];

const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: NON_RETRYABLE };

const quick = proxyActivities<Activities & PipelineActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { ...retry, maximumAttempts: 20 },
});

const long = proxyActivities<Activities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '15s',
  retry: { ...retry, maximumAttempts: 50 },
});

const alerts = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 5 },
});

function stage(name: string, progress: Progress): void {
  progress.stage = name;
  upsertSearchAttributes([{ key: SA.stage, value: name }]);
}

function failureType(err: unknown): string {
  let e = err as { type?: string; cause?: unknown } | undefined;
  while (e && !e.type && e.cause) e = e.cause as typeof e;
  return e?.type ?? 'INTERNAL';
}

function failureMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e?.cause && (e.cause as { message?: string }).message) e = e.cause as typeof e;
  return e?.message ?? String(err);
}

/** One window: extract + transform + stage, validate, commit (exactly once), record, materialize. */
export async function pipelineWindowWorkflow(input: PipelineWindowInput): Promise<PipelineWindowResult> {
  const progress: Progress = { stage: 'extracting', rowsTotal: 0, rowsDone: 0 };
  setHandler(progressQuery, () => progress);
  stage('extracting', progress);
  const extract = proxyActivities<PipelineActivities>({
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '20s',
    retry: { ...retry, maximumAttempts: input.maxAttempts },
  });
  const { window } = input;
  const workflowId = workflowInfo().workflowId;
  try {
    const staged = await extract.stagePipelineWindow(input);
    progress.rowsTotal = staged.rows;
    if (staged.status === 'committed') {
      await quick.recordPipelineWindow(input, {
        status: 'committed',
        rows: staged.rows,
        ...(staged.commitSeq !== undefined ? { commitSeq: staged.commitSeq } : {}),
      });
      stage('done', progress);
      return {
        window,
        status: 'already_committed',
        rows: staged.rows,
        ...(staged.commitSeq ? { commitSeq: staged.commitSeq } : {}),
      };
    }
    if (staged.status === 'empty') {
      await quick.recordPipelineWindow(input, { status: 'empty', rows: 0, workflowId });
      stage('done', progress);
      upsertMemo({ rows: 0 });
      return { window, status: 'empty', rows: 0 };
    }
    stage('validating', progress);
    const validation = await long.validateStagedIngestion(window.ingestionId);
    if (validation.alerted) {
      try {
        await alerts.sendAlert(validation.alerted, {
          event: validation.validated && !validation.success ? 'validation_failed' : 'drift',
          project: input.project,
          view: input.view,
          ingestionId: window.ingestionId,
          workflowId,
          validation: { success: validation.success, policy: validation.policy, failed: validation.failed },
          drift: validation.drift ?? null,
        });
      } catch {
        validation.alerted = undefined;
      }
    }
    if (!validation.success && validation.policy === 'STRICT') {
      stage('quarantined', progress);
      throw ApplicationFailure.create({
        type: FailureTypes.validationFailed,
        nonRetryable: true,
        message: `validation failed (STRICT) for window ${window.start}..${window.end}: ${validation.failed.length} of ${validation.evaluated} expectations failed; quarantined, nothing committed`,
        details: [validation],
      });
    }
    stage('committing', progress);
    const commit = await quick.commitIngestion(window.ingestionId, workflowId);
    await quick.recordPipelineWindow(input, { status: 'committed', rows: commit.rows, commitSeq: commit.commitSeq, workflowId });
    progress.rowsDone = commit.rows;
    upsertSearchAttributes([{ key: SA.rows, value: commit.rows }]);
    upsertMemo({ rows: commit.rows, commitSeq: commit.commitSeq, codeHash: input.codeHash });
    if (input.materialize) {
      stage('materializing', progress);
      const m: MaterializeInput = { project: input.project, view: input.view, mode: 'incremental', toSeq: commit.commitSeq };
      await executeChild(materializeWorkflow, {
        args: [m],
        workflowId: `${workflowId}:materialize`,
        typedSearchAttributes: [
          { key: SA.project, value: input.project },
          { key: SA.view, value: input.view },
          { key: SA.stage, value: 'planning' },
        ],
      });
    }
    stage('done', progress);
    return {
      window,
      status: commit.alreadyCommitted ? 'already_committed' : 'committed',
      rows: commit.rows,
      commitSeq: commit.commitSeq,
      validation,
    };
  } catch (err) {
    stage('failed', progress);
    try {
      await quick.recordPipelineWindow(input, { status: 'failed', rows: 0, error: failureMessage(err), workflowId });
    } catch {}
    throw err;
  }
}

/** A pipeline run: incremental (windows after the watermark, in order) or a backfill (windows of a range, fanned out). */
export async function pipelineWorkflow(input: PipelineRunInput): Promise<PipelineRunResult> {
  const progress: Progress = { stage: 'planning', rowsTotal: 0, rowsDone: 0 };
  setHandler(progressQuery, () => progress);
  stage('planning', progress);
  const plan = await quick.planPipelineRun(input);
  progress.rowsTotal = plan.windows.length;
  upsertMemo({ windows: plan.windows.length, skipped: plan.skipped, codeHash: plan.codeHash, version: plan.version });
  const result: PipelineRunResult = {
    project: input.project,
    view: input.view,
    mode: input.mode,
    windows: plan.windows.length,
    committed: 0,
    empty: 0,
    skipped: plan.skipped,
    rows: 0,
    failed: [],
  };
  const failedTypes: string[] = [];
  const parentId = workflowInfo().workflowId;
  const runWindow = async (w: PipelineWindow): Promise<void> => {
    try {
      const r = await executeChild(pipelineWindowWorkflow, {
        args: [
          {
            project: plan.project,
            view: plan.view,
            version: plan.version,
            codeHash: plan.codeHash,
            window: w,
            materialize: plan.materialize,
            maxAttempts: plan.maxAttempts,
          },
        ],
        workflowId: `${parentId}:window:${w.start}..${w.end}`,
        typedSearchAttributes: [
          { key: SA.project, value: plan.project },
          { key: SA.view, value: plan.view },
          { key: SA.stage, value: 'extracting' },
          { key: SA.ingestionId, value: w.ingestionId },
        ],
      });
      if (r.status === 'committed') result.committed++;
      else if (r.status === 'empty') result.empty++;
      else result.skipped++;
      result.rows += r.rows;
    } catch (err) {
      result.failed.push({ window: w, error: failureMessage(err) });
      failedTypes.push(failureType(err));
    }
    progress.rowsDone++;
  };
  stage('running', progress);
  if (input.mode === 'incremental') {
    for (const w of plan.windows) {
      await runWindow(w);
      if (result.failed.length) break; // the watermark cannot pass a failed window
      result.watermark = await quick.advancePipelineWatermark(plan.project, plan.view, w.end);
    }
  } else {
    const queue = [...plan.windows];
    const lanes = Math.max(1, Math.min(input.parallel ?? 4, queue.length));
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        for (let w = queue.shift(); w; w = queue.shift()) await runWindow(w);
      }),
    );
  }
  upsertMemo({ committed: result.committed, empty: result.empty, failed: result.failed.length, rows: result.rows });
  upsertSearchAttributes([{ key: SA.rows, value: result.rows }]);
  if (result.failed.length) {
    stage('failed', progress);
    throw ApplicationFailure.create({
      type: failedTypes[0] ?? 'INTERNAL',
      nonRetryable: true,
      message: `${result.failed.length} of ${plan.windows.length} window(s) failed (first: ${result.failed[0]?.window.start}..${result.failed[0]?.window.end}: ${result.failed[0]?.error}); the others are committed, run again to retry the failed ones`,
      details: [result],
    });
  }
  stage('done', progress);
  return result;
}
