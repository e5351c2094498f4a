/**
 * The fast path for CSV files whose columns already match the view: the file's bytes go to Postgres' COPY as they
 * are (no per-value JavaScript work), after cheap checks on a sample decide the file fits. Postgres parses and types
 * every value; a bad one fails the COPY with its line and column, which becomes an INVALID_INPUT error. Row count
 * and event-time range come from one scan of the staging table afterwards. Memory is one read buffer.
 *
 * Not eligible (the caller falls back to the batch path, which coerces every value in JS): a header that is not
 * exactly the view's columns, list or bytes columns, a byte-order mark, text timestamps that are not ISO 8601, or
 * epoch-seconds timestamps.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalidInput, isListType, StrataError, type ValueTypeName } from '@strata/core';
import { from as copyFrom } from 'pg-copy-streams';
import { type OfflineStore, type StageResult, translatePgError, viewColumns } from './offline.js';
import type { ViewVersion } from './registry.js';
import { ident, qualified, stagingTableName } from './sql.js';

const TS_RE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|z|UTC|[+-]\d{2}(:?\d{2})?)?$/;
const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^([+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)|[+-]?(nan|NaN|inf|Inf|infinity|Infinity))$/;
const BOOL_RE = /^(true|false|t|f|yes|no|1|0)$/i;

function sampleOk(t: ValueTypeName, v: string): boolean {
  if (v === '') return true;
  switch (t) {
    case 'UNIX_TIMESTAMP':
      return TS_RE.test(v);
    case 'INT32':
    case 'INT64':
      return INT_RE.test(v);
    case 'FLOAT':
    case 'DOUBLE':
      return FLOAT_RE.test(v);
    case 'BOOL':
      return BOOL_RE.test(v);
    case 'STRING':
      return true;
    default:
      return false;
  }
}

/** Splits simple CSV lines (quoted fields allowed) for the sample check. */
function splitLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let j = i + 1;
      let s = '';
      for (;;) {
        const q = line.indexOf('"', j);
        if (q < 0) return out; // a quoted newline: the sample ends here
        s += line.slice(j, q);
        if (line[q + 1] === '"') {
          s += '"';
          j = q + 2;
        } else {
          j = q + 1;
          break;
        }
      }
      out.push(s);
      i = j + 1;
    } else {
      const c = line.indexOf(',', i);
      const end = c < 0 ? line.length : c;
      out.push(line.slice(i, end).trim());
      i = end + 1;
    }
  }
  return out;
}

/**
 * Decides whether a CSV file can go to COPY as it is: returns the header (the column order for COPY), or undefined.
 */
