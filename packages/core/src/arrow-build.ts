/** Builds Arrow tables from JS rows or columns, typed by value type. */
import * as arrow from 'apache-arrow';
import { isListType, toArrowType, type ValueTypeName } from './types.js';

function toArrowValue(t: ValueTypeName, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (t === 'INT64') return typeof v === 'bigint' ? v : BigInt(v as number);
  if (t === 'UNIX_TIMESTAMP') return v instanceof Date ? v.getTime() : v;
  if (isListType(t)) return (v as unknown[]).map((x) => toArrowValue(t.replace('_LIST', '') as ValueTypeName, x));
  return v;
}

export function arrowVector(t: ValueTypeName, values: unknown[]): arrow.Vector {
  return arrow.vectorFromArray(
    values.map((v) => toArrowValue(t, v)),
    toArrowType(t),
  );
}

export interface TypedColumn {
  name: string;
  valueType: ValueTypeName;
}

export function tableFromColumns(columns: (TypedColumn & { values: unknown[] })[]): arrow.Table {
  const vectors: Record<string, arrow.Vector> = {};
  for (const c of columns) vectors[c.name] = arrowVector(c.valueType, c.values);
  return new arrow.Table(vectors);
}

export function tableFromRows(columns: TypedColumn[], rows: Record<string, unknown>[]): arrow.Table {
  return tableFromColumns(columns.map((c) => ({ ...c, values: rows.map((r) => r[c.name]) })));
}
