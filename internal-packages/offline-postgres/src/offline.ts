/**
 * The offline store: stage rows by COPY, commit a staged ingestion atomically into the view's table, read the
 * latest row per entity for materialization, and build point-in-time-correct training sets.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { type FeatureViewSpec, invalidInput, type JoinKey, schemaMismatch, StrataError, type ValueTypeName } from '@strata/core';
import type * as arrow from 'apache-arrow';
import Cursor from 'pg-cursor';
import { from as copyFrom } from 'pg-copy-streams';
import { type CopyColumn, encodeRows, RowError } from './copy-encode.js';
import { type CommitFileSink, exportCommit } from './manifest.js';
import type { ReadReplica } from './replica.js';
import type { Pool, PoolClient } from './pool.js';
import { withTransaction } from './pool.js';
import { type PgRegistry, pitIndexColumns, type ViewVersion } from './registry.js';
import { createStagingTable, ident, qualified, stagingTableName } from './sql.js';
import { dropStagingChunks } from './stage-chunks.js';

/** A batch of rows by column: what staging reads. Arrow record batches, CSV and JSON-lines readers all provide it. */
export interface ColumnBatch {
  numRows: number;
  columnNames: string[];
  /** A getter for row i of the named column, or undefined when the batch has no such column. */
  column(name: string): ((i: number) => unknown) | undefined;
  /** The line of the input file where row i starts (text inputs), for error messages. */
  line?(i: number): number;
}

/** Views an Arrow record batch (or table) as a ColumnBatch. */
export function arrowColumnBatch(batch: arrow.RecordBatch | arrow.Table): ColumnBatch {
  return {
    numRows: batch.numRows,
    columnNames: batch.schema.fields.map((f) => f.name),
    column(name) {
      const vec = batch.getChild(name);
      return vec ? (i: number) => vec.get(i) : undefined;
    },
  };
}

export type IngestionStatus = 'staging' | 'staged' | 'committed' | 'quarantined' | 'failed';

export interface Ingestion {
  id: string;
  project: string;
  view: string;
  version: number;
  status: IngestionStatus;
  stagingTable: string | null;
  source: string | null;
  rowCount: number;
  minEventTime: Date | null;
  maxEventTime: Date | null;
  commitSeq: number | null;
  createdBy: string | null;
  createdAt: Date;
  committedAt: Date | null;
  workflowId: string | null;
  error: unknown;
  report: unknown;
  statistics: unknown;
  drift: unknown;
  /** Rows the commit dropped as exact duplicates of a later row of the same input (last in input order wins). */
  duplicateRows: number;
  /** Content hash of the pipeline code (source + transformation) that made this ingestion, if a pipeline did. */
  codeHash: string | null;
  /** The event-time window a pipeline ingestion covers. */
  windowStart: Date | null;
  windowEnd: Date | null;
}

/** An ingestion without its documents (report, statistics, drift): what lists show, with whether each is stored. */
export type IngestionSummary = Omit<Ingestion, 'report' | 'statistics' | 'drift'> & {
  hasReport: boolean;
  hasStatistics: boolean;
  hasDrift: boolean;
};

/** The ingestions table's columns other than the documents (each can be hundreds of kB for a wide view). */
const INGESTION_SUMMARY_COLUMNS = `id, project, view, version, status, staging_table, source, row_count, min_event_time,
  max_event_time, commit_seq, created_by, created_at, committed_at, workflow_id, error, duplicate_rows, code_hash,
  window_start, window_end, report IS NOT NULL AS has_report, statistics IS NOT NULL AS has_statistics,
  drift IS NOT NULL AS has_drift`;

export interface StageResult {
  ingestionId: string;
  stagingTable: string;
  rows: number;
  minEventTime: Date | null;
  maxEventTime: Date | null;
}

/** A staged ingestion being committed: its view, staging table, commit number and exact-duplicate columns. */
interface StagedCommit {
  vv: ViewVersion;
  ingestionId: string;
  staging: string;
  seq: number;
  /** The columns that make two rows exact duplicates (the last in input order wins). */
  same: string[];
  stagedRows: number;
}

/** What one janitor sweep removed. */
export interface JanitorReport {
  maxAgeSeconds: number;
  removed: { ingestionId: string; status: IngestionStatus; stagingTable: string | null; ageSeconds: number }[];
  /** stg_* tables that no ingestion referred to. */
  orphanTables: string[];
}

export interface CommitResult {
  ingestionId: string;
  status: 'committed';
  rows: number;
  commitSeq: number;
  /** True when this ingestion had been committed before: nothing new was written. */
  alreadyCommitted: boolean;
  /** Rows dropped as exact duplicates (same keys, event and created time) of a later row of the same input. */
  duplicateRows: number;
}

/** Columns of a view's offline table in table order (keys, event time, created time, features). */
export function viewColumns(
  spec: FeatureViewSpec,
  joinKeys: JoinKey[],
): { name: string; valueType: ValueTypeName; required: boolean }[] {
  return [
    ...joinKeys.map((k) => ({ name: k.name, valueType: k.valueType, required: true })),
    { name: spec.timestampField, valueType: 'UNIX_TIMESTAMP' as const, required: true },
    ...(spec.createdTimestampField
      ? [{ name: spec.createdTimestampField, valueType: 'UNIX_TIMESTAMP' as const, required: false }]
      : []),
    ...spec.features.map((f) => ({ name: f.name, valueType: f.valueType, required: false })),
  ];
}

function rowToIngestion(r: Record<string, unknown>): Ingestion {
  return {
    id: r.id as string,
    project: r.project as string,
    view: r.view as string,
    version: r.version as number,
    status: r.status as IngestionStatus,
    stagingTable: (r.staging_table as string) ?? null,
    source: (r.source as string) ?? null,
    rowCount: Number(r.row_count ?? 0),
    minEventTime: (r.min_event_time as Date) ?? null,
    maxEventTime: (r.max_event_time as Date) ?? null,
    commitSeq: r.commit_seq === null || r.commit_seq === undefined ? null : Number(r.commit_seq),
    createdBy: (r.created_by as string) ?? null,
    createdAt: r.created_at as Date,
    committedAt: (r.committed_at as Date) ?? null,
    workflowId: (r.workflow_id as string) ?? null,
    error: r.error ?? null,
    report: r.report ?? null,
    statistics: r.statistics ?? null,
    drift: r.drift ?? null,
    duplicateRows: Number(r.duplicate_rows ?? 0),
    codeHash: (r.code_hash as string) ?? null,
    windowStart: (r.window_start as Date) ?? null,
    windowEnd: (r.window_end as Date) ?? null,
  };
}

