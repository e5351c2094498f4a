/**
 * File readers: CSV, Parquet, Arrow IPC and JSON lines, each read in batches so memory stays bounded whatever the
 * file size. They yield ColumnBatches for staging; `readTable` collects a small file into an Arrow table.
 */
import { accessSync, constants, createReadStream, openAsBlob, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import {
  type FeatureViewSpec,
  invalidInput,
  parseTimestamp,
  StrataError,
  tableFromColumns,
  type ValueTypeName,
} from '@strata/core';
import { arrowColumnBatch, type ColumnBatch } from '@strata/offline-postgres';
import * as arrow from 'apache-arrow';
import { parse as parseCsv } from 'csv-parse';
import { checkUniqueColumns, inferCsvTypes, readCsvArrow } from './csv-arrow.js';

export { checkUniqueColumns };

export type FileFormat = 'csv' | 'parquet' | 'arrow' | 'jsonl';

export function detectFormat(path: string, format?: string): FileFormat {
  if (format) {
    const f = format.toLowerCase();
    if (f === 'csv' || f === 'parquet' || f === 'arrow' || f === 'jsonl') return f;
    if (f === 'ipc' || f === 'feather') return 'arrow';
    if (f === 'json' || f === 'ndjson') return 'jsonl';
    throw invalidInput(`unknown file format '${format}'`, { hint: 'use csv, parquet, arrow or jsonl' });
  }
  const lower = path.toLowerCase();
  if (lower.endsWith('.csv') || lower.endsWith('.tsv')) return 'csv';
  if (lower.endsWith('.parquet') || lower.endsWith('.pq')) return 'parquet';
  if (lower.endsWith('.arrow') || lower.endsWith('.feather') || lower.endsWith('.ipc') || lower.endsWith('.arrows'))
    return 'arrow';
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson') || lower.endsWith('.json')) return 'jsonl';
  throw invalidInput(`cannot tell the format of ${path} from its extension`, {
    where: path,
    hint: 'name it .csv, .parquet, .arrow or .jsonl, or pass the format explicitly',
  });
}

/** Refuses a path that is missing, not a file, unreadable or empty with a clear error (before any reader opens it). */
export function checkFile(path: string): void {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw invalidInput(`file ${path} does not exist`, {
        where: path,
        hint: 'check the path (it is read relative to the current directory)',
      });
    }
    throw invalidInput(`cannot read ${path}: ${(err as Error).message}`, {
      where: path,
      hint: 'check the path and its permissions',
    });
  }
  if (!st.isFile())
    throw invalidInput(`${path} is not a file`, { where: path, hint: 'give the path of a data file, not a folder' });
  try {
    accessSync(path, constants.R_OK);
  } catch (err) {
    throw invalidInput(`cannot read ${path}: ${(err as Error).message}`, { where: path, hint: 'check the file permissions' });
  }
  if (st.size === 0)
    throw invalidInput(`file ${path} is empty`, { where: path, hint: 'an ingestion needs a header and at least one row' });
}

/** A damaged (truncated, not really that format) Arrow IPC or Parquet file as a clear INVALID_INPUT. */
function damaged(format: 'arrow' | 'parquet', path: string, err: unknown): StrataError {
  if (err instanceof StrataError) return err;
  const name = format === 'arrow' ? 'Arrow IPC' : 'Parquet';
  const raw = String((err as Error)?.message ?? err).split('\n')[0] as string;
  // Arrow's reader dereferences a missing footer/schema message ("Cannot read properties of null"): say what it means.
  const why = /Cannot read properties of (null|undefined)|Unexpected end|Expected to read/i.test(raw)
    ? 'it ends early or a message is missing (truncated?)'
    : raw.replace(/^Parquet error: /, '');
  return invalidInput(`${path} is not a readable ${name} file: ${why}`, {
    where: path,
    hint: `the file is damaged or truncated, or not ${name}; write it again (or name it after its real format)`,
    cause: err,
  });
}

/** Reads an Arrow IPC file (stream or file format), turning any reader failure into a clear error. */
async function* arrowRecordBatches(path: string): AsyncGenerator<arrow.RecordBatch> {
  let reader: AsyncIterable<arrow.RecordBatch>;
  try {
    reader = (await arrow.RecordBatchReader.from(createReadStream(path))) as AsyncIterable<arrow.RecordBatch>;
  } catch (err) {
    throw damaged('arrow', path, err);
  }
  const it = reader[Symbol.asyncIterator]();
  let any = false;
  for (;;) {
    let next: IteratorResult<arrow.RecordBatch>;
    try {
      next = await it.next();
    } catch (err) {
      throw damaged('arrow', path, err);
    }
    if (next.done) break;
    if (!any)
      checkUniqueColumns(
        next.value.schema.fields.map((f) => f.name),
        path,
      );
    any = true;
    yield next.value;
  }
  if (!any && !(reader as { schema?: unknown }).schema) throw damaged('arrow', path, new Error('it has no schema message'));
}