export async function csvFastPathHeader(vv: ViewVersion, path: string, sampleBytes = 1 << 20): Promise<string[] | undefined> {
  const cols = viewColumns(vv.spec, vv.joinKeys);
  if (cols.some((c) => isListType(c.valueType) || c.valueType === 'BYTES')) return undefined;
  const fh = await open(path, 'r');
  let text: string;
  try {
    const buf = Buffer.alloc(sampleBytes);
    const { bytesRead } = await fh.read(buf, 0, sampleBytes, 0);
    if (bytesRead >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) return undefined;
    text = buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
  const lines = text.split(/\r?\n/);
  if (text.length === sampleBytes) lines.pop(); // the last line may be cut
  const header = splitLine(lines[0] ?? '');
  const types = new Map(cols.map((c) => [c.name, c.valueType]));
  if (header.length !== cols.length || new Set(header).size !== header.length || !header.every((h) => types.has(h)))
    return undefined;
  for (const line of lines.slice(1, 2001)) {
    if (!line) continue;
    const cells = splitLine(line);
    if (cells.length !== header.length) return undefined;
    for (let i = 0; i < cells.length; i++)
      if (!sampleOk(types.get(header[i] as string) as ValueTypeName, cells[i] as string)) return undefined;
  }
  return header;
}

/** Counts newlines as bytes pass (for progress; quoted newlines make it approximate). */
class LineCounter extends Transform {
  lines = 0;
  constructor(private readonly onLines?: (n: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    let i = -1;
    for (;;) {
      i = chunk.indexOf(10, i + 1);
      if (i < 0) break;
      this.lines++;
    }
    this.onLines?.(Math.max(0, this.lines - 1));
    cb(null, chunk);
  }
}

/**
 * Stages a CSV file by passing its bytes to COPY (see csvFastPathHeader). On any error the staging table is dropped
 * and the ingestion is marked failed: nothing is half-written.
 */
export async function stageCsvFile(
  store: OfflineStore,
  vv: ViewVersion,
  ingestionId: string,
  path: string,
  header: string[],
  opts: { source?: string; createdBy?: string; onProgress?: (rows: number) => void } = {},
): Promise<StageResult> {
  const t = (n: string) => qualified(store.schema, n);
  const staging = stagingTableName(ingestionId);
  const client = await store.pool.connect();
  // On failure beginStaging releases the client itself.
  await store.beginStaging(client, vv, ingestionId, staging, {
    source: opts.source ?? path,
    ...(opts.createdBy ? { createdBy: opts.createdBy } : {}),
  });
  try {
    await client.query(`SET TIME ZONE 'UTC'`);
    await client.query(`CREATE UNLOGGED TABLE ${t(staging)} (LIKE ${t(vv.tableName)} INCLUDING DEFAULTS)`);
    await client.query(`ALTER TABLE ${t(staging)} DROP COLUMN "__ingestion_id", DROP COLUMN "__commit_seq"`);
    const counter = new LineCounter(opts.onProgress);
    await pipeline(
      createReadStream(path, { highWaterMark: 1 << 20 }),
      counter,
      client.query(copyFrom(`COPY ${t(staging)} (${header.map(ident).join(', ')}) FROM STDIN WITH (FORMAT csv, HEADER true)`)),
    );
    const ts = ident(vv.spec.timestampField);
    const { rows } = await client.query<{ n: string; lo: Date | null; hi: Date | null }>(
      `SELECT count(*) AS n, min(${ts}) AS lo, max(${ts}) AS hi FROM ${t(staging)}`,
    );
    const n = Number(rows[0]?.n ?? 0);
    if (n === 0) throw invalidInput('the input has no rows', { hint: 'an ingestion must contain at least one row' });
    opts.onProgress?.(n);
    const lo = rows[0]?.lo ?? null;
    const hi = rows[0]?.hi ?? null;
    await client.query(
      `UPDATE ${t('ingestions')} SET status = 'staged', row_count = $2, min_event_time = $3, max_event_time = $4 WHERE id = $1`,
      [ingestionId, n, lo, hi],
    );
    return { ingestionId, stagingTable: staging, rows: n, minEventTime: lo, maxEventTime: hi };
  } catch (err) {
    const e = err instanceof StrataError ? err : copyError(err, path);
    await client.query(`DROP TABLE IF EXISTS ${t(staging)}`).catch(() => {});
    await store.pool
      .query(`UPDATE ${t('ingestions')} SET status = 'failed', staging_table = NULL, error = $2 WHERE id = $1`, [
        ingestionId,
        JSON.stringify(e.toJSON()),
      ])
      .catch(() => {});
    throw e;
  } finally {
    await client.query('RESET TIME ZONE').catch(() => {});
    await store.endStaging(client, ingestionId);
  }
}

/** A COPY error with the file's line and column ("COPY stg_x, line 3, column user_id: \"abc\""). */
function copyError(err: unknown, path: string): StrataError {
  const e = err as { code?: string; message?: string; where?: string; column?: string };
  const m = /line (\d+)(?:, column (\w+))?/.exec(e.where ?? '');
  if (e.code === '23502' && m && e.column) {
    // NOT NULL: the message would name the internal staging table; say it in the view's terms instead.
    return invalidInput(`column '${e.column}' is null or missing; it is required (join key or event timestamp)`, {
      where: `${path}, line ${m[1]}, column '${e.column}'`,
      details: { line: Number(m[1]), column: e.column },
    });
  }
  if (e.code && /^(22|23)/.test(e.code) && m) {
    return invalidInput(`${e.message}`, {
      where: `${path}, line ${m[1]}${m[2] ? `, column '${m[2]}'` : ''}`,
      details: { line: Number(m[1]), ...(m[2] ? { column: m[2] } : {}) },
    });
  }
  return translatePgError(err, path);
}