/** The session lock a stager holds on an ingestion id while it copies (two-key form: apart from one-key locks). */
const STAGE_LOCK = (schema: string, ingestionId: string): [string, string] => ['strata-stage', `${schema}:${ingestionId}`];

/** The session advisory lock a stager of `ingestionId` holds (two keys for pg_advisory_lock(hashtext, hashtext)). */
export const stageLockKey = STAGE_LOCK;

/** Commits at least this big into an empty version table load first and build the indexes after. */
export const BULK_LOAD_MIN_ROWS = 100_000;

/** Commits at least this big into a commit-partitioned view table become a partition of their own (ADR 0013). */
export const ATTACH_MIN_ROWS = 100_000;

export interface OfflineStoreOptions {
  /** Also writes each commit's rows as an immutable columnar file, inside the commit (ADR 0006). */
  commitFiles?: CommitFileSink;
  /** A read-only replica for training-set reads (offline.readUrl); writes never go there. See replica.ts. */
  replica?: ReadReplica;
  /**
   * Staged rows from which a commit into a commit-partitioned view table attaches its staging table as a partition
   * instead of inserting its rows (offline.attachMinRows; default ATTACH_MIN_ROWS). See ADR 0013.
   */
  attachMinRows?: number;
}

export class OfflineStore {
  constructor(
    readonly pool: Pool,
    readonly registry: PgRegistry,
    readonly options: OfflineStoreOptions = {},
  ) {}

  get schema(): string {
    return this.registry.schema;
  }

  private t(name: string): string {
    return qualified(this.schema, name);
  }

  async getIngestion(id: string): Promise<Ingestion | undefined> {
    const { rows } = await this.pool.query(`SELECT * FROM ${this.t('ingestions')} WHERE id = $1`, [id]);
    return rows[0] ? rowToIngestion(rows[0]) : undefined;
  }

  async listIngestions(project: string, view?: string, limit = 100): Promise<Ingestion[]> {
    const { rows } = await this.pool.query(
      `SELECT * FROM ${this.t('ingestions')} WHERE project = $1 AND ($2::text IS NULL OR view = $2)
       ORDER BY commit_seq DESC NULLS FIRST, created_at DESC LIMIT $3`,
      [project, view ?? null, limit],
    );
    return rows.map(rowToIngestion);
  }

  /** The newest ingestions like listIngestions, without reading their documents: fast for a list of hundreds. */
  async listIngestionSummaries(project: string, view?: string, limit = 1000): Promise<IngestionSummary[]> {
    const { rows } = await this.pool.query(
      `SELECT ${INGESTION_SUMMARY_COLUMNS} FROM ${this.t('ingestions')} WHERE project = $1 AND ($2::text IS NULL OR view = $2)
       ORDER BY commit_seq DESC NULLS FIRST, created_at DESC LIMIT $3`,
      [project, view ?? null, limit],
    );
    return rows.map((r) => {
      const { report: _r, statistics: _s, drift: _d, ...rest } = rowToIngestion(r);
      return {
        ...rest,
        hasReport: r.has_report === true,
        hasStatistics: r.has_statistics === true,
        hasDrift: r.has_drift === true,
      };
    });
  }

  /**
   * Streams Arrow record batches into a fresh staging table by COPY. On any error the staging table is dropped and
   * the ingestion is marked failed with the error: nothing is half-written.
   */
  async stage(
    vv: ViewVersion,
    ingestionId: string,
    batches: AsyncIterable<ColumnBatch> | Iterable<ColumnBatch>,
    opts: {
      source?: string;
      createdBy?: string;
      onProgress?: (rows: number) => void;
      /** Pipeline ingestions: the code hash and event-time window recorded with the commit. */
      codeHash?: string;
      window?: { start: Date; end: Date };
      /** An empty input stages zero rows instead of failing (a pipeline window with no data). */
      allowEmpty?: boolean;
    } = {},
  ): Promise<StageResult> {
    const staging = stagingTableName(ingestionId);
    const cols = viewColumns(vv.spec, vv.joinKeys);
    const colList = cols.map((c) => ident(c.name)).join(', ');
    const client = await this.pool.connect();
    // On failure beginStaging releases the client itself.
    await this.beginStaging(client, vv, ingestionId, staging, opts);
    let rows = 0;
    let minTs = Number.POSITIVE_INFINITY;
    let maxTs = Number.NEGATIVE_INFINITY;
    const onTs = (ms: number) => {
      if (ms < minTs) minTs = ms;
      if (ms > maxTs) maxTs = ms;
    };
    try {
      // Created and filled in one transaction: a crash or an error at any point leaves no table, and the COPY can
      // store its rows frozen (see stage-csv.ts: no page of the table is written again for hint bits or freezing).
      await client.query('BEGIN');
      await this.createStagingTable(client, vv, staging);
      const stream = client.query(copyFrom(`COPY ${this.t(staging)} (${colList}) FROM STDIN WITH (FORMAT csv, FREEZE true)`));
      const encoded = async function* (this: OfflineStore) {
        for await (const batch of batches) {
          const copyCols = copyColumnsOf(vv, cols, batch);
          let text: string;
          try {
            text = encodeRows(copyCols, batch.numRows, rows, onTs, vv.spec.timestampField);
          } catch (err) {
            if (err instanceof RowError && batch.line) err.line = batch.line(err.row - rows - 1);
            throw err;
          }
          rows += batch.numRows;
          opts.onProgress?.(rows);
          if (text) yield text;
        }
      }.call(this);
      await pipeline(Readable.from(encoded), stream);
      if (rows === 0 && !opts.allowEmpty)
        throw invalidInput('the input has no rows', { hint: 'an ingestion must contain at least one row' });
      const minE = rows ? new Date(minTs) : null;
      const maxE = rows ? new Date(maxTs) : null;
      await client.query(
        `UPDATE ${this.t('ingestions')} SET status = 'staged', row_count = $2, min_event_time = $3, max_event_time = $4 WHERE id = $1`,
        [ingestionId, rows, minE, maxE],
      );
      await client.query('COMMIT');
      return { ingestionId, stagingTable: staging, rows, minEventTime: minE, maxEventTime: maxE };
    } catch (err) {
      const e = stagingError(err, opts.source);
      await client.query('ROLLBACK').catch(() => {});
      await client.query(`DROP TABLE IF EXISTS ${this.t(staging)}`).catch(() => {});
      await this.pool
        .query(`UPDATE ${this.t('ingestions')} SET status = 'failed', staging_table = NULL, error = $2 WHERE id = $1`, [
          ingestionId,
          JSON.stringify(e instanceof StrataError ? e.toJSON() : { message: String(e) }),
        ])
        .catch(() => {});
      throw e;
    } finally {
      await this.endStaging(client, ingestionId);
    }
  }

