/**
 * Output files written batch by batch (CSV, JSON lines, Arrow IPC, Parquet): memory stays bounded by one record
 * batch. A file appears whole or not at all: it is written to a temporary name beside the target and renamed at the
 * end; on any error the temporary file is removed.
 */
import { createWriteStream } from 'node:fs';
import { access, constants, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ReadableStream } from 'node:stream/web';
import { invalidInput } from '@strata/core';
import * as arrow from 'apache-arrow';

/**
 * `parquet-dataset`: a folder of Parquet parts read as one dataset (pyarrow.dataset, pandas, DuckDB
 * `read_parquet('<dir>/*.parquet')`), written by the columnar engine's training-set workflow without a merge pass;
 * named explicitly only (a folder has no extension).
 */
export type OutputFormat = 'csv' | 'jsonl' | 'arrow' | 'parquet' | 'parquet-dataset';

/** The marker file of a finished folder dataset (a JSON manifest of its parts; readers skip `_` names). */
export const DATASET_MARKER = '_SUCCESS';

/** The output format from an explicit name or the file extension. */
export function outputFormat(path: string, format?: string): OutputFormat {
  const f = (format ?? path.split('.').pop() ?? '').toLowerCase();
  if (format !== undefined && f === 'parquet-dataset') return 'parquet-dataset';
  if (f === 'csv' || f === 'tsv') return 'csv';
  if (f === 'jsonl' || f === 'ndjson' || f === 'json') return 'jsonl';
  if (f === 'arrow' || f === 'ipc' || f === 'feather' || f === 'arrows') return 'arrow';
  if (f === 'parquet' || f === 'pq') return 'parquet';
  throw invalidInput(`cannot tell the output format of ${path}`, {
    where: path,
    hint: "name it .csv, .parquet, .arrow or .jsonl, or pass the format explicitly (also 'parquet-dataset': a folder of parts)",
  });
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (typeof v === 'object') {
    const arr = Array.from(v as Iterable<unknown>, (x) => (typeof x === 'bigint' ? Number(x) : x));
    return csvEscape(JSON.stringify(arr));
  }
  return csvEscape(String(v));
}

