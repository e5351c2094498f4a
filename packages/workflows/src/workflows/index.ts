/**
 * Temporal workflows. Deterministic code only: every read and write happens in activities (../activities.ts).
 */
import {
  ApplicationFailure,
  CancellationScope,
  executeChild,
  log,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities.js';
import {
  activityRetry,
  FailureTypes,
  type IngestFileActivities,
  type IngestInput,
  type IngestResult,
  type JanitorInput,
  type MaterializeInput,
  type MaterializePlan,
  type MaterializeProgress,
  type MaterializeResult,
  materializeWorkflowId,
  type Progress,
  progressQuery,
  SA,
} from '../shared.js';

type Activities = ReturnType<typeof createActivities>;

const NON_RETRYABLE = [
  'INVALID_INPUT',
  'INVALID_SPEC',
  'SCHEMA_MISMATCH',
  'UNKNOWN_OBJECT',
  'UNKNOWN_FEATURE',
  'VALIDATION_FAILED',
];

const quick = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: activityRetry(20, NON_RETRYABLE),
});

/** Long steps that heartbeat (staging, validation, pages): a worker silent for `heartbeatTimeout` loses the step. */
function longActs(heartbeatTimeout = '15s', nonRetryable = NON_RETRYABLE) {
  return proxyActivities<Activities & IngestFileActivities>({
    startToCloseTimeout: '6 hours',
    heartbeatTimeout,
    retry: activityRetry(50, nonRetryable),
  });
}

const long = longActs();

/** The commit: one transaction that may run long on a big batch; it heartbeats, so a dead worker is noticed fast. */
function committingActs(heartbeatTimeout = '15s') {
  return proxyActivities<Activities>({
    startToCloseTimeout: '2 hours',
    heartbeatTimeout,
    retry: activityRetry(20, NON_RETRYABLE),
  });
}

const alerts = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 5 },
});

function stage(name: string, progress: Progress): void {
  progress.stage = name;
  upsertSearchAttributes([{ key: SA.stage, value: name }]);
}

/**
 * Ingests a staged batch: validate, commit, optionally materialize. When the run fails before its commit (and the
 * batch is not quarantined for release), the ingestion is abandoned: marked failed with the error and its staging
 * table dropped, so a failed run leaves nothing behind.
 */
export async function ingestWorkflow(input: IngestInput): Promise<IngestResult> {
  try {
    return await ingestSteps(input);
  } catch (err) {
    const quarantined = err instanceof ApplicationFailure && err.type === FailureTypes.validationFailed;
    if (!quarantined) {
      const failure = err as { type?: string; message?: string };
      // Runs even when the workflow is cancelled; abandon only touches a batch that is still `staged`.
      await CancellationScope.nonCancellable(() =>
        quick.abandonIngestion(input.ingestionId, {
          code: failure.type ?? 'INTERNAL',
          message: failure.message ?? String(err),
          workflowId: workflowInfo().workflowId,
        }),
      ).catch(() => {});
    }
    throw err;
  }
}

async function ingestSteps(input: IngestInput): Promise<IngestResult> {
  const progress: Progress = { stage: 'checking', rowsTotal: input.rows, rowsDone: 0 };
  setHandler(progressQuery, () => progress);
  const steps = input.heartbeatTimeout ? longActs(input.heartbeatTimeout) : long;
  const committing = committingActs(input.heartbeatTimeout);
  if (input.stageFile) {
    // The worker stages the file itself, chunk by chunk; a retry resumes from the heartbeated row cursor.
    stage('staging', progress);
    // An ingestion id another submitter took over (CONFLICT) stays taken: no retry.
    const staging = longActs(input.heartbeatTimeout, [...NON_RETRYABLE, 'CONFLICT']);
    const staged = await staging.stageIngestFile({
      project: input.project,
      view: input.view,
      ingestionId: input.ingestionId,
      ...input.stageFile,
    });
    progress.rowsTotal = staged.staged ?? staged.cursor.rows;
  }
  const rows = progress.rowsTotal;
  stage('checking', progress);
  const checked = await quick.checkStagedIngestion(input.ingestionId);
  if (checked.alreadyCommitted) {
    stage('done', progress);
    progress.rowsDone = checked.rows;
    return {
      ingestionId: input.ingestionId,
      status: 'committed',
      rows: checked.rows,
      commitSeq: checked.commitSeq ?? 0,
      alreadyCommitted: true,
      validation: { validated: false, success: true, policy: 'NONE', evaluated: 0, failed: [] },
    };
  }
  stage('validating', progress);
  const validation = await steps.validateStagedIngestion(input.ingestionId, input.validationPolicy);
  progress.rowsDone = rows;
  if (validation.alerted) {
    // Alerts are best effort: a webhook that stays down must not block the data.
    try {
      await alerts.sendAlert(input.ingestionId, {
        event: validation.validated && !validation.success ? 'validation_failed' : 'drift',
        project: input.project,
        view: input.view,
        ingestionId: input.ingestionId,
        workflowId: workflowInfo().workflowId,
        validation: { success: validation.success, policy: validation.policy, failed: validation.failed },
        drift: validation.drift ?? null,
      });
    } catch (err) {
      // Never silent: the failure is logged with the run and kept in the result (its message names the URL redacted).
      const message = ((err as Error & { cause?: Error }).cause ?? (err as Error)).message;
      log.warn('alert could not be delivered', { ingestionId: input.ingestionId, error: message });
      validation.alertError = message;
      validation.alerted = undefined;
    }
  }
  if (!validation.success && validation.policy === 'STRICT') {
    stage('quarantined', progress);
    upsertMemo({ rows, quarantined: true, failedExpectations: validation.failed.length });
    throw ApplicationFailure.create({
      type: FailureTypes.validationFailed,
      nonRetryable: true,
      message: `validation failed (STRICT): ${validation.failed.length} of ${validation.evaluated} expectations failed; the batch is quarantined, nothing was committed`,
      details: [validation],
    });
  }
  stage('committing', progress);
  const commit = await committing.commitIngestion(input.ingestionId, workflowInfo().workflowId);
  upsertSearchAttributes([{ key: SA.rows, value: commit.rows }]);
  upsertMemo({ rows: commit.rows, commitSeq: commit.commitSeq, validationSuccess: validation.success });
  const result: IngestResult = { ...commit, validation };
  if (input.materialize) {
    stage('materializing', progress);
    const m: MaterializeInput = { project: input.project, view: input.view, mode: 'incremental', toSeq: commit.commitSeq };
    const child = await executeChild(materializeWorkflow, {
      args: [m],
      workflowId: `${materializeWorkflowId(input.project, input.view, m)}:after:${input.ingestionId}`,
      typedSearchAttributes: [
        { key: SA.project, value: input.project },
        { key: SA.view, value: input.view },
        { key: SA.stage, value: 'planning' },
      ],
    });
    result.materialization = child;
  }
  stage('done', progress);
  return result;
}