  /**
   * Claims an ingestion id for staging on `client`'s session: takes the id's session lock (waiting while another
   * stager holds it), then inserts the `staging` row. A row left `staging` whose lock is free belongs to a stager
   * that died mid-COPY (its session ended, releasing the lock): it is taken over, its staging table dropped. A
   * `failed` row is replaced. Anything else (staged, quarantined, committed) is a CONFLICT that names the status.
   * On success the caller ends with endStaging(client); on failure the lock and the client are released here.
   */
  async beginStaging(
    client: PoolClient,
    vv: ViewVersion,
    ingestionId: string,
    staging: string,
    opts: { source?: string; createdBy?: string; codeHash?: string; window?: { start: Date; end: Date } } = {},
  ): Promise<void> {
    await client.query('SELECT pg_advisory_lock(hashtext($1), hashtext($2))', STAGE_LOCK(this.schema, ingestionId));
    try {
      const { rows } = await client.query(`SELECT * FROM ${this.t('ingestions')} WHERE id = $1`, [ingestionId]);
      const existing = rows[0] ? rowToIngestion(rows[0]) : undefined;
      if (existing && (existing.project !== vv.project || existing.view !== vv.name)) {
        throw new StrataError(
          'CONFLICT',
          `ingestion id '${ingestionId}' belongs to view '${existing.view}' of project '${existing.project}'`,
          { hint: 'use a new ingestion id, or leave it out to get a fresh one' },
        );
      }
      if (existing && existing.status !== 'staging' && existing.status !== 'failed') {
        throw new StrataError('CONFLICT', `ingestion '${ingestionId}' already exists (status ${existing.status})`, {
          hint: 'use a new ingestion id, or leave it out to get a fresh one',
          details: { ingestion: existing.id, status: existing.status },
        });
      }
      if (existing) {
        if (existing.stagingTable) await client.query(`DROP TABLE IF EXISTS ${this.t(existing.stagingTable)}`);
        await dropStagingChunks(client, this.schema, ingestionId);
        await client.query(`DELETE FROM ${this.t('ingestions')} WHERE id = $1 AND status IN ('staging', 'failed')`, [
          ingestionId,
        ]);
      }
      await client.query(`DROP TABLE IF EXISTS ${this.t(staging)}`);
      await client.query(
        `INSERT INTO ${this.t('ingestions')} (id, project, view, version, status, staging_table, source, created_by, code_hash, window_start, window_end)
         VALUES ($1,$2,$3,$4,'staging',$5,$6,$7,$8,$9,$10)`,
        [
          ingestionId,
          vv.project,
          vv.name,
          vv.version,
          staging,
          opts.source ?? null,
          opts.createdBy ?? null,
          opts.codeHash ?? null,
          opts.window?.start ?? null,
          opts.window?.end ?? null,
        ],
      );
    } catch (err) {
      await this.endStaging(client, ingestionId);
      throw err;
    }
  }

  /**
   * Whether a view version's table is partitioned by commit number (ADR 0013): then a big commit becomes a partition
   * of its own instead of being inserted.
   */
  async commitPartitioned(db: Pool | PoolClient, tableName: string): Promise<boolean> {
    const { rows } = await db.query<{ strat: string }>(
      `SELECT p.partstrat AS strat FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
      [this.schema, tableName],
    );
    return rows[0]?.strat === 'r';
  }

  /**
   * Creates an ingestion's empty staging table: the view table's columns without the commit's own two. Logged when
   * the view table is partitioned by commit, since a big commit keeps it as its partition (an unlogged partition
   * would lose committed rows in a crash); unlogged otherwise (the commit copies its rows, so a crash loses nothing).
   */
  async createStagingTable(client: PoolClient, vv: ViewVersion, staging: string): Promise<void> {
    const logged = await this.commitPartitioned(client, vv.tableName);
    await createStagingTable(client, this.schema, vv.tableName, staging, { unlogged: !logged });
  }

  /** Releases the id's staging lock and the client (a client whose unlock failed is destroyed, never reused). */
  async endStaging(client: PoolClient, ingestionId: string): Promise<void> {
    try {
      await client.query('SELECT pg_advisory_unlock(hashtext($1), hashtext($2))', STAGE_LOCK(this.schema, ingestionId));
      client.release();
    } catch (err) {
      client.release(err instanceof Error ? err : true);
    }
  }

  /** True while some session holds the id's staging lock (a stager is copying it). */
  async stagingInProgress(ingestionId: string): Promise<boolean> {
    const client = await this.pool.connect();
    try {
      const { rows } = await client.query<{ ok: boolean }>(
        'SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS ok',
        STAGE_LOCK(this.schema, ingestionId),
      );
      if (!rows[0]?.ok) return true;
      await client.query('SELECT pg_advisory_unlock(hashtext($1), hashtext($2))', STAGE_LOCK(this.schema, ingestionId));
      return false;
    } finally {
      client.release();
    }
  }

  /** Checks that a staged ingestion still matches the current schema of its view version. */
  async checkStaged(ingestionId: string): Promise<{ ingestion: Ingestion; view: ViewVersion }> {
    const ing = await this.getIngestion(ingestionId);
    if (!ing) throw invalidInput(`ingestion '${ingestionId}' does not exist`, { hint: 'stage rows first (sdk.ingest)' });
    const vv = await this.registry.getView(ing.project, ing.view, ing.version);
    if (ing.status === 'committed') return { ingestion: ing, view: vv };
    if (ing.status !== 'staged' && ing.status !== 'quarantined') {
      throw invalidInput(`ingestion '${ingestionId}' is ${ing.status}; only staged ingestions can be committed`);
    }
    const { rows } = await this.pool.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2`,
      [this.schema, ing.stagingTable],
    );
    const have = new Set(rows.map((r) => r.column_name));
    const missing = viewColumns(vv.spec, vv.joinKeys)
      .filter((c) => !have.has(c.name))
      .map((c) => c.name);
    if (missing.length) {
      throw schemaMismatch(
        `staged rows of ingestion '${ingestionId}' lack column(s) ${missing.join(', ')} of view '${vv.name}' v${vv.version}`,
        {
          hint: 'the view changed after staging; ingest the file again',
        },
      );
    }
    return { ingestion: ing, view: vv };
  }

