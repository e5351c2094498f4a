/**
 * The manifest of the columnar copies of commits (ADR 0006): `commit_files` lists, per commit, the immutable file that
 * holds exactly that commit's rows. A file is written by a `CommitFileSink` inside the commit's transaction and
 * recorded in the same transaction, so a commit is listed with its file or not at all; a file whose transaction did
 * not commit is removed (or, after a crash, never listed). Readers take the file list from here, never from a folder
 * listing.
 */
import type { Readable } from 'node:stream';
import { type ValueTypeName, isListType } from '@strata/core';
import { to as copyTo } from 'pg-copy-streams';
import type { Pool, PoolClient } from './pool.js';
import type { ViewVersion } from './registry.js';
import { ident, qualified } from './sql.js';

/** A column of an exported commit and how its values are written in the CSV the sink reads. */
export interface ExportColumn {
  name: string;
  valueType: ValueTypeName;
  /**
   * The text form in the CSV: 'plain' (Postgres' text output), 'bool' (t/f), 'epoch_us' (timestamps as integer
   * microseconds since the epoch, UTC), 'hex' (bytes, hex digits), 'json' (lists as a JSON array).
   */
  text: 'plain' | 'bool' | 'epoch_us' | 'hex' | 'json';
}

export interface CommitExport {
  view: ViewVersion;
  commitSeq: number;
  ingestionId: string;
  /** The view's columns in order, then `__ord` (INT64: position of the row in the commit's input). */
  columns: ExportColumn[];
  /** The rows as CSV (no header; an unquoted empty field is null, "" an empty string). */
  csv: Readable;
}

/**
 * What a sink learnt of a commit's rows while writing its file, kept in the manifest so that readers can plan
 * without opening files. Optional: a sink that does not know leaves them out (readers then assume the worst).
 */
export interface CommitFileFacts {
  /** True when no two rows share their join keys and event time (so no tie rule can ever be needed inside it). */
  keyTimeUnique: boolean;
  /** The least and greatest event time, integer microseconds since the epoch (decimal text; null: no rows). */
  minEventUs: string | null;
  maxEventUs: string | null;
}

export interface WrittenCommitFile {
  path: string;
  rows: number;
  bytes: number;
  facts?: CommitFileFacts;
}

/** Writes one commit's rows as an immutable file. Nothing may be visible under the returned path until it is whole. */
export interface CommitFileSink {
  write(commit: CommitExport): Promise<WrittenCommitFile>;
  /** Removes a file written for a commit whose transaction then failed. */
  discard(path: string): Promise<void>;
}

export interface CommitFile {
  commitSeq: number;
  ingestionId: string;
  /** Relative to the sink's root; null when the commit has no columnar file yet. */
  path: string | null;
  rows: number;
  bytes: number;
  committedAt: Date;
  /** What the sink recorded (CommitFileFacts); null when unknown (no file, or a file written before facts were kept). */
  keyTimeUnique: boolean | null;
  minEventUs: bigint | null;
  maxEventUs: bigint | null;
}

function textOf(t: ValueTypeName): ExportColumn['text'] {
  if (isListType(t)) return 'json';
  if (t === 'BOOL') return 'bool';
  if (t === 'UNIX_TIMESTAMP') return 'epoch_us';
  if (t === 'BYTES') return 'hex';
  return 'plain';
}

function exportExpr(c: ExportColumn): string {
  const col = ident(c.name);
  switch (c.text) {
    case 'epoch_us':
      return `(extract(epoch FROM ${col}) * 1000000)::bigint`;
    case 'hex':
      return `encode(${col}, 'hex')`;
    case 'json':
      return c.valueType === 'BYTES_LIST'
        ? `(SELECT json_agg(encode(x, 'hex'))::text FROM unnest(${col}) x)`
        : `array_to_json(${col})::text`;
    default:
      return col;
  }
}

/**
 * Streams the rows of one commit (from its staging table, or from the view table for a backfill) into `sink` and
 * records the file in the manifest, on `client` inside the caller's transaction. Rows are read in physical order, which
 * for a staging table is the input order (`__ord`).
 */
