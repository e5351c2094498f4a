/**
 * The fast path for CSV files whose columns already match the view: the file's bytes go to Postgres' COPY as they
 * are, while a streaming check (csv-check.ts) vouches for every field on the way: each value must be one that
 * Postgres reads exactly as the slow path (JS coercion) would store it. When the check cannot vouch for a value, or
 * Postgres refuses one anyway, the fast path stops, leaves nothing behind, and the caller ingests the file on the
 * slow path, which gives the verdict (the value, or an error naming its line and column). So both paths give every
 * value the same verdict, wherever it is in the file. The row count is COPY's, the event-time range the check's (it
 * reads every event time anyway), so the table is not scanned again. Memory is one read buffer.
 *
 * Not eligible at all (the caller goes straight to the slow path): a header that is not exactly the view's columns,
 * list or bytes columns, a byte-order mark, or a first MB whose values the check already cannot vouch for.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalidInput, StrataError } from '@strata/core';
import { from as copyFrom } from 'pg-copy-streams';
import { CsvCheckStream, type CsvCheckColumn, CsvChecker, CsvFallback, fastPathType } from './csv-check.js';
import { type OfflineStore, type StageResult, translatePgError, viewColumns } from './offline.js';
import type { ViewVersion } from './registry.js';
import { ident, qualified, stagingTableName } from './sql.js';

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
  if (cols.some((c) => !fastPathType(c.valueType))) return undefined;
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
  // The same check as the stream's, on the first MB: a file it already cannot vouch for goes to the slow path now.
  try {
    new CsvChecker(checkColumns(vv, header)).check(Buffer.from(text), text.length < sampleBytes);
  } catch (err) {
    if (err instanceof CsvFallback) return undefined;
    throw err;
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

/** The columns of the header in file order, for the check (join keys and the event time are required). */
function checkColumns(vv: ViewVersion, header: string[]): CsvCheckColumn[] {
  const cols = new Map(viewColumns(vv.spec, vv.joinKeys).map((c) => [c.name, c]));
  return header.map((h) => {
    const c = cols.get(h);
    if (!c) throw new Error(`column ${h} is not in the view`);
    return { valueType: c.valueType, required: Boolean(c.required), range: h === vv.spec.timestampField };
  });
}

/**
 * Stages a CSV file by passing its bytes to COPY (see csvFastPathHeader). Returns undefined, having left nothing
 * behind (no staging table, no ingestion record), when the file must be ingested on the slow path instead. On any
 * other error the staging table is dropped and the ingestion is marked failed: nothing is half-written.
 */
export async function stageCsvFile(
  store: OfflineStore,
  vv: ViewVersion,
  ingestionId: string,
  path: string,
  header: string[],
  opts: { source?: string; createdBy?: string; onProgress?: (rows: number) => void } = {},
): Promise<StageResult | undefined> {
  const t = (n: string) => qualified(store.schema, n);
  const staging = stagingTableName(ingestionId);
  const client = await store.pool.connect();
  // On failure beginStaging releases the client itself.
  await store.beginStaging(client, vv, ingestionId, staging, {
    source: opts.source ?? path,
    ...(opts.createdBy ? { createdBy: opts.createdBy } : {}),
  });
  let released = false;
  try {
    await client.query(`SET TIME ZONE 'UTC'`);
    // The staging table is created and filled in one transaction: a crash or an error at any point leaves no table.
    await client.query('BEGIN');
    await store.createStagingTable(client, vv, staging);
    const counter = new LineCounter(opts.onProgress);
    const check = new CsvCheckStream(checkColumns(vv, header));
    // FREEZE (allowed: the table was created in this transaction, and no one can see it before it commits): the rows
    // are written frozen and their pages marked all-visible, so the table is never written again for them: no hint
    // bits set by its first scan (the attach's CHECK, the index build), no freezing by autovacuum later, which a big
    // commit attached as its partition (immutable from then on) would otherwise get in full some day.
    const copy = client.query(
      copyFrom(`COPY ${t(staging)} (${header.map(ident).join(', ')}) FROM STDIN WITH (FORMAT csv, HEADER true, FREEZE true)`),
    );
    await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), check, counter, copy);
    // Row count and event-time range without scanning the table again: COPY counts the rows it stored, and the check,
    // which read every event time to vouch for it, kept the smallest and largest instant (Postgres' own reading of
    // the value, in UTC). The two counts must agree, or the slow path decides.
    const n = copy.rowCount;
    if (n !== check.records) throw new CsvFallback(1, `COPY stored ${n} rows where the check read ${check.records}`);
    if (n === 0) throw new CsvFallback(1, 'no rows (the slow path says so)');
    opts.onProgress?.(n);
    const { min, max } = check.range;
    const lo = Number.isNaN(min) ? null : new Date(min);
    const hi = Number.isNaN(max) ? null : new Date(max);
    await client.query(
      `UPDATE ${t('ingestions')} SET status = 'staged', row_count = $2, min_event_time = $3, max_event_time = $4 WHERE id = $1`,
      [ingestionId, n, lo, hi],
    );
    await client.query('COMMIT');
    return { ingestionId, stagingTable: staging, rows: n, minEventTime: lo, maxEventTime: hi };
  } catch (err) {
    // The check could not vouch for a value, or Postgres refused one: the slow path decides. Leave nothing behind.
    const code = (err as { code?: string }).code;
    if (err instanceof CsvFallback || (typeof code === 'string' && /^(22|23)/.test(code))) {
      // Close the connection of the interrupted COPY first (its backend ends and lets go of the table), then clean up.
      released = true;
      client.release(true);
      await store.pool.query(`DROP TABLE IF EXISTS ${t(staging)}`);
      await store.pool.query(`DELETE FROM ${t('ingestions')} WHERE id = $1 AND status = 'staging'`, [ingestionId]);
      return undefined;
    }
    const e = err instanceof StrataError ? err : copyError(err, path);
    // The transaction created the table: rolling it back removes it (and a lost connection did the same).
    await client.query('ROLLBACK').catch(() => {});
    await client.query(`DROP TABLE IF EXISTS ${t(staging)}`).catch(() => {});
    await store.pool
      .query(`UPDATE ${t('ingestions')} SET status = 'failed', staging_table = NULL, error = $2 WHERE id = $1`, [
        ingestionId,
        JSON.stringify(e.toJSON()),
      ])
      .catch(() => {});
    throw e;
  } finally {
    if (!released) {
      await client.query('RESET TIME ZONE').catch(() => {});
      await store.endStaging(client, ingestionId);
    }
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