  /** Reads a staged ingestion's rows in batches with a server-side cursor (for validation and profiling). */
  async *readStaged(
    ingestionId: string,
    batchSize = 10_000,
    opts: { sampleRows?: number } = {},
  ): AsyncGenerator<Record<string, unknown>[]> {
    const ing = await this.getIngestion(ingestionId);
    if (!ing?.stagingTable) return;
    // A Bernoulli sample of about `sampleRows` rows when the batch is bigger (each row kept with the same chance).
    const pct = opts.sampleRows && ing.rowCount > opts.sampleRows ? (100 * opts.sampleRows) / ing.rowCount : undefined;
    const client = await this.pool.connect();
    const cursor = client.query(
      new Cursor(`SELECT * FROM ${this.t(ing.stagingTable)}${pct ? ` TABLESAMPLE BERNOULLI (${pct.toFixed(6)})` : ''}`),
    );
    try {
      for (;;) {
        const rows = await cursor.read(batchSize);
        if (!rows.length) return;
        yield rows;
      }
    } finally {
      await cursor.close().catch(() => {});
      client.release();
    }
  }

  /**
   * Commits a staged ingestion: its rows move into the view table and the ingestion becomes visible, in one
   * transaction. Commits of one view are serialized, so commit sequence numbers follow commit order.
   * Idempotent: committing a committed ingestion writes nothing.
   */
  async commit(
    ingestionId: string,
    extra: { report?: unknown; statistics?: unknown; workflowId?: string } = {},
    opts: { inTransaction?: (client: PoolClient) => Promise<void> } = {},
  ): Promise<CommitResult> {
    // The commit's columnar file, once written: removed again if the transaction does not commit.
    let written: string | undefined;
    try {
      return await this.commitTx(
        ingestionId,
        extra,
        (path) => {
          written = path;
        },
        opts,
      );
    } catch (err) {
      if (written) await this.options.commitFiles?.discard(written).catch(() => {});
      throw err;
    }
  }