/** Reads a Parquet file row group by row group, turning any reader failure into a clear error. */
async function* parquetRecordBatches(path: string): AsyncGenerator<arrow.RecordBatch> {
  const pq = await import('parquet-wasm');
  let file: Awaited<ReturnType<typeof pq.ParquetFile.fromFile>>;
  let groups: number;
  try {
    file = await pq.ParquetFile.fromFile(await openAsBlob(path));
    groups = file.metadata().numRowGroups();
  } catch (err) {
    throw damaged('parquet', path, err);
  }
  try {
    for (let g = 0; g < groups; g++) {
      let table: arrow.Table;
      try {
        table = arrow.tableFromIPC((await file.read({ rowGroups: [g] })).intoIPCStream());
      } catch (err) {
        throw damaged('parquet', path, err);
      }
      if (g === 0)
        checkUniqueColumns(
          table.schema.fields.map((f) => f.name),
          path,
        );
      for (const batch of table.batches) yield batch;
    }
  } finally {
    file.free();
  }
}

function rowsBatch(header: string[], rows: unknown[][], endLines: number[]): ColumnBatch {
  const index = new Map(header.map((h, i) => [h, i]));
  return {
    numRows: rows.length,
    columnNames: header,
    column(name) {
      const i = index.get(name);
      if (i === undefined) return undefined;
      return (r: number) => {
        const v = (rows[r] as unknown[])[i];
        return v === '' ? null : v;
      };
    },
    line(r: number) {
      // csv-parse reports the line where a record ends; a quoted field may hold newlines.
      let newlines = 0;
      for (const cell of rows[r] as string[]) for (let j = cell.indexOf('\n'); j >= 0; j = cell.indexOf('\n', j + 1)) newlines++;
      return (endLines[r] as number) - newlines;
    },
  };
}

async function* csvBatches(path: string, batchSize: number): AsyncGenerator<ColumnBatch> {
  const parser = createReadStream(path).pipe(
    parseCsv({
      bom: true,
      relax_column_count: false,
      skip_empty_lines: true,
      info: true,
      delimiter: path.toLowerCase().endsWith('.tsv') ? '\t' : ',',
    }),
  );
  let header: string[] | undefined;
  let rows: unknown[][] = [];
  let lines: number[] = [];
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!header) {
        header = record.map((h) => h.trim());
        checkUniqueColumns(header, `${path}, line ${info.lines} (the header)`);
        continue;
      }
      rows.push(record);
      lines.push(info.lines);
      if (rows.length >= batchSize) {
        yield rowsBatch(header, rows, lines);
        rows = [];
        lines = [];
      }
    }
  } catch (err) {
    if (err instanceof StrataError) throw err;
    const e = err as { code?: string; lines?: number; message?: string };
    throw invalidInput(`malformed CSV: ${e.message}`, {
      where: `${path}${e.lines ? `, line ${e.lines}` : ''}`,
      hint: 'every line needs as many fields as the header; quote fields that contain commas',
    });
  }
  if (!header) throw invalidInput(`file ${path} has no header line`, { where: path });
  if (rows.length) yield rowsBatch(header, rows, lines);
}

async function* jsonlBatches(path: string, batchSize: number): AsyncGenerator<ColumnBatch> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  let objs: Record<string, unknown>[] = [];
  let lineNos: number[] = [];
  let names = new Set<string>();
  let lineNo = 0;
  const flush = (): ColumnBatch => {
    const batch = objs;
    const at = lineNos;
    const header = [...names];
    return {
      numRows: batch.length,
      columnNames: header,
      column(name) {
        if (!names.has(name)) return undefined;
        return (r: number) => (batch[r] as Record<string, unknown>)[name] ?? null;
      },
      line: (r: number) => at[r] as number,
    };
  };
  for await (const line of lines) {
    lineNo++;
    if (!line.trim()) continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (err) {
      throw invalidInput(`malformed JSON: ${(err as Error).message}`, { where: `${path}, line ${lineNo}` });
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj))
      throw invalidInput('each line must be a JSON object', { where: `${path}, line ${lineNo}` });
    objs.push(obj as Record<string, unknown>);
    lineNos.push(lineNo);
    for (const k of Object.keys(obj)) names.add(k);
    if (objs.length >= batchSize) {
      yield flush();
      objs = [];
      lineNos = [];
      names = new Set(names);
    }
  }
  if (objs.length) yield flush();
}

async function* arrowBatches(path: string): AsyncGenerator<ColumnBatch> {
  for await (const batch of arrowRecordBatches(path)) yield arrowColumnBatch(batch);
}

async function* parquetBatches(path: string): AsyncGenerator<ColumnBatch> {
  for await (const batch of parquetRecordBatches(path)) yield arrowColumnBatch(batch);
}

/** Arrow record batches of an Arrow IPC or Parquet file (typed input, no conversion). */
export async function* readArrowBatches(path: string, format: 'arrow' | 'parquet'): AsyncGenerator<arrow.RecordBatch> {
  checkFile(path);
  yield* format === 'arrow' ? arrowRecordBatches(path) : parquetRecordBatches(path);
}