function csvEscape(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function isTimestamp(t: arrow.DataType): boolean {
  return arrow.DataType.isTimestamp(t) || arrow.DataType.isDate(t);
}

function jsonCell(v: unknown, ts: boolean): unknown {
  if (v === null || v === undefined) return null;
  if (ts && typeof v === 'number') return new Date(v).toISOString();
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (typeof v === 'object' && Symbol.iterator in (v as object))
    return Array.from(v as Iterable<unknown>, (x) => jsonCell(x, false));
  return v;
}

function textLines(batch: arrow.RecordBatch, format: 'csv' | 'jsonl'): string {
  const fields = batch.schema.fields;
  const ts = fields.map((f) => isTimestamp(f.type));
  const cols = fields.map((f) => batch.getChild(f.name) as arrow.Vector);
  const lines: string[] = new Array(batch.numRows);
  for (let i = 0; i < batch.numRows; i++) {
    if (format === 'csv') {
      let line = '';
      for (let j = 0; j < cols.length; j++) {
        const v = (cols[j] as arrow.Vector).get(i);
        if (j) line += ',';
        line += ts[j] && typeof v === 'number' ? new Date(v).toISOString() : cell(v);
      }
      lines[i] = line;
    } else {
      lines[i] = JSON.stringify(Object.fromEntries(fields.map((f, j) => [f.name, jsonCell(cols[j]?.get(i), ts[j] as boolean)])));
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** Text (CSV, JSON lines) or Arrow IPC bytes of each batch, in order; the CSV header comes first. */
async function* encodeBatches(
  batches: AsyncIterable<arrow.RecordBatch>,
  format: 'csv' | 'jsonl' | 'arrow',
  count: (n: number) => void,
): AsyncGenerator<string | Uint8Array> {
  if (format === 'arrow') {
    const writer = new arrow.RecordBatchFileWriter();
    const out = writer.toNodeStream() as AsyncIterable<Uint8Array>;
    let failure: unknown;
    const feed = (async () => {
      try {
        for await (const b of batches) {
          writer.write(b);
          count(b.numRows);
        }
      } catch (err) {
        failure = err ?? new Error('source failed');
      } finally {
        writer.finish();
      }
    })();
    for await (const chunk of out) yield chunk;
    await feed;
    if (failure) throw failure;
    return;
  }
  let first = true;
  for await (const b of batches) {
    if (first && format === 'csv') yield `${b.schema.fields.map((f) => csvEscape(f.name)).join(',')}\n`;
    first = false;
    count(b.numRows);
    const text = textLines(b, format);
    if (text) yield text;
  }
}

async function* parquetStream(batches: AsyncIterable<arrow.RecordBatch>, count: (n: number) => void): AsyncGenerator<Uint8Array> {
  const pq = await import('parquet-wasm');
  let failure: unknown;
  const wasmBatches = (async function* () {
    try {
      for await (const b of batches) {
        if (!b.numRows) continue;
        const t = pq.Table.fromIPCStream(arrow.tableToIPC(new arrow.Table([b]), 'stream'));
        for (const rb of t.recordBatches()) yield rb;
        count(b.numRows);
      }
    } catch (err) {
      // The Parquet transform may end its output quietly when its input fails: remember the failure.
      failure = err ?? new Error('source failed');
      throw err;
    }
  })();
  const out = await pq.transformParquetStream(ReadableStream.from(wasmBatches));
  for await (const chunk of Readable.fromWeb(out as never)) yield chunk as Uint8Array;
  if (failure) throw failure;
}

/** Fails fast (before any work) when `path` cannot be written. */
export async function checkWritable(path: string, format?: string): Promise<void> {
  outputFormat(path, format);
  const dir = dirname(path);
  try {
    await access(dir, constants.W_OK);
  } catch {
    throw invalidInput(`cannot write ${path}: folder ${dir} does not exist or is not writable`, {
      where: path,
      hint: 'create the folder or choose another output path',
    });
  }
  const st = await stat(path).catch(() => undefined);
  if (outputFormat(path, format) === 'parquet-dataset') {
    if (st) {
      throw invalidInput(`cannot write the folder dataset ${path}: the path exists`, {
        where: path,
        hint: 'a folder dataset is created whole under a new name; remove it or choose another path',
      });
    }
    return;
  }
  if (st?.isDirectory()) throw invalidInput(`cannot write ${path}: it is a folder`, { where: path });
}

/**
 * Writes record batches to a file batch by batch (memory stays bounded by one batch). The file appears whole or not
 * at all: it is written to a temporary name beside the target and renamed at the end; on any error the temporary
 * file is removed.
 */
export async function writeBatches(
  batches: AsyncIterable<arrow.RecordBatch> | Iterable<arrow.RecordBatch>,
  path: string,
  opts: { format?: string; onRows?: (rows: number) => void } = {},
): Promise<{ path: string; rows: number }> {
  const format = outputFormat(path, opts.format);
  if (format === 'parquet-dataset') {
    throw invalidInput("a folder dataset (parquet-dataset) is written by the columnar engine's training-set workflow only", {
      where: path,
      hint: 'start the training set with startTrainingSet on offline.engine: columnar, or write one .parquet file',
    });
  }
  await checkWritable(path, format);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  let rows = 0;
  const count = (n: number) => {
    rows += n;
    opts.onRows?.(rows);
  };
  const source = (async function* () {
    yield* batches;
  })();
  try {
    const chunks = format === 'parquet' ? parquetStream(source, count) : encodeBatches(source, format, count);
    await pipeline(Readable.from(chunks), createWriteStream(tmp));
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EISDIR' || code === 'ENOSPC' || code === 'ENOENT') {
      throw invalidInput(`cannot write ${path}: ${(err as Error).message}`, { where: path });
    }
    throw err;
  }
  return { path, rows };
}

/** A record batch with no rows (so a writer still learns the schema of an empty result). */
export function emptyBatch(schema: arrow.Schema): arrow.RecordBatch {
  const children = schema.fields.map((f) => arrow.makeData({ type: f.type, length: 0, nullCount: 0 } as never) as arrow.Data);
  return new arrow.RecordBatch(
    schema,
    arrow.makeData({ type: new arrow.Struct(schema.fields), length: 0, nullCount: 0, children }),
  );
}