  private commitTx(
    ingestionId: string,
    extra: { report?: unknown; statistics?: unknown; workflowId?: string },
    onFile: (path: string) => void,
    opts: { inTransaction?: (client: PoolClient) => Promise<void> },
  ): Promise<CommitResult> {
    return withTransaction(this.pool, async (c) => {
      const { rows } = await c.query(`SELECT * FROM ${this.t('ingestions')} WHERE id = $1 FOR UPDATE`, [ingestionId]);
      if (!rows[0]) throw invalidInput(`ingestion '${ingestionId}' does not exist`);
      const ing = rowToIngestion(rows[0]);
      if (ing.status === 'committed') {
        return {
          ingestionId,
          status: 'committed',
          rows: ing.rowCount,
          commitSeq: ing.commitSeq as number,
          alreadyCommitted: true,
          duplicateRows: ing.duplicateRows,
        };
      }
      if (ing.status !== 'staged' && ing.status !== 'quarantined') {
        throw invalidInput(`ingestion '${ingestionId}' is ${ing.status}; it cannot be committed`);
      }
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`strata-commit:${this.schema}:${ing.project}:${ing.view}`]);
      const vv = await this.registry.getViewVersion(c, ing.project, ing.view, ing.version);
      const seq = Number((await c.query<{ s: string }>('SELECT nextval($1::regclass) AS s', [this.t('commit_seq')])).rows[0]?.s);
      // Exact duplicates (same join keys, event time and created time) in one commit: the last one in input order
      // wins, as in Feast's offline stores, so training sets, time travel and materialization all see that one row.
      // A staging table is filled by one COPY and never updated, so its physical order (ctid) is the input order.
      const same = [
        ...vv.joinKeys.map((k) => ident(k.name)),
        ident(vv.spec.timestampField),
        ...(vv.spec.createdTimestampField ? [ident(vv.spec.createdTimestampField)] : []),
      ];
      const staging = ing.stagingTable as string;
      // The commit's columnar file (when configured), read from the staging table; checked against the rows committed.
      const writeFile = async (rows: number) => {
        if (!this.options.commitFiles) return;
        const sink = this.options.commitFiles;
        const file = await exportCommit(
          c,
          this.schema,
          vv,
          { table: staging, lastWins: same },
          { seq, ingestionId },
          {
            write: async (x) => {
              const out = await sink.write(x);
              onFile(out.path);
              return out;
            },
            discard: (p) => sink.discard(p),
          },
          viewColumns(vv.spec, vv.joinKeys),
        );
        if (file.rows !== rows)
          throw new StrataError('INTERNAL', `commit ${seq}: the columnar file has ${file.rows} rows, the table ${rows}`);
      };
      let inserted: number;
      const staged: StagedCommit = { vv, ingestionId, staging, seq, same, stagedRows: ing.rowCount };
      if (await this.attachable(c, vv, ing)) {
        // ADR 0013: the staging table becomes the commit's partition; its rows are not written again.
        inserted = ing.rowCount - (await this.attachStaging(c, staged, writeFile));
      } else {
        inserted = await this.insertStaging(c, staged);
        await writeFile(inserted);
        await c.query(`DROP TABLE ${this.t(staging)}`);
      }
      const duplicates = Math.max(0, ing.rowCount - inserted);
      await c.query(
        `UPDATE ${this.t('ingestions')} SET status = 'committed', commit_seq = $2, committed_at = date_trunc('milliseconds', clock_timestamp()), staging_table = NULL,
           row_count = $3, report = COALESCE($4, report), statistics = COALESCE($5, statistics), workflow_id = COALESCE($6, workflow_id),
           duplicate_rows = $7
         WHERE id = $1`,
        [
          ingestionId,
          seq,
          inserted,
          extra.report === undefined ? null : JSON.stringify(extra.report),
          extra.statistics === undefined ? null : JSON.stringify(extra.statistics),
          extra.workflowId ?? null,
          duplicates,
        ],
      );
      // Whatever must become true exactly when these rows do (a stream source's offsets); a throw rolls back all.
      if (opts.inTransaction) await opts.inTransaction(c);
      return {
        ingestionId,
        status: 'committed',
        rows: inserted,
        commitSeq: seq,
        alreadyCommitted: false,
        duplicateRows: duplicates,
      };
    });
  }

  /** Whether a commit attaches its staging table: big enough, into a commit-partitioned table, staged logged. */
  private async attachable(c: PoolClient, vv: ViewVersion, ing: Ingestion): Promise<boolean> {
    if (ing.rowCount < (this.options.attachMinRows ?? ATTACH_MIN_ROWS) || ing.rowCount === 0) return false;
    if (!(await this.commitPartitioned(c, vv.tableName))) return false;
    const { rows } = await c.query<{ p: string }>(
      `SELECT c.relpersistence AS p FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relname = $2`,
      [this.schema, ing.stagingTable],
    );
    return rows[0]?.p === 'p';
  }

  /**
   * The INSERT path: the staged rows, last one of each exact duplicate only, are written into the view table sorted
   * by the point-in-time index's key. Returns the rows written.
   */
  private async insertStaging(c: PoolClient, x: StagedCommit): Promise<number> {
    const { vv, ingestionId, staging, seq, same, stagedRows } = x;
    const cols = viewColumns(vv.spec, vv.joinKeys)
      .map((x) => ident(x.name))
      .join(', ');
    // Rows go in sorted by the point-in-time index's key, so its b-tree is filled in order (far fewer random page
    // writes than inserting in file order) and the table is clustered by entity for the PIT join.
    const order = [
      ...vv.joinKeys.map((k) => ident(k.name)),
      `${ident(vv.spec.timestampField)} DESC`,
      ...(vv.spec.createdTimestampField ? [`${ident(vv.spec.createdTimestampField)} DESC NULLS LAST`] : []),
    ];
    await c.query(`SET LOCAL work_mem = '256MB'`);
    // A big first commit into an empty version table loads without its indexes and builds them after (one sort per
    // index instead of maintaining each b-tree row by row). The DDL is part of this transaction: readers of the
    // (empty) table wait for the commit, and a failure rolls everything back, indexes included.
    const bulk =
      stagedRows >= BULK_LOAD_MIN_ROWS &&
      (await c.query<{ empty: boolean }>(`SELECT NOT EXISTS (SELECT 1 FROM ${this.t(vv.tableName)}) AS empty`)).rows[0]?.empty ===
        true;
    const indexes = bulk
      ? (
          await c.query<{ indexname: string; indexdef: string }>(
            'SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2',
            [this.schema, vv.tableName],
          )
        ).rows
      : [];
    for (const ix of indexes) await c.query(`DROP INDEX ${this.t(ix.indexname)}`);
    const ins = await c.query(
      `INSERT INTO ${this.t(vv.tableName)} (${cols}, "__ingestion_id", "__commit_seq") SELECT ${cols}, $1, $2 FROM (SELECT DISTINCT ON (${same.join(', ')}) ${cols} FROM ${this.t(staging)} ORDER BY ${order.join(', ')}, ctid DESC) AS last_wins ORDER BY ${order.join(', ')}`,
      [ingestionId, seq],
    );
    if (indexes.length) {
      await c.query(`SET LOCAL maintenance_work_mem = '512MB'`);
      // On a partitioned table the parent's definition reads "ON ONLY"; rebuilt without it, it covers every partition.
      for (const ix of indexes) await c.query(ix.indexdef.replace(' ON ONLY ', ' ON '));
    }
    return ins.rowCount ?? 0;
  }

  /**
   * The attach path (ADR 0013), inside the commit's transaction after its lock and number: the staging table gets
   * the commit's id and number as constant column defaults (catalog only, no rewrite), a CHECK of its number range
   * (one scan, so ATTACH needs none), and the view's unique point-in-time index (one sort); a unique violation means
   * exact duplicates in the input, of which all but the last in input order are deleted before building it again.
   * Then the columnar file (when configured), and only then the parent's exclusive lock (taken in short tries, so a
   * long reader does not stall the readers queued behind the commit) for the catalog-only ATTACH and a rename out of
   * the janitor's `stg_` namespace. A failure anywhere rolls all of it back: the staging table is as it was.
   * Returns the duplicates deleted.
   */
  private async attachStaging(c: PoolClient, x: StagedCommit, beforeAttach: (rows: number) => Promise<void>): Promise<number> {
    const { vv, ingestionId, staging, seq, same, stagedRows } = x;
    const part = `${vv.tableName.slice(0, 36)}_c${seq}`;
    const stg = this.t(staging);
    // Enough for a 10M-row index sort in memory (a parallel build splits it among its workers); measured ~20% faster
    // than 512MB, which spills.
    await c.query(`SET LOCAL maintenance_work_mem = '1GB'`);
    await c.query(
      `ALTER TABLE ${stg} ADD COLUMN "__ingestion_id" text NOT NULL DEFAULT ${literal(ingestionId)},
         ADD COLUMN "__commit_seq" bigint NOT NULL DEFAULT ${seq},
         ADD CONSTRAINT ${ident(`${part}_range`)} CHECK ("__commit_seq" >= ${seq} AND "__commit_seq" < ${seq + 1})`,
    );
    const index = `CREATE UNIQUE INDEX ${ident(`${part}_pit`)} ON ${stg} (${pitIndexColumns(vv.spec, vv.joinKeys).join(', ')}) NULLS NOT DISTINCT`;
    let duplicates = 0;
    await c.query('SAVEPOINT strata_attach_index');
    try {
      await c.query(index);
      await c.query('RELEASE SAVEPOINT strata_attach_index');
    } catch (err) {
      if ((err as { code?: string }).code !== '23505') throw err;
      await c.query('ROLLBACK TO SAVEPOINT strata_attach_index');
      const del = await c.query(
        `DELETE FROM ${stg} WHERE ctid = ANY (ARRAY(SELECT ctid FROM (SELECT ctid, row_number() OVER (PARTITION BY ${same.join(', ')} ORDER BY ctid DESC) AS n FROM ${stg}) AS d WHERE n > 1))`,
      );
      duplicates = del.rowCount ?? 0;
      await c.query(index);
    }
    await beforeAttach(stagedRows - duplicates);
    await lockExclusive(c, this.t(vv.tableName));
    await c.query(`ALTER TABLE ${this.t(vv.tableName)} ATTACH PARTITION ${stg} FOR VALUES FROM (${seq}) TO (${seq + 1})`);
    await c.query(`ALTER TABLE ${stg} RENAME TO ${ident(part)}`);
    return duplicates;
  }

  /** Keeps a rejected batch in its staging table (the quarantine area) with its report. */
  async quarantine(
    ingestionId: string,
    report: unknown,
    statistics?: unknown,
    opts: { inTransaction?: (client: PoolClient) => Promise<void> } = {},
  ): Promise<void> {
    await withTransaction(this.pool, async (c) => {
      await c.query(
        `UPDATE ${this.t('ingestions')} SET status = 'quarantined', report = $2, statistics = COALESCE($3, statistics) WHERE id = $1 AND status IN ('staged','quarantined')`,
        [ingestionId, JSON.stringify(report), statistics === undefined ? null : JSON.stringify(statistics)],
      );
      if (opts.inTransaction) await opts.inTransaction(c);
    });
  }

  async recordReport(
    ingestionId: string,
    fields: { report?: unknown; statistics?: unknown; drift?: unknown; workflowId?: string },
  ): Promise<void> {
    await this.pool.query(
      `UPDATE ${this.t('ingestions')} SET report = COALESCE($2, report), statistics = COALESCE($3, statistics),
         workflow_id = COALESCE($4, workflow_id), drift = COALESCE($5, drift) WHERE id = $1`,
      [
        ingestionId,
        fields.report === undefined ? null : JSON.stringify(fields.report),
        fields.statistics === undefined ? null : JSON.stringify(fields.statistics),
        fields.workflowId ?? null,
        fields.drift === undefined ? null : JSON.stringify(fields.drift),
      ],
    );
  }

  /** The statistics of the view's latest commit (the reference for drift), if any. */
  async latestCommittedStatistics(
    project: string,
    view: string,
  ): Promise<{ ingestionId: string; commitSeq: number; statistics: unknown } | undefined> {
    const { rows } = await this.pool.query<{ id: string; commit_seq: string; statistics: unknown }>(
      `SELECT id, commit_seq, statistics FROM ${this.t('ingestions')}
       WHERE project = $1 AND view = $2 AND status = 'committed' AND statistics IS NOT NULL
       ORDER BY commit_seq DESC LIMIT 1`,
      [project, view],
    );
    const r = rows[0];
    return r ? { ingestionId: r.id, commitSeq: Number(r.commit_seq), statistics: r.statistics } : undefined;
  }

  /**
   * Drops a staged ingestion's rows and marks it failed with the error, in one transaction. Only a `staged` batch is
   * touched: committed ones are done, quarantined ones are kept for release, and a `staging` one belongs to a stager.
   * Returns whether it abandoned anything.
   */
  async abandon(ingestionId: string, error: unknown, statuses: IngestionStatus[] = ['staged']): Promise<boolean> {
    return withTransaction(this.pool, async (c) => {
      const { rows } = await c.query(`SELECT * FROM ${this.t('ingestions')} WHERE id = $1 FOR UPDATE`, [ingestionId]);
      const ing = rows[0] ? rowToIngestion(rows[0]) : undefined;
      if (!ing || !statuses.includes(ing.status)) return false;
      if (ing.stagingTable) await c.query(`DROP TABLE IF EXISTS ${this.t(ing.stagingTable)}`);
      await c.query(`UPDATE ${this.t('ingestions')} SET status = 'failed', staging_table = NULL, error = $2 WHERE id = $1`, [
        ingestionId,
        JSON.stringify(error),
      ]);
      return true;
    });
  }

  /**
   * The janitor's sweep: removes staging that nobody will finish. Ingestions older than `maxAgeSeconds` that are
   * still `staged` (their workflow never ran or died) or `staging` with no live stager (its session lock is free) are
   * marked failed and their staging tables dropped; `stg_*` tables that no ingestion refers to are dropped at any
   * age (a stager inserts its row before it creates its table, so such a table is never in use). Quarantined batches
   * are kept for release. Returns what it removed.
   */
  async cleanAbandoned(maxAgeSeconds: number): Promise<JanitorReport> {
    const removed: JanitorReport['removed'] = [];
    const { rows } = await this.pool.query<{ id: string; status: IngestionStatus; staging_table: string | null; age: number }>(
      `SELECT id, status, staging_table, extract(epoch FROM now() - created_at)::float8 AS age FROM ${this.t('ingestions')}
       WHERE status IN ('staging', 'staged') AND created_at < now() - make_interval(secs => $1) ORDER BY created_at`,
      [maxAgeSeconds],
    );
    for (const r of rows) {
      if (r.status === 'staging' && (await this.stagingInProgress(r.id))) continue;
      const error = {
        code: 'ABANDONED',
        message: `removed by the janitor: ${r.status} for ${Math.round(r.age)} s (more than ${maxAgeSeconds} s)`,
      };
      const done = r.status === 'staging' ? await this.abandonStaging(r.id, error) : await this.abandon(r.id, error, ['staged']);
      if (done)
        removed.push({ ingestionId: r.id, status: r.status, stagingTable: r.staging_table, ageSeconds: Math.round(r.age) });
    }
    // Unfinished ingestions of views that no longer exist (a delete that stopped half-way).
    const gone = await this.pool.query<{ id: string; status: IngestionStatus; staging_table: string | null; age: number }>(
      `SELECT i.id, i.status, i.staging_table, extract(epoch FROM now() - i.created_at)::float8 AS age FROM ${this.t('ingestions')} i
       WHERE i.staging_table IS NOT NULL AND i.status IN ('staged', 'quarantined', 'failed')
         AND NOT EXISTS (SELECT 1 FROM ${this.t('objects')} o WHERE o.project = i.project AND o.kind = 'feature_view' AND o.name = i.view)`,
    );
    for (const r of gone.rows) {
      const error = { code: 'ABANDONED', message: 'removed by the janitor: its feature view no longer exists' };
      if (await this.abandon(r.id, error, ['staged', 'quarantined', 'failed']))
        removed.push({ ingestionId: r.id, status: r.status, stagingTable: r.staging_table, ageSeconds: Math.round(r.age) });
    }
    // Chunk tables of a worker's resumable load (stc_<hash>_<n>) belong to the `staging` ingestion of that hash only.
    const orphans = await this.pool.query<{ tablename: string }>(
      `SELECT tablename FROM pg_tables WHERE schemaname = $1 AND (
         (tablename LIKE 'stg\\_%' AND tablename NOT IN (SELECT staging_table FROM ${this.t('ingestions')} WHERE staging_table IS NOT NULL))
         OR (tablename LIKE 'stc\\_%' AND 'stg_' || substr(tablename, 5, 24) NOT IN
           (SELECT staging_table FROM ${this.t('ingestions')} WHERE staging_table IS NOT NULL AND status = 'staging')))`,
      [this.schema],
    );
    const orphanTables: string[] = [];
    for (const o of orphans.rows) {
      await this.pool.query(`DROP TABLE IF EXISTS ${this.t(o.tablename)}`);
      orphanTables.push(o.tablename);
    }
    return { maxAgeSeconds, removed, orphanTables };
  }

  /** Takes a `staging` ingestion whose stager died: under its staging lock, drops the table and marks it failed. */
  private async abandonStaging(ingestionId: string, error: unknown): Promise<boolean> {
    const client = await this.pool.connect();
    try {
      const { rows } = await client.query<{ ok: boolean }>(
        'SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS ok',
        STAGE_LOCK(this.schema, ingestionId),
      );
      if (!rows[0]?.ok) return false;
      try {
        const ing = await this.getIngestion(ingestionId);
        if (ing?.status !== 'staging') return false;
        if (ing.stagingTable) await client.query(`DROP TABLE IF EXISTS ${this.t(ing.stagingTable)}`);
        await dropStagingChunks(client, this.schema, ingestionId);
        await client.query(
          `UPDATE ${this.t('ingestions')} SET status = 'failed', staging_table = NULL, error = $2 WHERE id = $1 AND status = 'staging'`,
          [ingestionId, JSON.stringify(error)],
        );
        return true;
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1), hashtext($2))', STAGE_LOCK(this.schema, ingestionId));
      }
    } finally {
      client.release();
    }
  }

  /**
   * Drops the staging tables of a view's unfinished ingestions (staged, quarantined, failed, or staging without a
   * live stager) and marks them failed; used when the view is deleted.
   */
  async dropViewStaging(project: string, view: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string; status: IngestionStatus }>(
      `SELECT id, status FROM ${this.t('ingestions')} WHERE project = $1 AND view = $2 AND status <> 'committed'`,
      [project, view],
    );
    const dropped: string[] = [];
    const error = { code: 'UNKNOWN_OBJECT', message: `feature view '${view}' was deleted` };
    for (const r of rows) {
      const done =
        r.status === 'staging'
          ? await this.abandonStaging(r.id, error)
          : await this.abandon(r.id, error, ['staged', 'quarantined', 'failed']);
      if (done) dropped.push(r.id);
    }
    return dropped;
  }

  /** The highest commit sequence number of a view (0 when nothing is committed). */
  async maxCommitSeq(project: string, view: string): Promise<number> {
    const { rows } = await this.pool.query<{ s: string | null }>(
      `SELECT max(commit_seq) AS s FROM ${this.t('ingestions')} WHERE project = $1 AND view = $2 AND status = 'committed'`,
      [project, view],
    );
    return Number(rows[0]?.s ?? 0);
  }

  async getWatermark(project: string, view: string): Promise<number> {
    const { rows } = await this.pool.query<{ commit_seq: string }>(
      `SELECT commit_seq FROM ${this.t('watermarks')} WHERE project = $1 AND view = $2`,
      [project, view],
    );
    return Number(rows[0]?.commit_seq ?? 0);
  }

  /**
   * Drops what a dead attempt at an ingestion left (its staging table, a staging, staged or failed row) so the same
   * id can be staged again; a committed ingestion is never touched.
   */
  async discardAttempt(ingestionId: string): Promise<void> {
    await this.pool.query(`DROP TABLE IF EXISTS ${this.t(stagingTableName(ingestionId))}`);
    await this.pool.query(`DELETE FROM ${this.t('ingestions')} WHERE id = $1 AND status IN ('staging', 'failed', 'staged')`, [
      ingestionId,
    ]);
  }

  /** Views with a materialization watermark above 0 (something was materialized), by project and view. */
  async materializedViews(): Promise<{ project: string; view: string }[]> {
    const { rows } = await this.pool.query<{ project: string; view: string }>(
      `SELECT project, view FROM ${this.t('watermarks')} WHERE commit_seq > 0 ORDER BY project, view`,
    );
    return rows;
  }

  /** Moves the watermark forward only (a late, older run never moves it back). */
  async setWatermark(project: string, view: string, seq: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.t('watermarks')} (project, view, commit_seq) VALUES ($1,$2,$3)
       ON CONFLICT (project, view) DO UPDATE SET commit_seq = GREATEST(${this.t('watermarks')}.commit_seq, EXCLUDED.commit_seq), updated_at = now()`,
      [project, view, seq],
    );
  }

  /** Rows committed to a view with commit numbers in (fromSeq, toSeq]: sizes a materialization's fan-out. */
  async committedRows(project: string, view: string, fromSeq: number, toSeq: number): Promise<number> {
    const { rows } = await this.pool.query<{ n: string | null }>(
      `SELECT sum(row_count) AS n FROM ${this.t('ingestions')}
       WHERE project = $1 AND view = $2 AND status = 'committed' AND commit_seq > $3 AND commit_seq <= $4`,
      [project, view, fromSeq, toSeq],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * One page of the latest row per entity, ordered by join key, after `cursor` (a key tuple): resumable by key.
   * Filters: commit sequence range (incremental) and/or event-time window, and optionally one entity-key hash
   * partition (`abs(hashtext(ROW(keys)::text)) % count = index`; partitions are disjoint and cover every key, so
   * fan-out children can each take one and resume from their own cursor).
   */
  async latestPage(
    vv: ViewVersion,
    opts: {
      fromSeq?: number;
      toSeq?: number;
      start?: Date;
      end?: Date;
      cursor?: unknown[] | null;
      limit: number;
      partition?: { index: number; count: number };
    },
  ): Promise<{ rows: Record<string, unknown>[]; cursor: unknown[] | null }> {
    const keys = vv.joinKeys.map((k) => ident(k.name));
    const ts = ident(vv.spec.timestampField);
    const created = vv.spec.createdTimestampField ? ident(vv.spec.createdTimestampField) : undefined;
    const cols = viewColumns(vv.spec, vv.joinKeys).map((c) => ident(c.name));
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (opts.fromSeq !== undefined) where.push(`"__commit_seq" > ${p(opts.fromSeq)}`);
    if (opts.toSeq !== undefined) where.push(`"__commit_seq" <= ${p(opts.toSeq)}`);
    if (opts.start) where.push(`${ts} >= ${p(opts.start)}`);
    if (opts.end) where.push(`${ts} < ${p(opts.end)}`);
    if (opts.partition && opts.partition.count > 1) {
      where.push(
        `abs(hashtext(ROW(${keys.join(', ')})::text)::bigint) % ${p(opts.partition.count)} = ${p(opts.partition.index)}`,
      );
    }
    if (opts.cursor) where.push(`(${keys.join(', ')}) > (${opts.cursor.map((v) => p(v)).join(', ')})`);
    const order = [...keys, `${ts} DESC`, ...(created ? [`${created} DESC NULLS LAST`] : []), '"__commit_seq" DESC'];
    const sql = `SELECT DISTINCT ON (${keys.join(', ')}) ${cols.join(', ')} FROM ${this.t(vv.tableName)}
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order.join(', ')} LIMIT ${p(opts.limit)}`;
    const { rows } = await this.pool.query(sql, params);
    const last = rows[rows.length - 1];
    const cursor = last && rows.length === opts.limit ? vv.joinKeys.map((k) => jsonSafe(last[k.name])) : null;
    return { rows, cursor };
  }
}

/** A SQL string literal (standard_conforming_strings: only quotes are doubled). */
function literal(v: string): string {
  return `'${v.replace(/'/g, "''")}'`;
}