export async function materializeWorkflow(input: MaterializeInput): Promise<MaterializeResult> {
  const progress: Progress = { stage: 'planning', rowsTotal: 0, rowsDone: 0 };
  setHandler(progressQuery, () => progress);
  stage('planning', progress);
  const plan = await quick.planMaterialization(input);
  upsertMemo({ fromSeq: plan.fromSeq, toSeq: plan.toSeq, version: plan.version });
  stage('writing', progress);
  let out: MaterializeProgress;
  if (plan.partitions > 1) {
    // Fan out: one child per entity-key hash partition, each heartbeating its own cursor.
    const id = workflowInfo().workflowId;
    const parts = await Promise.all(
      Array.from({ length: plan.partitions }, (_, index) =>
        executeChild(materializePartitionWorkflow, {
          args: [{ ...plan, partition: { index, count: plan.partitions } }],
          workflowId: `${id}:part${index + 1}of${plan.partitions}`,
          typedSearchAttributes: [
            { key: SA.project, value: plan.project },
            { key: SA.view, value: plan.view },
            { key: SA.stage, value: 'writing' },
          ],
        }).then((r) => {
          progress.rowsDone += r.written + r.skipped;
          return r;
        }),
      ),
    );
    out = parts.reduce(
      (a, r) => ({ cursor: null, written: a.written + r.written, skipped: a.skipped + r.skipped, pages: a.pages + r.pages }),
      {
        cursor: null,
        written: 0,
        skipped: 0,
        pages: 0,
      } as MaterializeProgress,
    );
  } else {
    out = await long.materializeRange(plan);
  }
  progress.rowsDone = out.written;
  stage('finishing', progress);
  const result = await quick.finishMaterialization(plan, out);
  upsertSearchAttributes([{ key: SA.rows, value: result.rowsWritten }]);
  upsertMemo({ rowsWritten: result.rowsWritten, rowsSkippedOlder: result.rowsSkippedOlder, partitions: plan.partitions });
  stage('done', progress);
  return result;
}

/** One entity-key hash partition of a materialization: pages through its keys, heartbeating the cursor. */
export async function materializePartitionWorkflow(plan: MaterializePlan): Promise<MaterializeProgress> {
  const progress: Progress = { stage: 'writing', rowsTotal: 0, rowsDone: 0 };
  setHandler(progressQuery, () => progress);
  const out = await long.materializeRange(plan);
  progress.rowsDone = out.written;
  progress.stage = 'done';
  upsertMemo({
    partition: plan.partition?.index ?? 0,
    of: plan.partitions,
    rowsWritten: out.written,
    rowsSkippedOlder: out.skipped,
  });
  return out;
}

/** One janitor sweep (started by the janitor schedule): removes abandoned staging and reports what it removed. */
export async function janitorWorkflow(input: JanitorInput) {
  const report = await quick.cleanAbandonedStaging(input.maxStagingAgeSeconds);
  upsertMemo({ removed: report.removed.length, orphanTables: report.orphanTables.length });
  return report;
}

export * from './training.js';
export * from './pipeline.js';
