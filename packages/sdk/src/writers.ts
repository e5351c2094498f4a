/**
 * Writes Arrow tables to CSV, Parquet, Arrow IPC or JSON lines. The file appears whole or not at all: it is written
 * to a temporary name beside the target and renamed at the end.
 */
import { checkWritable as checkOut, emptyBatch, writeBatches as writeOut } from '@strata/offline-postgres';
import * as arrow from 'apache-arrow';
import { detectFormat } from './readers.js';

/** Fails fast (before any work) when `path` cannot be written. */
export function checkWritable(path: string, format?: string): Promise<void> {
  // A folder dataset (the columnar training-set workflow's output) is an output format only, never read back here.
  if (format?.toLowerCase() === 'parquet-dataset') return checkOut(path, 'parquet-dataset');
  return checkOut(path, detectFormat(path, format));
}

/** Writes record batches to a file batch by batch; the file appears whole or not at all. */
export function writeBatches(
  batches: AsyncIterable<arrow.RecordBatch> | Iterable<arrow.RecordBatch>,
  path: string,
  opts: { format?: string; onRows?: (rows: number) => void } = {},
): Promise<{ path: string; rows: number }> {
  return writeOut(batches, path, { ...opts, format: detectFormat(path, opts.format) });
}

function isTimestamp(t: arrow.DataType): boolean {
  return arrow.DataType.isTimestamp(t) || arrow.DataType.isDate(t);
}

function jsonCell(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (typeof v === 'object' && Symbol.iterator in (v as object)) return Array.from(v as Iterable<unknown>, (x) => jsonCell(x));
  return v;
}

export async function writeTable(
  table: arrow.Table,
  path: string,
  opts: { format?: string } = {},
): Promise<{ path: string; rows: number }> {
  const batches = table.batches.length ? table.batches : [emptyBatch(table.schema)];
  return writeBatches(batches, path, opts);
}

/** A small table as aligned text, for terminals. */
export function formatTable(table: arrow.Table, maxRows = 20): string {
  const fields = table.schema.fields;
  const rows: string[][] = [fields.map((f) => f.name)];
  const n = Math.min(table.numRows, maxRows);
  for (let i = 0; i < n; i++) {
    rows.push(
      fields.map((f) => {
        const v = table.getChild(f.name)?.get(i);
        if (v === null || v === undefined) return 'null';
        if (isTimestamp(f.type) && typeof v === 'number') return new Date(v).toISOString().replace('.000Z', 'Z');
        if (typeof v === 'number' && !Number.isInteger(v)) return String(Math.round(v * 1e6) / 1e6);
        return typeof v === 'object' ? JSON.stringify(jsonCell(v)) : String(v);
      }),
    );
  }
  const widths = fields.map((_f, j) => Math.max(...rows.map((r) => (r[j] as string).length)));
  const lines = rows.map((r) => r.map((c, j) => c.padEnd(widths[j] as number)).join('  '));
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  if (table.numRows > n) lines.push(`... ${table.numRows - n} more rows`);
  return lines.join('\n');
}