/**
 * Takes `table`'s ACCESS EXCLUSIVE lock in tries of 200 ms with pauses between, so that while a long reader holds
 * the table, the readers after it are not queued behind a waiting commit. Waits as long as the reader reads.
 */
async function lockExclusive(c: PoolClient, table: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    await c.query('SAVEPOINT strata_attach_lock');
    try {
      await c.query(`SET LOCAL lock_timeout = '200ms'`);
      await c.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
      await c.query('RELEASE SAVEPOINT strata_attach_lock');
      await c.query('SET LOCAL lock_timeout = DEFAULT');
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== '55P03') throw err;
      await c.query('ROLLBACK TO SAVEPOINT strata_attach_lock');
      await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** Math.min(attempt, 5))));
    }
  }
}

function jsonSafe(v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v instanceof Date ? v.toISOString() : v;
}

/**
 * Whether a Postgres SQLSTATE names a transient fault (retrying the same statement can succeed): connection
 * exceptions (08), serialization failures and deadlocks (40), lock not available (55P03), operator intervention
 * such as a shutdown (57P) and insufficient resources (53).
 */
export function isTransientSqlState(code: string): boolean {
  return /^(08|40|53|57P)/.test(code) || code === '55P03';
}

/**
 * A Postgres (or pg driver) error as a StrataError, classified by SQLSTATE class: transient faults are UNAVAILABLE
 * (retried with backoff); data exceptions (22) and integrity violations (23) are INVALID_INPUT; syntax and access
 * errors (42) and everything else with a SQLSTATE are INTERNAL marked non-retryable (details.sqlstate), since the
 * same statement fails the same way again.
 */
