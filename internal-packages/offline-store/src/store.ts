/**
 * The offline store as the rest of Strata sees it: what a training set, a commit, a time-travel read, a page of
 * latest rows (materialization) and a profile (validation) need from storage. Two bindings: `postgres` (everything
 * in Postgres, ADR 0001) and `columnar` (commits also kept as immutable Parquet files, joins and time-travel reads
 * by DuckDB, ADR 0006; commits, staging and the manifest stay in Postgres). Every binding runs the same conformance
 * suite (this package's *.itest.ts).
 */
import type {
  AsOf,
  ColumnBatch,
  CommitInfo,
  CommitResult,
  HistoricalRequest,
  Ingestion,
  OfflineStore as PgOfflineStore,
  ReadRoute,
  StageResult,
  ViewVersion,
} from '@strata/offline-postgres';
import type * as arrow from 'apache-arrow';

export type OfflineEngineName = 'postgres' | 'columnar';

/** A training-set request; `entityFile` lets an engine that can read the entity rows' Parquet file itself do so. */
export interface TrainingRequest extends HistoricalRequest {
  entityFile?: { path: string; format: 'parquet' };
  /** Told where a Postgres join ran (the read replica, or the primary and why), when offline.readUrl is set. */
  onRoute?: (route: ReadRoute) => void;
}

export interface LatestPageOptions {
  fromSeq?: number;
  toSeq?: number;
  start?: Date;
  end?: Date;
  cursor?: unknown[] | null;
  limit: number;
  partition?: { index: number; count: number };
}

export interface OfflineStore {
  readonly engine: OfflineEngineName;
  /** The Postgres store underneath (registry, staging, the commit log): for the calls not yet on this interface. */
  readonly postgres: PgOfflineStore;

  // ---- writes: staged, then committed whole or not at all -------------------------------------------------------
  stage(
    vv: ViewVersion,
    ingestionId: string,
    batches: AsyncIterable<ColumnBatch> | Iterable<ColumnBatch>,
    opts?: { source?: string; createdBy?: string; onProgress?: (rows: number) => void },
  ): Promise<StageResult>;
  /** Commits a staged ingestion atomically in every path; committing a committed ingestion writes nothing. */
  commit(ingestionId: string, extra?: { report?: unknown; statistics?: unknown; workflowId?: string }): Promise<CommitResult>;
  getIngestion(id: string): Promise<Ingestion | undefined>;

  // ---- training sets --------------------------------------------------------------------------------------------
  /** A point-in-time-correct training set as Arrow record batches in entity-row order (bounded memory). */
  streamTrainingSet(req: TrainingRequest): AsyncGenerator<arrow.RecordBatch>;
  /** The same into a file (CSV, Parquet, Arrow IPC, JSON lines), whole or not at all. */
  writeTrainingSet(req: TrainingRequest, out: { path: string; format?: string }): Promise<{ path: string; rows: number }>;

  // ---- time travel ----------------------------------------------------------------------------------------------
  history(project: string, view: string): Promise<CommitInfo[]>;
  /** Every row committed by a commit or time, or the latest row per entity then. */
  readAsOf(vv: ViewVersion, opts?: AsOf & { latest?: boolean; batchSize?: number }): AsyncGenerator<arrow.RecordBatch>;
  /** The rows that commits (from, to] added. */
  diff(vv: ViewVersion, from: number, to: number, opts?: { batchSize?: number }): AsyncGenerator<arrow.RecordBatch>;

  // ---- materialization and profiles -----------------------------------------------------------------------------
  /** One page of the latest row per entity, resumable by key cursor, optionally one entity-key hash partition. */
  latestPage(vv: ViewVersion, opts: LatestPageOptions): Promise<{ rows: Record<string, unknown>[]; cursor: unknown[] | null }>;
  /** A staged ingestion's rows in batches, whole or a uniform sample (validation and profiling). */
  readStaged(ingestionId: string, batchSize?: number, opts?: { sampleRows?: number }): AsyncGenerator<Record<string, unknown>[]>;

  // ---- materialization state (the watermark: the last commit copied online, per view) -------------------------------
  getWatermark(project: string, view: string): Promise<number>;
  /** Moves a view's watermark forward only (a late, older run never moves it back). */
  setWatermark(project: string, view: string, seq: number): Promise<void>;
  /** Views whose watermark is above 0 (something was materialized), by project and view. */
  materializedViews(): Promise<{ project: string; view: string }[]>;

  /**
   * Writes the columnar file of every commit that has none yet, and records the facts of files written before facts
   * were kept (`facts`: how many); idempotent. CONFIG error without a columnar root.
   */
  backfill(
    project: string,
    filter?: { view?: string; version?: number },
  ): Promise<{ commits: number; rows: number; facts: number }>;

  close(): Promise<void>;
}