export async function exportCommit(
  client: PoolClient,
  schema: string,
  vv: ViewVersion,
  /**
   * Where the commit's rows are: a staging table (with `lastWins`, the columns that make rows exact duplicates: only
   * the last of each such group in input order is exported, as the commit keeps it), or a view table's rows of
   * `commitSeq` (a backfill).
   */
  source: { table: string; commitSeq?: number; lastWins?: string[] },
  commit: { seq: number; ingestionId: string },
  sink: CommitFileSink,
  viewCols: { name: string; valueType: ValueTypeName }[],
): Promise<WrittenCommitFile> {
  const columns: ExportColumn[] = [
    ...viewCols.map((c) => ({ name: c.name, valueType: c.valueType, text: textOf(c.valueType) })),
    { name: '__ord', valueType: 'INT64', text: 'plain' },
  ];
  const where = source.commitSeq === undefined ? '' : ` WHERE "__commit_seq" = ${Number(source.commitSeq)}`;
  // A synchronized seq scan may start mid-table; off, the scan (and row_number) follows the physical order.
  await client.query('SET LOCAL synchronize_seqscans = off');
  const numbered = `(SELECT *, (row_number() OVER () - 1) AS "__ord" FROM ${qualified(schema, source.table)}${where}) AS numbered`;
  const rowsOf = source.lastWins?.length
    ? `(SELECT DISTINCT ON (${source.lastWins.join(', ')}) * FROM ${numbered} ORDER BY ${source.lastWins.join(', ')}, "__ord" DESC) AS last_wins`
    : numbered;
  const exprs = [...columns.slice(0, -1).map(exportExpr), '"__ord"'];
  const csv = client.query(
    copyTo(
      `COPY (SELECT ${exprs.join(', ')} FROM ${rowsOf}${source.lastWins?.length ? ' ORDER BY "__ord"' : ''}) TO STDOUT WITH (FORMAT csv)`,
    ),
  );
  const out = await sink.write({ view: vv, commitSeq: commit.seq, ingestionId: commit.ingestionId, columns, csv });
  await client.query(
    `INSERT INTO ${qualified(schema, 'commit_files')}
       (commit_seq, project, view, version, ingestion_id, path, rows, bytes, key_time_unique, min_event_us, max_event_us)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`,
    [
      commit.seq,
      vv.project,
      vv.name,
      vv.version,
      commit.ingestionId,
      out.path,
      out.rows,
      out.bytes,
      out.facts?.keyTimeUnique ?? null,
      out.facts?.minEventUs ?? null,
      out.facts?.maxEventUs ?? null,
    ],
  );
  return out;
}

/**
 * Every commit of a view version, in commit order, with its columnar file (null when it has none yet: a commit made
 * before columnar copies were configured, until a backfill writes it).
 */
export async function commitFiles(pool: Pool, schema: string, vv: ViewVersion): Promise<CommitFile[]> {
  const { rows } = await pool.query(
    `SELECT i.commit_seq, i.id, f.path, COALESCE(f.rows, i.row_count) AS rows, COALESCE(f.bytes, 0) AS bytes, i.committed_at,
       f.key_time_unique, f.min_event_us, f.max_event_us
     FROM ${qualified(schema, 'ingestions')} i LEFT JOIN ${qualified(schema, 'commit_files')} f ON f.commit_seq = i.commit_seq
     WHERE i.project = $1 AND i.view = $2 AND i.version = $3 AND i.status = 'committed'
     ORDER BY i.commit_seq`,
    [vv.project, vv.name, vv.version],
  );
  return rows.map((r) => ({
    commitSeq: Number(r.commit_seq),
    ingestionId: r.id,
    path: r.path ?? null,
    rows: Number(r.rows),
    bytes: Number(r.bytes),
    committedAt: r.committed_at,
    keyTimeUnique: r.key_time_unique ?? null,
    minEventUs: r.min_event_us === null || r.min_event_us === undefined ? null : BigInt(r.min_event_us),
    maxEventUs: r.max_event_us === null || r.max_event_us === undefined ? null : BigInt(r.max_event_us),
  }));
}

