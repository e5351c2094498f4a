/**
 * Names and payloads of the pipeline workflows (source -> transformation -> validate -> commit -> materialize, one
 * child workflow per event-time window). Workflow-safe: no Node imports. Payloads carry ids, windows and counts.
 */
import type { ValidationSummary } from './shared.js';

export interface PipelineRunInput {
  project: string;
  view: string;
  /** incremental: the complete windows after the watermark, in order; backfill: the windows in [start, end). */
  mode: 'incremental' | 'backfill';
  start?: string;
  end?: string;
  /** Backfill window length (default: the view's pipeline.window). */
  every?: string;
  /** Windows computed at once in a backfill (default 4). */
  parallel?: number;
}

export interface PipelineWindow {
  start: string;
  end: string;
  ingestionId: string;
}

export interface PipelinePlan {
  project: string;
  view: string;
  version: number;
  codeHash: string;
  materialize: boolean;
  maxAttempts: number;
  /** Windows to compute (committed and empty ones are left out). */
  windows: PipelineWindow[];
  /** Windows of the range already committed (or empty) by the same code. */
  skipped: number;
}

export interface PipelineWindowInput {
  project: string;
  view: string;
  version: number;
  codeHash: string;
  window: PipelineWindow;
  materialize: boolean;
  maxAttempts: number;
}

export interface PipelineWindowResult {
  window: PipelineWindow;
  status: 'committed' | 'empty' | 'already_committed';
  rows: number;
  commitSeq?: number;
  validation?: ValidationSummary;
}

export interface PipelineRunResult {
  project: string;
  view: string;
  mode: 'incremental' | 'backfill';
  windows: number;
  committed: number;
  empty: number;
  skipped: number;
  rows: number;
  failed: { window: PipelineWindow; error: string }[];
  watermark?: string;
}

/** What the extract + transform + stage activity did with a window. */
export interface StagedWindow {
  ingestionId: string;
  status: 'staged' | 'empty' | 'committed';
  rows: number;
  commitSeq?: number;
}

/** The pipeline activities (implemented in the SDK, which reads sources and runs transformations). */
export interface PipelineActivities {
  planPipelineRun(input: PipelineRunInput): Promise<PipelinePlan>;
  stagePipelineWindow(input: PipelineWindowInput): Promise<StagedWindow>;
  recordPipelineWindow(
    input: PipelineWindowInput,
    outcome: { status: 'committed' | 'empty' | 'failed'; rows: number; commitSeq?: number; error?: unknown; workflowId?: string },
  ): Promise<void>;
  advancePipelineWatermark(project: string, view: string, to: string): Promise<string>;
}

export function pipelineWorkflowId(
  project: string,
  view: string,
  input: Pick<PipelineRunInput, 'mode' | 'start' | 'end'>,
): string {
  return input.mode === 'backfill'
    ? `backfill:${project}:${view}:${input.start ?? ''}..${input.end ?? ''}`
    : `pipeline:${project}:${view}`;
}

export function pipelineScheduleId(project: string, view: string): string {
  return `pipeline:${project}:${view}`;
}
