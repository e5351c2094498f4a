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
import type { Pool } from './pool.js';
import { withTransaction } from './pool.js';
import type { PgRegistry, ViewVersion } from './registry.js';
import { ident, qualified, stagingTableName } from './sql.js';

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
}

export interface StageResult {
  ingestionId: string;
  stagingTable: string;
  rows: number;
  minEventTime: Date | null;
  maxEventTime: Date | null;
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
  };
}

/** Commits at least this big into an empty version table load first and build the indexes after. */
export const BULK_LOAD_MIN_ROWS = 100_000;

export class OfflineStore {
  constructor(
    readonly pool: Pool,
    readonly registry: PgRegistry,
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

  /**
   * Streams Arrow record batches into a fresh staging table by COPY. On any error the staging table is dropped and
   * the ingestion is marked failed with the error: nothing is half-written.
   */
  async stage(
    vv: ViewVersion,
    ingestionId: string,
    batches: AsyncIterable<ColumnBatch> | Iterable<ColumnBatch>,
    opts: { source?: string; createdBy?: string; onProgress?: (rows: number) => void } = {},
  ): Promise<StageResult> {
    const existing = await this.getIngestion(ingestionId);
    if (existing) {
      throw new StrataError('CONFLICT', `ingestion '${ingestionId}' already exists (status ${existing.status})`, {
        hint: 'use a new ingestion id, or leave it out to get a fresh one',
        details: { ingestion: existing.id, status: existing.status },
      });
    }
    const staging = stagingTableName(ingestionId);
    const cols = viewColumns(vv.spec, vv.joinKeys);
    const colList = cols.map((c) => ident(c.name)).join(', ');
    await this.pool.query(
      `INSERT INTO ${this.t('ingestions')} (id, project, view, version, status, staging_table, source, created_by)
       VALUES ($1,$2,$3,$4,'staging',$5,$6,$7)`,
      [ingestionId, vv.project, vv.name, vv.version, staging, opts.source ?? null, opts.createdBy ?? null],
    );
    const client = await this.pool.connect();
    let rows = 0;
    let minTs = Number.POSITIVE_INFINITY;
    let maxTs = Number.NEGATIVE_INFINITY;
    const onTs = (ms: number) => {
      if (ms < minTs) minTs = ms;
      if (ms > maxTs) maxTs = ms;
    };
    try {
      await client.query(`CREATE UNLOGGED TABLE ${this.t(staging)} (LIKE ${this.t(vv.tableName)} INCLUDING DEFAULTS)`);
      await client.query(`ALTER TABLE ${this.t(staging)} DROP COLUMN "__ingestion_id", DROP COLUMN "__commit_seq"`);
      const stream = client.query(copyFrom(`COPY ${this.t(staging)} (${colList}) FROM STDIN WITH (FORMAT csv)`));
      const encoded = async function* (this: OfflineStore) {
        for await (const batch of batches) {
          const copyCols: CopyColumn[] = cols.map((c) => {
            const get = batch.column(c.name);
            if (!get) {
              throw schemaMismatch(`column '${c.name}' (${c.valueType}) is missing from the input`, {
                where: `feature view '${vv.name}'`,
                hint: `the input has columns ${batch.columnNames.join(', ')}`,
              });
            }
            return { ...c, get };
          });
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
      if (rows === 0) throw invalidInput('the input has no rows', { hint: 'an ingestion must contain at least one row' });
      const minE = rows ? new Date(minTs) : null;
      const maxE = rows ? new Date(maxTs) : null;
      await client.query(
        `UPDATE ${this.t('ingestions')} SET status = 'staged', row_count = $2, min_event_time = $3, max_event_time = $4 WHERE id = $1`,
        [ingestionId, rows, minE, maxE],
      );
      return { ingestionId, stagingTable: staging, rows, minEventTime: minE, maxEventTime: maxE };
    } catch (err) {
      const e =
        err instanceof RowError
          ? invalidInput(err.message, {
              where: `${opts.source ?? 'input'}, ${err.line !== undefined ? `line ${err.line}, ` : ''}row ${err.row}, column '${err.column}'`,
              details: { ...(err.line !== undefined ? { line: err.line } : {}), row: err.row, column: err.column },
              hint: 'correct the value (or the column type in the view) and ingest again; nothing of this input was written',
            })
          : err instanceof StrataError
            ? err
            : translatePgError(err, opts.source);
      await client.query(`DROP TABLE IF EXISTS ${this.t(staging)}`).catch(() => {});
      await this.pool
        .query(`UPDATE ${this.t('ingestions')} SET status = 'failed', staging_table = NULL, error = $2 WHERE id = $1`, [
          ingestionId,
          JSON.stringify(e instanceof StrataError ? e.toJSON() : { message: String(e) }),
        ])
        .catch(() => {});
      throw e;
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
      const cols = viewColumns(vv.spec, vv.joinKeys)
        .map((x) => ident(x.name))
        .join(', ');
      const seq = Number((await c.query<{ s: string }>(`SELECT nextval('${this.schema}.commit_seq') AS s`)).rows[0]?.s);
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
        ing.rowCount >= BULK_LOAD_MIN_ROWS &&
        (await c.query<{ empty: boolean }>(`SELECT NOT EXISTS (SELECT 1 FROM ${this.t(vv.tableName)}) AS empty`)).rows[0]
          ?.empty === true;
      const indexes = bulk
        ? (
            await c.query<{ indexname: string; indexdef: string }>(
              'SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2',
              [this.schema, vv.tableName],
            )
          ).rows
        : [];
      for (const ix of indexes) await c.query(`DROP INDEX ${this.t(ix.indexname)}`);
      // Exact duplicates (same join keys, event time and created time) in one commit: the last one in input order
      // wins, as in Feast's offline stores, so training sets, time travel and materialization all see that one row.
      // A staging table is filled by one COPY and never updated, so its physical order (ctid) is the input order.
      const same = [
        ...vv.joinKeys.map((k) => ident(k.name)),
        ident(vv.spec.timestampField),
        ...(vv.spec.createdTimestampField ? [ident(vv.spec.createdTimestampField)] : []),
      ];
      const ins = await c.query(
        `INSERT INTO ${this.t(vv.tableName)} (${cols}, "__ingestion_id", "__commit_seq") SELECT ${cols}, $1, $2 FROM (SELECT DISTINCT ON (${same.join(', ')}) ${cols} FROM ${this.t(ing.stagingTable as string)} ORDER BY ${order.join(', ')}, ctid DESC) AS last_wins ORDER BY ${order.join(', ')}`,
        [ingestionId, seq],
      );
      const inserted = ins.rowCount ?? 0;
      const duplicates = Math.max(0, ing.rowCount - inserted);
      if (indexes.length) {
        await c.query(`SET LOCAL maintenance_work_mem = '512MB'`);
        for (const ix of indexes) await c.query(ix.indexdef);
      }
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
      await c.query(`DROP TABLE ${this.t(ing.stagingTable as string)}`);
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

  /** Keeps a rejected batch in its staging table (the quarantine area) with its report. */
  async quarantine(ingestionId: string, report: unknown, statistics?: unknown): Promise<void> {
    await this.pool.query(
      `UPDATE ${this.t('ingestions')} SET status = 'quarantined', report = $2, statistics = COALESCE($3, statistics) WHERE id = $1 AND status IN ('staged','quarantined')`,
      [ingestionId, JSON.stringify(report), statistics === undefined ? null : JSON.stringify(statistics)],
    );
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

  /** Drops a staged (not committed) ingestion's rows and marks it failed. */
  async abandon(ingestionId: string, error: unknown): Promise<void> {
    const ing = await this.getIngestion(ingestionId);
    if (!ing || ing.status === 'committed') return;
    if (ing.stagingTable) await this.pool.query(`DROP TABLE IF EXISTS ${this.t(ing.stagingTable)}`);
    await this.pool.query(
      `UPDATE ${this.t('ingestions')} SET status = 'failed', staging_table = NULL, error = $2 WHERE id = $1`,
      [ingestionId, JSON.stringify(error)],
    );
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

function jsonSafe(v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v instanceof Date ? v.toISOString() : v;
}

export function translatePgError(err: unknown, source?: string): StrataError {
  const e = err as { code?: string; message?: string; where?: string };
  if (e?.code && /^(22|23)/.test(e.code)) {
    return invalidInput(`the database refused a value: ${e.message}`, {
      where: [source, e.where].filter(Boolean).join(': ') || undefined,
    });
  }
  if (e?.code && /^(08|57P|53)/.test(e.code)) {
    return new StrataError('UNAVAILABLE', `Postgres is unavailable: ${e.message}`, { cause: err });
  }
  if ((e as NodeJS.ErrnoException)?.code === 'ECONNREFUSED' || (e as NodeJS.ErrnoException)?.code === 'ECONNRESET') {
    return new StrataError('UNAVAILABLE', `Postgres is unreachable: ${e.message}`, {
      cause: err,
      hint: 'start it with `strata stack up` or check STRATA_POSTGRES_URL',
    });
  }
  return new StrataError('INTERNAL', e?.message ?? String(err), { cause: err });
}
