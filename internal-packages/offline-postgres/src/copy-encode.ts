/**
 * Encodes rows as Postgres COPY CSV text. Values are coerced to the column's value type first, so a bad value is
 * reported with its row and column before anything reaches the database.
 */
import { CoerceError, coerceValue, isListType, type ValueTypeName } from '@strata/core';

function csvQuote(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

function needsQuote(s: string): boolean {
  return s === '' || /[",\n\r\\]/.test(s) || s.trim() !== s;
}

function pgArrayItem(t: ValueTypeName, v: unknown): string {
  if (v === null) return 'NULL';
  const s = scalarText(t, v);
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function hex(bytes: Uint8Array): string {
  return `\\x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

function scalarText(t: ValueTypeName, v: unknown): string {
  switch (t) {
    case 'BOOL':
    case 'BOOL_LIST':
      return v ? 't' : 'f';
    case 'UNIX_TIMESTAMP':
    case 'UNIX_TIMESTAMP_LIST':
      return (v as Date).toISOString();
    case 'BYTES':
    case 'BYTES_LIST':
      return hex(v as Uint8Array);
    case 'FLOAT':
    case 'DOUBLE':
    case 'FLOAT_LIST':
    case 'DOUBLE_LIST': {
      const n = v as number;
      return Number.isNaN(n) ? 'NaN' : n === Infinity ? 'Infinity' : n === -Infinity ? '-Infinity' : String(n);
    }
    default:
      return String(v);
  }
}

/** Text of one CSV field (unquoted empty = NULL). */
export function csvField(t: ValueTypeName, value: unknown): string {
  if (value === null) return '';
  if (isListType(t)) return csvQuote(pgText(t, value) as string);
  const s = scalarText(t, value);
  return t === 'STRING' && needsQuote(s) ? csvQuote(s) : s;
}

export interface CopyColumn {
  name: string;
  valueType: ValueTypeName;
  /** Null values are refused (join keys, event timestamp). */
  required?: boolean;
  /** Returns the raw value of row i of the current batch. */
  get: (i: number) => unknown;
}

export class RowError extends Error {
  /** The input file's line where the row starts, when the input has lines. */
  line: number | undefined;
  constructor(
    message: string,
    readonly row: number,
    readonly column: string,
  ) {
    super(message);
  }
}

/** The coerced value of row i of a column, checked (a RowError names the row and column); null when absent. */
function cellValue(col: CopyColumn, i: number, rowOffset: number): unknown {
  let v: unknown;
  try {
    v = coerceValue(col.valueType, col.get(i));
  } catch (err) {
    if (err instanceof CoerceError)
      throw new RowError(`${err.message} (column '${col.name}', ${col.valueType})`, rowOffset + i + 1, col.name);
    throw err;
  }
  if (v === null && col.required) {
    throw new RowError(
      `column '${col.name}' is null or missing; it is required (join key or event timestamp)`,
      rowOffset + i + 1,
      col.name,
    );
  }
  return v;
}

/** Encodes rows [0, n) of a batch; `rowOffset` numbers rows across batches for error messages (1-based). */
export function encodeRows(
  columns: CopyColumn[],
  n: number,
  rowOffset: number,
  onTimestamp?: (ms: number) => void,
  tsColumn?: string,
): string {
  const lines: string[] = new Array(n);
  const cells: string[] = new Array(columns.length);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < columns.length; c++) {
      const col = columns[c] as CopyColumn;
      const v = cellValue(col, i, rowOffset);
      if (onTimestamp && col.name === tsColumn && v !== null) onTimestamp((v as Date).getTime());
      cells[c] = csvField(col.valueType, v);
    }
    lines[i] = cells.join(',');
  }
  return n ? `${lines.join('\n')}\n` : '';
}

/**
 * Postgres input text of one value (what COPY would parse for it), null for null: a list is an array literal. Used
 * to pass values as array parameters (`$1::bigint[]`) instead of COPY.
 */
export function pgText(t: ValueTypeName, value: unknown): string | null {
  if (value === null) return null;
  if (isListType(t)) {
    return `{${(value as unknown[]).map((x) => pgArrayItem(t.replace('_LIST', '') as ValueTypeName, x)).join(',')}}`;
  }
  return scalarText(t, value);
}

/**
 * The same coercion and checks as encodeRows, but column by column: rows [0, n) of each column as Postgres input
 * text (for array parameters), appended to `out` (one array per column).
 */
export function encodeColumns(columns: CopyColumn[], n: number, rowOffset: number, out: (string | null)[][]): void {
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < columns.length; c++) {
      const col = columns[c] as CopyColumn;
      (out[c] as (string | null)[]).push(pgText(col.valueType, cellValue(col, i, rowOffset)));
    }
  }
}