/** The COPY columns of a batch: each view column with its getter; a column the batch lacks is a SCHEMA_MISMATCH. */
export function copyColumnsOf(
  vv: ViewVersion,
  cols: { name: string; valueType: ValueTypeName; required: boolean }[],
  batch: ColumnBatch,
): CopyColumn[] {
  return cols.map((c) => {
    const get = batch.column(c.name);
    if (!get) {
      throw schemaMismatch(`column '${c.name}' (${c.valueType}) is missing from the input`, {
        where: `feature view '${vv.name}'`,
        hint: `the input has columns ${batch.columnNames.join(', ')}`,
      });
    }
    return { ...c, get };
  });
}

/** A staging failure as the error the caller sees: a bad value names its input, line, row and column. */
export function stagingError(err: unknown, source: string | undefined): StrataError {
  if (err instanceof RowError) {
    return invalidInput(err.message, {
      where: `${source ?? 'input'}, ${err.line !== undefined ? `line ${err.line}, ` : ''}row ${err.row}, column '${err.column}'`,
      details: { ...(err.line !== undefined ? { line: err.line } : {}), row: err.row, column: err.column },
      hint: 'correct the value (or the column type in the view) and ingest again; nothing of this input was written',
    });
  }
  return err instanceof StrataError ? err : translatePgError(err, source);
}

