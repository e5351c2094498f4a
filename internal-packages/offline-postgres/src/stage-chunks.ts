/**
 * Resumable staging for a worker (the ingest workflow's staging step): the input goes to Postgres in chunks of about
 * `chunkRows` rows, each chunk its own unlogged table created and filled by COPY in one transaction (there whole or
 * not at all), and the caller heartbeats the cursor after each. A retry given the last cursor the server kept drops
 * the chunk tables after it (a killed attempt may have written more than it reported), continues at its row, and
 * builds the same chunks again. When the input ends, one transaction copies the chunks in order into the ingestion's
 * staging table (so its physical order is the input order, as the commit's last-wins rule needs), drops them and
 * marks the ingestion staged: a staged ingestion is whole, and a failed one leaves no chunk or staging table behind.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { invalidInput, StrataError } from '@strata/core';
import { from as copyFrom } from 'pg-copy-streams';
import { encodeRows, RowError } from './copy-encode.js';
import {
  type ColumnBatch,
  copyColumnsOf,
  type OfflineStore,
  type StageResult,
  stageLockKey,
  stagingError,
  viewColumns,
} from './offline.js';
import type { PoolClient } from './pool.js';
import type { ViewVersion } from './registry.js';
import { createStagingTable, ident, qualified, stagingTableName } from './sql.js';

/** Where a resumable staging load stands: input rows [0, rows) are in chunk tables 0 .. chunks-1. */
export interface StagingCursor {
  rows: number;
  chunks: number;
}

/** The prefix of an ingestion's chunk tables (`stc_<hash>_<chunk>`; not `stg_`, which the janitor sweeps). */
export function stagingChunkPrefix(ingestionId: string): string {
  return `stc_${createHash('sha1').update(ingestionId).digest('hex').slice(0, 24)}_`;
}

function chunkTable(ingestionId: string, chunk: number): string {
  return `${stagingChunkPrefix(ingestionId)}${String(chunk).padStart(6, '0')}`;
}

/** The chunk numbers of an ingestion's chunk tables that exist. */
async function chunkTables(client: PoolClient, schema: string, ingestionId: string): Promise<number[]> {
  const prefix = stagingChunkPrefix(ingestionId);
  const { rows } = await client.query<{ tablename: string }>(
    `SELECT tablename FROM pg_tables WHERE schemaname = $1 AND starts_with(tablename, $2)`,
    [schema, prefix],
  );
  return rows.map((r) => Number(r.tablename.slice(prefix.length))).sort((a, b) => a - b);
}

/** Drops an ingestion's chunk tables from `from` on (all of them by default). */
export async function dropStagingChunks(client: PoolClient, schema: string, ingestionId: string, from = 0): Promise<void> {
  for (const c of await chunkTables(client, schema, ingestionId)) {
    if (c >= from) await client.query(`DROP TABLE IF EXISTS ${qualified(schema, chunkTable(ingestionId, c))}`);
  }
}

export interface ResumableStageOptions {
  /** The workflow that owns the load: a retry resumes only an ingestion this workflow claimed. */
  workflowId: string;
  /** Rows per chunk (a chunk ends at the first batch boundary at or past it). */
  chunkRows: number;
  /** The last cursor the server kept: `batches` then starts at input row `resume.rows`. */
  resume?: StagingCursor;
  onChunk?: (cursor: StagingCursor) => void;
  source?: string;
  createdBy?: string;
}

/**
 * Stages `batches` (the input from row `resume.rows` on, or from its start) for ingestion `ingestionId`, chunk by
 * chunk; see the module comment. Returns the staged result and the final cursor. An ingestion this workflow already
 * staged (its last attempt finished the load but died before reporting it), or one already committed, is returned as
 * it is.
 */