/** Committed ingestions (of one view version, or of every view) that have no columnar file yet: what a backfill writes. */
export async function commitsWithoutFiles(
  pool: Pool,
  schema: string,
  filter: { project: string; view?: string; version?: number },
): Promise<{ commitSeq: number; ingestionId: string; view: string; version: number }[]> {
  const { rows } = await pool.query(
    `SELECT i.commit_seq, i.id, i.view, i.version FROM ${qualified(schema, 'ingestions')} i
     WHERE i.project = $1 AND ($2::text IS NULL OR i.view = $2) AND ($3::int IS NULL OR i.version = $3)
       AND i.status = 'committed'
       AND NOT EXISTS (SELECT 1 FROM ${qualified(schema, 'commit_files')} f WHERE f.commit_seq = i.commit_seq)
     ORDER BY i.commit_seq`,
    [filter.project, filter.view ?? null, filter.version ?? null],
  );
  return rows.map((r) => ({ commitSeq: Number(r.commit_seq), ingestionId: r.id, view: r.view, version: r.version }));
}

/** Columnar files of a project (or one view version) written before their facts were kept (CommitFileFacts). */
export async function filesWithoutFacts(
  pool: Pool,
  schema: string,
  filter: { project: string; view?: string; version?: number },
): Promise<{ commitSeq: number; view: string; version: number; path: string }[]> {
  const { rows } = await pool.query(
    `SELECT commit_seq, view, version, path FROM ${qualified(schema, 'commit_files')}
     WHERE project = $1 AND ($2::text IS NULL OR view = $2) AND ($3::int IS NULL OR version = $3) AND key_time_unique IS NULL
     ORDER BY commit_seq`,
    [filter.project, filter.view ?? null, filter.version ?? null],
  );
  return rows.map((r) => ({ commitSeq: Number(r.commit_seq), view: r.view, version: r.version, path: r.path }));
}

/** Records the facts of a file that had none (files are immutable, so facts read later are the file's own). */
export async function recordFileFacts(pool: Pool, schema: string, commitSeq: number, facts: CommitFileFacts): Promise<void> {
  await pool.query(
    `UPDATE ${qualified(schema, 'commit_files')} SET key_time_unique = $2, min_event_us = $3, max_event_us = $4
     WHERE commit_seq = $1 AND key_time_unique IS NULL`,
    [commitSeq, facts.keyTimeUnique, facts.minEventUs, facts.maxEventUs],
  );
}

/**
 * Writes the columnar file of every committed ingestion that has none (commits made before columnar copies were
 * configured), one transaction per commit, from the view table's rows of that commit. Idempotent and safe to run
 * beside commits and other backfills: a commit that got its file meanwhile is skipped.
 */
export async function backfillCommitFiles(
  store: {
    pool: Pool;
    schema: string;
    registry: { getView(project: string, view: string, version?: number): Promise<ViewVersion> };
  },
  sink: CommitFileSink,
  filter: { project: string; view?: string; version?: number },
  viewColumns: (vv: ViewVersion) => { name: string; valueType: ValueTypeName }[],
  onCommit?: (c: { commitSeq: number; view: string; rows: number }) => void,
): Promise<{ commits: number; rows: number }> {
  let commits = 0;
  let total = 0;
  for (const c of await commitsWithoutFiles(store.pool, store.schema, filter)) {
    const vv = await store.registry.getView(filter.project, c.view, c.version);
    let written: string | undefined;
    const client = await store.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`strata-commit-file:${store.schema}:${c.commitSeq}`]);
      const done = await client.query(`SELECT 1 FROM ${qualified(store.schema, 'commit_files')} WHERE commit_seq = $1`, [
        c.commitSeq,
      ]);
      if (done.rowCount) {
        await client.query('ROLLBACK');
        continue;
      }
      const out = await exportCommit(
        client,
        store.schema,
        vv,
        { table: vv.tableName, commitSeq: c.commitSeq },
        { seq: c.commitSeq, ingestionId: c.ingestionId },
        sink,
        viewColumns(vv),
      );
      written = out.path;
      await client.query('COMMIT');
      written = undefined;
      commits++;
      total += out.rows;
      onCommit?.({ commitSeq: c.commitSeq, view: c.view, rows: out.rows });
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      if (written) await sink.discard(written).catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }
  return { commits, rows: total };
}
