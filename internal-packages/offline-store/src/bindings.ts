/** The two bindings of the OfflineStore interface, and the one place that picks one from configuration. */
import { StrataError } from '@strata/core';
import { ColumnarEngine, type DuckOptions } from '@strata/offline-columnar';
import {
  type AsOf,
  checkWritable,
  diffCommits,
  type OfflineStore as PgOfflineStore,
  type PgRegistry,
  type Pool,
  OfflineStore as PgStore,
  openReadReplica,
  readViewAsOf,
  streamHistoricalFeatures,
  type ViewVersion,
  viewHistory,
  writeBatches,
} from '@strata/offline-postgres';
import type * as arrow from 'apache-arrow';
import type { LatestPageOptions, OfflineEngineName, OfflineStore, TrainingRequest } from './store.js';

/** Everything in Postgres: lateral (or sort-merge) joins, time travel by commit number, the cursor out as Arrow. */
export class PostgresOfflineStore implements OfflineStore {
  readonly engine: OfflineEngineName = 'postgres';

  /** `columnar`: the engine writing (and backfilling) the commits' Parquet files, when a columnar root is set. */
  constructor(
    readonly postgres: PgOfflineStore,
    readonly columnar?: ColumnarEngine,
  ) {}

  /** Writes the Parquet file of every commit made before columnar copies were on, and older files' facts (idempotent). */
  backfill(project: string, filter: { view?: string; version?: number } = {}) {
    if (!this.columnar) {
      throw new StrataError('CONFIG', 'no columnar root is configured, so there is nothing to backfill', {
        hint: 'set offline.columnarRoot in strata.yaml (or STRATA_COLUMNAR_ROOT)',
      });
    }
    return this.columnar.backfill(project, filter);
  }

  stage(...args: Parameters<PgOfflineStore['stage']>) {
    return this.postgres.stage(...args);
  }

  commit(...args: Parameters<PgOfflineStore['commit']>) {
    return this.postgres.commit(...args);
  }

  getIngestion(id: string) {
    return this.postgres.getIngestion(id);
  }

  streamTrainingSet(req: TrainingRequest): AsyncGenerator<arrow.RecordBatch> {
    const { entityFile: _file, onRoute: _route, ...rest } = req;
    const replica = this.postgres.options.replica;
    return streamHistoricalFeatures(this.postgres.pool, this.postgres.schema, rest, {
      ...(replica ? { replica } : {}),
      ...(req.onRoute ? { onRoute: req.onRoute } : {}),
    });
  }

  async writeTrainingSet(req: TrainingRequest, out: { path: string; format?: string }) {
    await checkWritable(out.path, out.format);
    return writeBatches(this.streamTrainingSet(req), out.path, out.format ? { format: out.format } : {});
  }

  history(project: string, view: string) {
    return viewHistory(this.postgres, project, view);
  }

  readAsOf(vv: ViewVersion, opts: AsOf & { latest?: boolean; batchSize?: number } = {}) {
    return readViewAsOf(this.postgres, vv, opts);
  }

  diff(vv: ViewVersion, from: number, to: number, opts: { batchSize?: number } = {}) {
    return diffCommits(this.postgres, vv, from, to, opts);
  }

  latestPage(vv: ViewVersion, opts: LatestPageOptions) {
    return this.postgres.latestPage(vv, opts);
  }

  readStaged(ingestionId: string, batchSize?: number, opts?: { sampleRows?: number }) {
    return this.postgres.readStaged(ingestionId, batchSize, opts);
  }

  getWatermark(project: string, view: string) {
    return this.postgres.getWatermark(project, view);
  }

  setWatermark(project: string, view: string, seq: number) {
    return this.postgres.setWatermark(project, view, seq);
  }

  materializedViews() {
    return this.postgres.materializedViews();
  }

  async close(): Promise<void> {
    this.columnar?.close();
    await this.postgres.options.replica?.pool.end().catch(() => {});
  }
}

