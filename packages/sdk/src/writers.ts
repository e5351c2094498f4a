/**
 * Writes Arrow tables to CSV, Parquet, Arrow IPC or JSON lines. The file appears whole or not at all: it is written
 * to a temporary name beside the target and renamed at the end.
 */
import { createWriteStream } from 'node:fs';
import { access, constants, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { finished } from 'node:stream/promises';
import { invalidInput } from '@strata/core';
import * as arrow from 'apache-arrow';
import { detectFormat } from './readers.js';

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

async function writeRowsText(table: arrow.Table, path: string, format: 'csv' | 'jsonl'): Promise<void> {
  const out = createWriteStream(path);
  const fields = table.schema.fields;
  const ts = fields.map((f) => isTimestamp(f.type));
  if (format === 'csv') out.write(`${fields.map((f) => csvEscape(f.name)).join(',')}\n`);
  for (const batch of table.batches) {
    const cols = fields.map((f) => batch.getChild(f.name) as arrow.Vector);
    const lines: string[] = [];
    for (let i = 0; i < batch.numRows; i++) {
      if (format === 'csv') {
        lines.push(
          cols
            .map((c, j) => {
              const v = c.get(i);
              return ts[j] && typeof v === 'number' ? new Date(v).toISOString() : cell(v);
            })
            .join(','),
        );
      } else {
        lines.push(
          JSON.stringify(Object.fromEntries(fields.map((f, j) => [f.name, jsonCell(cols[j]?.get(i), ts[j] as boolean)]))),
        );
      }
    }
    if (lines.length && !out.write(`${lines.join('\n')}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  out.end();
  await finished(out);
}

export async function writeTable(
  table: arrow.Table,
  path: string,
  opts: { format?: string } = {},
): Promise<{ path: string; rows: number }> {
  const format = detectFormat(path, opts.format);
  const dir = dirname(path);
  try {
    await access(dir, constants.W_OK);
  } catch {
    throw invalidInput(`cannot write ${path}: folder ${dir} does not exist or is not writable`, {
      where: path,
      hint: 'create the folder or choose another output path',
    });
  }
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  try {
    if (format === 'csv' || format === 'jsonl') await writeRowsText(table, tmp, format);
    else if (format === 'arrow') await writeFile(tmp, arrow.tableToIPC(table, 'file'));
    else {
      const pq = await import('parquet-wasm');
      const wasmTable = pq.Table.fromIPCStream(arrow.tableToIPC(table, 'stream'));
      await writeFile(tmp, pq.writeParquet(wasmTable));
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    if ((err as NodeJS.ErrnoException).code === 'EACCES' || (err as NodeJS.ErrnoException).code === 'EISDIR') {
      throw invalidInput(`cannot write ${path}: ${(err as Error).message}`, { where: path });
    }
    throw err;
  }
  return { path, rows: table.numRows };
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
        return typeof v === 'object' ? JSON.stringify(jsonCell(v, false)) : String(v);
      }),
    );
  }
  const widths = fields.map((_f, j) => Math.max(...rows.map((r) => (r[j] as string).length)));
  const lines = rows.map((r) => r.map((c, j) => c.padEnd(widths[j] as number)).join('  '));
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  if (table.numRows > n) lines.push(`... ${table.numRows - n} more rows`);
  return lines.join('\n');
}