export async function stageResumable(
  store: OfflineStore,
  vv: ViewVersion,
  ingestionId: string,
  batches: AsyncIterable<ColumnBatch>,
  opts: ResumableStageOptions,
): Promise<StageResult & { cursor: StagingCursor }> {
  const t = (name: string) => qualified(store.schema, name);
  const staging = stagingTableName(ingestionId);
  const cols = viewColumns(vv.spec, vv.joinKeys);
  const colList = cols.map((c) => ident(c.name)).join(', ');
  const client = await store.pool.connect();
  const lock = stageLockKey(store.schema, ingestionId);
  await client.query('SELECT pg_advisory_lock(hashtext($1), hashtext($2))', lock);
  let locked = true;
  let gone = false;
  const cursor: StagingCursor = opts.resume ? { ...opts.resume } : { rows: 0, chunks: 0 };
  try {
    const existing = await store.getIngestion(ingestionId);
    const sameView = existing?.project === vv.project && existing.view === vv.name;
    const ours = sameView && existing?.workflowId === opts.workflowId;
    // Already committed (by anyone), or staged by this workflow: nothing to stage; the workflow sees what it is.
    const finished = existing !== undefined && existing.status !== 'staging' && existing.status !== 'failed';
    if (existing && sameView && finished && (ours || existing.status === 'committed')) {
      return {
        ingestionId,
        stagingTable: existing.stagingTable ?? staging,
        rows: existing.rowCount,
        minEventTime: existing.minEventTime,
        maxEventTime: existing.maxEventTime,
        cursor: { rows: existing.rowCount, chunks: cursor.chunks },
      };
    }
    if (opts.resume) {
      if (!ours || existing?.status !== 'staging') {
        throw new StrataError(
          'CONFLICT',
          `ingestion '${ingestionId}' is no longer being staged by workflow '${opts.workflowId}' (status ${existing?.status ?? 'gone'})`,
          { hint: 'another submitter took the ingestion id over; ingest the file again under a new id' },
        );
      }
      const have = await chunkTables(client, store.schema, ingestionId);
      for (let c = 0; c < cursor.chunks; c++) {
        if (!have.includes(c)) {
          throw new StrataError('INTERNAL', `ingestion '${ingestionId}': staging chunk ${c} is missing`, {
            hint: 'ingest the file again',
          });
        }
      }
      await dropStagingChunks(client, store.schema, ingestionId, cursor.chunks);
    } else {
      // A fresh claim, as any stager makes it (a dead stager's leftovers are taken over), owned by this workflow.
      await client.query('SELECT pg_advisory_unlock(hashtext($1), hashtext($2))', lock);
      locked = false;
      try {
        await store.beginStaging(client, vv, ingestionId, staging, {
          ...(opts.source ? { source: opts.source } : {}),
          ...(opts.createdBy ? { createdBy: opts.createdBy } : {}),
        });
      } catch (err) {
        gone = true; // beginStaging released the client (and its lock) itself
        throw err;
      }
      locked = true;
      await client.query(`UPDATE ${t('ingestions')} SET workflow_id = $2 WHERE id = $1`, [ingestionId, opts.workflowId]);
      await dropStagingChunks(client, store.schema, ingestionId);
    }

    const it = batches[Symbol.asyncIterator]();
    let next = await it.next();
    while (!next.done) {
      const table = t(chunkTable(ingestionId, cursor.chunks));
      let rows = cursor.rows;
      const first = next.value;
      const encoded = async function* () {
        let batch: ColumnBatch | undefined = first;
        while (batch) {
          const copyCols = copyColumnsOf(vv, cols, batch);
          let text: string;
          try {
            text = encodeRows(copyCols, batch.numRows, rows, undefined, vv.spec.timestampField);
          } catch (err) {
            if (err instanceof RowError && batch.line) err.line = batch.line(err.row - rows - 1);
            throw err;
          }
          rows += batch.numRows;
          if (text) yield text;
          next = await it.next();
          batch = !next.done && rows - cursor.rows < opts.chunkRows ? next.value : undefined;
        }
      };
      await client.query('BEGIN');
      await client.query(`DROP TABLE IF EXISTS ${table}`);
      await createStagingTable(client, store.schema, vv.tableName, chunkTable(ingestionId, cursor.chunks), { unlogged: true });
      await pipeline(
        Readable.from(encoded()),
        client.query(copyFrom(`COPY ${table} (${colList}) FROM STDIN WITH (FORMAT csv, FREEZE true)`)),
      );
      await client.query('COMMIT');
      cursor.rows = rows;
      cursor.chunks += 1;
      opts.onChunk?.({ ...cursor });
    }

    // The chunks in order into the staging table, then the ingestion is staged: one transaction.
    const ts = ident(vv.spec.timestampField);
    await client.query('BEGIN');
    await client.query('SET LOCAL synchronize_seqscans = off');
    await client.query(`DROP TABLE IF EXISTS ${t(staging)}`);
    await createStagingTable(client, store.schema, vv.tableName, staging, { unlogged: true });
    for (let c = 0; c < cursor.chunks; c++) {
      const table = t(chunkTable(ingestionId, c));
      await client.query(`INSERT INTO ${t(staging)} (${colList}) SELECT ${colList} FROM ${table}`);
      await client.query(`DROP TABLE ${table}`);
    }
    const { rows } = await client.query<{ n: string; lo: Date | null; hi: Date | null }>(
      `SELECT count(*) AS n, min(${ts}) AS lo, max(${ts}) AS hi FROM ${t(staging)}`,
    );
    const n = Number(rows[0]?.n ?? 0);
    if (n === 0) throw invalidInput('the input has no rows', { hint: 'an ingestion must contain at least one row' });
    if (n !== cursor.rows) {
      throw new StrataError('INTERNAL', `ingestion '${ingestionId}': the chunks hold ${n} rows, the input ${cursor.rows}`);
    }
    const lo = rows[0]?.lo ?? null;
    const hi = rows[0]?.hi ?? null;
    await client.query(
      `UPDATE ${t('ingestions')} SET status = 'staged', staging_table = $2, row_count = $3, min_event_time = $4, max_event_time = $5 WHERE id = $1`,
      [ingestionId, staging, n, lo, hi],
    );
    await client.query('COMMIT');
    return { ingestionId, stagingTable: staging, rows: n, minEventTime: lo, maxEventTime: hi, cursor };
  } catch (err) {
    if (gone) throw err;
    await client.query('ROLLBACK').catch(() => {});
    const e = stagingError(err, opts.source);
    // Bad input never gets better: nothing is left behind. Anything else (a lost connection, a restart) keeps the
    // chunks for the retry, which resumes from its cursor.
    if (e.retryable === false && !(e.code === 'CONFLICT' && opts.resume)) {
      await dropStagingChunks(client, store.schema, ingestionId).catch(() => {});
      await client.query(`DROP TABLE IF EXISTS ${t(staging)}`).catch(() => {});
      await client
        .query(
          `UPDATE ${t('ingestions')} SET status = 'failed', staging_table = NULL, error = $2 WHERE id = $1 AND status = 'staging'`,
          [ingestionId, JSON.stringify(e.toJSON())],
        )
        .catch(() => {});
    }
    throw e;
  } finally {
    if (gone) {
      // released by beginStaging
    } else if (locked) await store.endStaging(client, ingestionId);
    else client.release();
  }
}