/**
 * Commits go through Postgres, which also writes each commit's Parquet file (in the commit's transaction); training
 * sets, as-of reads and diffs are DuckDB over those files. Staging, paging for materialization and profiles stay on
 * Postgres (they read staged or per-entity rows, where an index is the right tool).
 */
export class ColumnarOfflineStore extends PostgresOfflineStore {
  override readonly engine: OfflineEngineName = 'columnar';

  declare readonly columnar: ColumnarEngine;

  constructor(postgres: PgOfflineStore, columnar: ColumnarEngine) {
    super(postgres, columnar);
  }

  override streamTrainingSet(req: TrainingRequest): AsyncGenerator<arrow.RecordBatch> {
    return this.columnar.streamHistoricalFeatures(req);
  }

  override writeTrainingSet(req: TrainingRequest, out: { path: string; format?: string }) {
    return this.columnar.writeHistoricalFeatures(req, out.path, out.format);
  }

  override readAsOf(vv: ViewVersion, opts: AsOf & { latest?: boolean; batchSize?: number } = {}) {
    return this.columnar.readViewAsOf(vv, {
      ...(opts.commitSeq !== undefined ? { commitSeq: opts.commitSeq } : {}),
      ...(opts.time ? { time: opts.time } : {}),
      ...(opts.latest ? { latest: true } : {}),
      ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
    });
  }

  override diff(vv: ViewVersion, from: number, to: number, opts: { batchSize?: number } = {}) {
    return this.columnar.diffCommits(vv, from, to, opts);
  }
}

export interface OfflineConfig {
  /** Which engine builds training sets and time-travel reads (default postgres). */
  engine?: OfflineEngineName;
  /** Folder of the commits' Parquet files; when set, every commit also writes its file there. */
  columnarRoot?: string;
  duckdb?: DuckOptions;
  /** A read-only replica for training-set reads (postgres engine): its URL, and how long to wait for it to catch up. */
  readUrl?: string;
  readMaxWaitMs?: number;
  /** Rows from which a commit into a commit-partitioned view table attaches its staging table (ADR 0013). */
  attachMinRows?: number;
}

/**
 * The Postgres store (with the commit sink when a columnar root is configured) and the binding the configuration
 * asks for. The columnar engine needs a root.
 */
export function openOfflineStore(pool: Pool, registry: PgRegistry, config: OfflineConfig = {}): PostgresOfflineStore {
  const engine = config.engine ?? 'postgres';
  const replica = config.readUrl
    ? openReadReplica(config.readUrl, config.readMaxWaitMs !== undefined ? { maxWaitMs: config.readMaxWaitMs } : {})
    : undefined;
  const options = {
    ...(replica ? { replica } : {}),
    ...(config.attachMinRows !== undefined ? { attachMinRows: config.attachMinRows } : {}),
  };
  if (!config.columnarRoot) {
    if (engine === 'columnar') {
      throw new StrataError('CONFIG', 'the columnar offline engine needs a folder for the Parquet copies of commits', {
        hint: 'set offline.columnarRoot in strata.yaml (or STRATA_COLUMNAR_ROOT), or use offline.engine: postgres',
      });
    }
    return new PostgresOfflineStore(new PgStore(pool, registry, options));
  }
  // The engine exists before the Postgres store so that its commit sink is the one commits write through.
  let columnar: ColumnarEngine | undefined;
  const pg = new PgStore(pool, registry, {
    ...options,
    commitFiles: {
      write: (x) => (columnar as ColumnarEngine).sink.write(x),
      discard: (p) => (columnar as ColumnarEngine).sink.discard(p),
    },
  });
  columnar = new ColumnarEngine(pg, config.columnarRoot, config.duckdb ?? {});
  return engine === 'columnar' ? new ColumnarOfflineStore(pg, columnar) : new PostgresOfflineStore(pg, columnar);
}