/** Reads a file in batches of about `batchSize` rows. */
export function readBatches(path: string, opts: { format?: string; batchSize?: number } = {}): AsyncGenerator<ColumnBatch> {
  checkFile(path);
  const format = detectFormat(path, opts.format);
  const size = opts.batchSize ?? 10_000;
  switch (format) {
    case 'csv':
      return csvBatches(path, size);
    case 'jsonl':
      return jsonlBatches(path, size);
    case 'arrow':
      return arrowBatches(path);
    case 'parquet':
      return parquetBatches(path);
  }
}

const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|nan|NaN|inf|-inf|Infinity|-Infinity)$/;

/** Infers a value type for a column of text values (CSV): INT64, DOUBLE, BOOL, UNIX_TIMESTAMP or STRING. */
export function inferTextType(values: unknown[]): ValueTypeName {
  const present = values.filter((v) => v !== null && v !== undefined && v !== '');
  if (!present.length) return 'STRING';
  if (present.every((v) => typeof v === 'number' || typeof v === 'bigint')) {
    return present.every((v) => typeof v === 'bigint' || Number.isInteger(v)) ? 'INT64' : 'DOUBLE';
  }
  if (present.every((v) => typeof v === 'boolean')) return 'BOOL';
  const text = present.map(String);
  if (text.every((s) => INT_RE.test(s))) return 'INT64';
  if (text.every((s) => FLOAT_RE.test(s))) return 'DOUBLE';
  if (text.every((s) => /^(true|false)$/i.test(s))) return 'BOOL';
  if (
    text.every((s) => {
      if (!/^\d{4}-\d{2}-\d{2}/.test(s)) return false;
      try {
        parseTimestamp(s);
        return true;
      } catch {
        return false;
      }
    })
  )
    return 'UNIX_TIMESTAMP';
  return 'STRING';
}

/**
 * Reads a whole (small) file into an Arrow table. Text formats get their types from `types` (e.g. a view's
 * columns) or are inferred from the values.
 */
export async function readTable(
  path: string,
  opts: { format?: string; types?: Record<string, ValueTypeName> } = {},
): Promise<arrow.Table> {
  const format = detectFormat(path, opts.format);
  if (format === 'arrow' || format === 'parquet') {
    const batches: arrow.RecordBatch[] = [];
    for await (const b of readArrowBatches(path, format)) batches.push(b);
    return new arrow.Table(batches);
  }
  if (format === 'csv') {
    // typed columns straight from the bytes (see csv-arrow.ts); untyped columns are inferred from the whole file
    checkFile(path);
    const batches: arrow.RecordBatch[] = [];
    for await (const b of readCsvArrow(path, opts.types ? { types: opts.types } : {})) batches.push(b);
    if (batches.length === 0) {
      const header = await csvHeaderTypes(path, opts.types);
      return tableFromColumns(header.map(([name, valueType]) => ({ name, valueType, values: [] })));
    }
    return new arrow.Table(batches);
  }
  const columns = new Map<string, unknown[]>();
  let total = 0;
  for await (const batch of readBatches(path, { format })) {
    for (const name of batch.columnNames) if (!columns.has(name)) columns.set(name, new Array(total).fill(null));
    for (const [name, values] of columns) {
      const get = batch.column(name);
      for (let i = 0; i < batch.numRows; i++) values.push(get ? get(i) : null);
    }
    total += batch.numRows;
  }
  const { coerceValue } = await import('@strata/core');
  return tableFromColumns(
    [...columns.entries()].map(([name, values]) => {
      const valueType = opts.types?.[name] ?? inferTextType(values);
      return {
        name,
        valueType,
        values: values.map((v, i) => {
          try {
            return coerceValue(valueType, v);
          } catch (err) {
            throw invalidInput(`${(err as Error).message}`, { where: `${path}, row ${i + 1}, column '${name}'` });
          }
        }),
      };
    }),
  );
}

/** The columns of a CSV file with no data rows, typed by `types` or STRING. */
async function csvHeaderTypes(
  path: string,
  types: Record<string, ValueTypeName> | undefined,
): Promise<[string, ValueTypeName][]> {
  const inferred = await inferCsvTypes(path);
  return Object.keys(inferred).map((name) => [name, types?.[name] ?? inferred[name]!]);
}

/** The value types of a view's columns by name (for typing text input). */
export function viewColumnTypes(
  spec: FeatureViewSpec,
  joinKeys: { name: string; valueType: ValueTypeName }[],
): Record<string, ValueTypeName> {
  return Object.fromEntries([
    ...joinKeys.map((k) => [k.name, k.valueType]),
    [spec.timestampField, 'UNIX_TIMESTAMP'],
    ...(spec.createdTimestampField ? [[spec.createdTimestampField, 'UNIX_TIMESTAMP']] : []),
    ...spec.features.map((f) => [f.name, f.valueType]),
  ]);
}
