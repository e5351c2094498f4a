/**
 * The one interface both SDK modes implement: `Strata` (local: the stores and Temporal directly) and `RemoteStrata`
 * (a Strata server's /api/v1, with an API key and no database credentials). The CLI's remote-capable commands are
 * written against this interface only.
 */
import type { Change, ObjectKind, RepoSpec } from '@strata/core';
import type { CommitInfo, Ingestion, TrainingSet, ViewVersion } from '@strata/offline-postgres';
import type { IngestResult, MaterializeResult, Progress, TrainingSetResult } from '@strata/workflows';
import type * as arrow from 'apache-arrow';
import type { Explanation, ExplainOptions } from './explain.js';
import type { LineageGraph } from './lineage.js';
import type { MaterializationState } from './materializations.js';
import type { OnlineFeaturesResponse } from './online.js';
import type { RunStep, RunSummary } from './runs.js';
import type { StatisticsSeries } from './statistics-series.js';

/** A long operation (a Temporal workflow): its id, its Temporal UI page, live progress and its result. */
export interface Run<R> {
  readonly workflowId: string;
  readonly url: string;
  progress(): Promise<Progress>;
  result(): Promise<R>;
}

export interface IngestRun extends Run<IngestResult> {
  ingestionId: string;
  stagedRows: number;
  ignoredColumns: string[];
}

export interface TrainingSetRun extends Run<TrainingSetResult> {
  id: string;
  entityRows: number;
}

/** A run as the server reports it: status from Temporal, progress from the workflow's `progress` query. */
export interface RunInfo {
  workflowId: string;
  url: string;
  type: string;
  status: 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'TERMINATED' | 'TIMED_OUT' | 'CONTINUED_AS_NEW' | 'UNKNOWN';
  startTime: Date | null;
  closeTime: Date | null;
  progress: Progress | null;
  result?: unknown;
  error?: { code: string; message: string; details: Record<string, unknown> };
}

export type ClientFeatureSelection = { features: string[] } | { featureService: string };

export interface ClientHistoricalOptions {
  /** Entity rows: an Arrow table, a file, or (local mode, or a server that allows it) a read-only SQL query. */
  entities: arrow.Table | { path: string; format?: string } | { sql: string };
  timestampColumn?: string;
  fullFeatureNames?: boolean;
  asOfCommit?: number;
  asOf?: Date | string | number;
  dropCreatedAfterEntityTime?: boolean;
  workMem?: string;
  onProgress?: (p: { stage: 'loading' | 'joining'; rows: number }) => void;
}

export interface ClientIngestOptions {
  ingestionId?: string;
  format?: string;
  materialize?: boolean;
  validationPolicy?: 'NONE' | 'ALWAYS' | 'STRICT';
  onStaged?: (rows: number) => void;
  /** What the ingestion records as its source (default: the file's path locally, its file name through a server). */
  source?: string;
}

export interface StrataClient {
  readonly mode: 'local' | 'remote';
  readonly project: string;
  close(): Promise<void>;

  // registry
  plan(repo: Partial<RepoSpec>): Promise<Change[]>;
  /** The registry's revision now: pass it to apply as `basedOn` to refuse an apply on top of someone else's. */
  registryRevision(): Promise<string>;
  apply(repo: Partial<RepoSpec>, opts?: { basedOn?: string }): Promise<{ changes: Change[]; text: string; revision?: string }>;
  loadRepo(): Promise<RepoSpec>;
  getView(name: string, version?: number): Promise<ViewVersion>;
  listViewVersions(name?: string): Promise<ViewVersion[]>;
  /** Deletes an object; a feature view goes with the staging of its unfinished ingestions (their ids returned). */
  deleteObject(kind: ObjectKind, name: string): Promise<{ droppedIngestions: string[] }>;

  // ingestions and time travel
  ingest(view: string, input: string | arrow.Table, opts?: ClientIngestOptions): Promise<IngestRun>;
  release(
    view: string,
    ingestionId: string,
    opts?: Pick<ClientIngestOptions, 'materialize' | 'validationPolicy'>,
  ): Promise<IngestRun>;
  listIngestions(view?: string): Promise<Ingestion[]>;
  getIngestion(id: string): Promise<Ingestion | undefined>;
  history(view: string): Promise<CommitInfo[]>;
  readView(
    view: string,
    opts?: { asOfCommit?: number; asOf?: Date | string | number; latest?: boolean; version?: number },
  ): AsyncGenerator<arrow.RecordBatch>;
  diff(view: string, from: number, to: number, opts?: { version?: number }): AsyncGenerator<arrow.RecordBatch>;
  diffSummary(
    view: string,
    from: number,
    to: number,
    opts?: { version?: number },
  ): Promise<{ commitSeq: number; ingestionId: string; rows: number; entities: number }[]>;

  // materialization
  materialize(
    view: string,
    opts?: { start?: Date | string; end?: Date | string; batchSize?: number },
  ): Promise<Run<MaterializeResult>>;

  // reads
  getOnlineFeatures(
    opts: ClientFeatureSelection & {
      entities: Record<string, unknown[]> | Record<string, unknown>[];
      fullFeatureNames?: boolean;
    },
  ): Promise<OnlineFeaturesResponse>;
  getHistoricalFeatures(opts: ClientFeatureSelection & ClientHistoricalOptions): Promise<arrow.Table>;
  streamHistoricalFeatures(opts: ClientFeatureSelection & ClientHistoricalOptions): AsyncGenerator<arrow.RecordBatch>;
  writeHistoricalFeatures(
    opts: ClientFeatureSelection & ClientHistoricalOptions & { out: string; format?: string },
  ): Promise<{ path: string; rows: number }>;
  /**
   * A training set built by a workflow. Local mode: the worker writes `out`. Remote mode: the server keeps the file
   * and `downloadTrainingSet` fetches it.
   */
  startTrainingSet(
    opts: ClientFeatureSelection & ClientHistoricalOptions & { out?: string; format?: string; id?: string },
  ): Promise<TrainingSetRun>;
  trainingSet(id: string): Promise<TrainingSet>;
  listTrainingSets(): Promise<TrainingSet[]>;

  // insight (what the console shows)
  /** Per-ingestion statistics and drift of some features (default: all), oldest first: trend charts. */
  statisticsSeries(view: string, opts?: { features?: string[]; limit?: number }): Promise<StatisticsSeries>;
  /** Watermark, commits behind, freshness, recent materialization runs and the schedule of a view. */
  materializationState(view: string, opts?: { runs?: number }): Promise<MaterializationState>;
  /** Where an entity's value came from: online value, offline rows, commit, ingestion, validation, materialization. */
  explain(view: string, opts: ExplainOptions): Promise<Explanation>;
  /** Sources -> ingestions -> views -> services / online store / training sets. */
  lineage(opts?: { ingestions?: number; trainingSets?: number }): Promise<LineageGraph>;
  /** Recent long runs (ingest, materialize, training-set, pipeline), newest first. */
  listRuns(opts?: { kind?: string; status?: string; view?: string; limit?: number }): Promise<RunSummary[]>;
  getRun(workflowId: string): Promise<RunInfo>;
  /** A run's activities and child workflows with their timings. */
  runSteps(workflowId: string): Promise<RunStep[]>;
}