export function translatePgError(err: unknown, source?: string): StrataError {
  const e = err as { code?: string; message?: string; where?: string };
  const sqlstate = typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined;
  if (sqlstate && /^(22|23)/.test(sqlstate)) {
    return invalidInput(`the database refused a value: ${e.message}`, {
      where: [source, e.where].filter(Boolean).join(': ') || undefined,
      details: { sqlstate },
    });
  }
  if (sqlstate && isTransientSqlState(sqlstate)) {
    return new StrataError('UNAVAILABLE', `Postgres is unavailable: ${e.message}`, { cause: err, details: { sqlstate } });
  }
  const errno = (e as NodeJS.ErrnoException)?.code;
  if (
    errno === 'ECONNREFUSED' ||
    errno === 'ECONNRESET' ||
    errno === 'ETIMEDOUT' ||
    errno === 'EPIPE' ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
      e?.message ?? '',
    )
  ) {
    return new StrataError('UNAVAILABLE', `Postgres is unreachable: ${e.message}`, {
      cause: err,
      hint: 'start it with `strata stack up` or check STRATA_POSTGRES_URL',
    });
  }
  if (sqlstate) {
    return new StrataError('INTERNAL', `the database rejected a statement (SQLSTATE ${sqlstate}): ${e.message}`, {
      cause: err,
      details: { sqlstate, retryable: false },
    });
  }
  return new StrataError('INTERNAL', e?.message ?? String(err), { cause: err });
}
