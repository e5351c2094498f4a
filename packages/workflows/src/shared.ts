/**
 * Names, ids and payload types shared by workflows, activities and clients. Workflow-safe: no Node imports.
 * Payloads carry ids, counts and cursors, never rows.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery } from '@temporalio/workflow';

export const DEFAULT_TASK_QUEUE = 'strata';

export const SA = {
  project: defineSearchAttributeKey('StrataProject', SearchAttributeType.KEYWORD),
  view: defineSearchAttributeKey('StrataFeatureView', SearchAttributeType.KEYWORD),
  stage: defineSearchAttributeKey('StrataStage', SearchAttributeType.KEYWORD),
  ingestionId: defineSearchAttributeKey('StrataIngestionId', SearchAttributeType.KEYWORD),
  rows: defineSearchAttributeKey('StrataRows', SearchAttributeType.INT),
};

export const SEARCH_ATTRIBUTES: Record<string, 'Keyword' | 'Int'> = {
  StrataProject: 'Keyword',
  StrataFeatureView: 'Keyword',
  StrataStage: 'Keyword',
  StrataIngestionId: 'Keyword',
  StrataRows: 'Int',
};

/** Failure types (ApplicationFailure.type) that tell the client what went wrong without parsing text. */
export const FailureTypes = {
  invalidInput: 'INVALID_INPUT',
  schemaMismatch: 'SCHEMA_MISMATCH',
  validationFailed: 'VALIDATION_FAILED',
  unknownObject: 'UNKNOWN_OBJECT',
} as const;

export interface Progress {
  stage: string;
  rowsTotal: number;
  rowsDone: number;
  message?: string;
}

export const progressQuery = defineQuery<Progress>('progress');

/** The retry policy of Strata's activities: backoff from 1 s to 30 s, at most `maximumAttempts` attempts. */
export function activityRetry(maximumAttempts: number, nonRetryableErrorTypes: string[]) {
  return { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts, nonRetryableErrorTypes };
}

export interface IngestInput {
  project: string;
  view: string;
  ingestionId: string;
  rows: number;
  /** Materialize the new commit online right after it lands. */
  materialize?: boolean;
  /** Overrides the view's validation policy for this ingestion. */
  validationPolicy?: 'NONE' | 'ALWAYS' | 'STRICT';
  /**
   * A file the worker stages itself (resumably: in chunks, heartbeating its row cursor), instead of a batch the
   * client staged before starting the workflow. The path must be readable by the workers.
   */
  stageFile?: { path: string; format?: string; chunkRows?: number; createdBy?: string };
  /** How long a staging, validation or commit step may go without a heartbeat (default 15 s; e.g. '5s'). */
  heartbeatTimeout?: string;
}

/** Input of the worker's staging step (stageIngestFile). */
export interface StageFileInput {
  project: string;
  view: string;
  ingestionId: string;
  path: string;
  format?: string;
  chunkRows?: number;
  createdBy?: string;
}

/**
 * The staging step's heartbeat details and result: its cursor (input rows [0, rows) are in `chunks` chunk tables),
 * and where each attempt began (the evidence that a retry resumed rather than restarted).
 */
export interface StageFileProgress {
  cursor: { rows: number; chunks: number };
  starts: { attempt: number; rows: number; chunks: number }[];
  /** Once staged: the ingestion's rows. */
  staged?: number;
}

/** The staging step, run by workers that have the SDK's file readers (apps/worker registers it). */
export interface IngestFileActivities {
  stageIngestFile(input: StageFileInput): Promise<StageFileProgress>;
}

export interface ValidationSummary {
  validated: boolean;
  success: boolean;
  policy: 'NONE' | 'ALWAYS' | 'STRICT';
  evaluated: number;
  failed: { expectation: string; column?: string; unexpectedCount?: number; observed?: unknown }[];
  /** Drift against the view's previous commit (absent for a view's first commit). */
  drift?: { drifted: boolean; referenceCommit: number; driftedColumns: string[] };
  /** Where an alert was sent, if one was (the webhook URL redacted: scheme and host). */
  alerted?: string;
  /** Why the alert could not be delivered (after its retries), if it could not. */
  alertError?: string;
}

export interface IngestResult {
  ingestionId: string;
  status: 'committed';
  rows: number;
  commitSeq: number;
  alreadyCommitted: boolean;
  /** Rows dropped as exact duplicates of a later row of the same input (same keys, event and created time). */
  duplicateRows?: number;
  validation: ValidationSummary;
  materialization?: MaterializeResult;
}

export interface MaterializeInput {
  project: string;
  view: string;
  /** incremental: commits after the view's watermark; window: rows with event time in [start, end). */
  mode: 'incremental' | 'window';
  start?: string;
  end?: string;
  /** Upper bound of commits to include (set by the client so the workflow id names the range). */
  toSeq?: number;
  batchSize?: number;
  /** Child workflows by entity-key hash partition; default from the rows to read (one per 250k, at most 16). */
  partitions?: number;
}

export interface MaterializePlan {
  project: string;
  view: string;
  version: number;
  mode: 'incremental' | 'window';
  fromSeq: number;
  toSeq: number;
  start?: string;
  end?: string;
  runId: number;
  batchSize: number;
  /** How many entity-key hash partitions the run fans out into (1: no children). */
  partitions: number;
  /** The partition one child works on. */
  partition?: { index: number; count: number };
  /** The view's marker was missing from the online store (it lost its data): this run rewrites the view in full. */
  refill?: boolean;
}

export interface MaterializeProgress {
  cursor: unknown[] | null;
  written: number;
  skipped: number;
  pages: number;
  /**
   * Where each attempt of the activity began (its cursor and the counts carried over from the heartbeat it resumed
   * from): the evidence, in the activity's result and heartbeats, that a retry resumed rather than restarted.
   */
  starts?: AttemptStart[];
}

export interface AttemptStart {
  attempt: number;
  cursor: unknown[] | null;
  written: number;
  skipped: number;
}

export interface MaterializeResult {
  partitions?: number;
  project: string;
  view: string;
  version: number;
  fromSeq: number;
  toSeq: number;
  rowsWritten: number;
  rowsSkippedOlder: number;
  runId: number;
  /** This incremental run found the online store had lost the view and refilled it in full. */
  refill?: boolean;
}

export function ingestWorkflowId(project: string, view: string, ingestionId: string): string {
  return `ingest:${project}:${view}:${ingestionId}`;
}

export function materializeWorkflowId(
  project: string,
  view: string,
  input: Pick<MaterializeInput, 'mode' | 'start' | 'end' | 'toSeq'>,
  fromSeq = 0,
): string {
  return input.mode === 'window'
    ? `materialize:${project}:${view}:${input.start ?? ''}..${input.end ?? ''}`
    : `materialize:${project}:${view}:seq${fromSeq}..seq${input.toSeq ?? 'latest'}`;
}

export interface JanitorInput {
  /** Staging older than this (seconds) that nobody is finishing is removed. */
  maxStagingAgeSeconds: number;
}

/** The schedule (one per Postgres schema) whose runs sweep abandoned staging. */
export function janitorScheduleId(schema: string): string {
  return `strata-janitor:${schema}`;
}
