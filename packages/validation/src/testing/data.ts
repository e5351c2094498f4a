/** Small helpers to build Arrow tables in tests. */
import * as arrow from 'apache-arrow';

export function table(columns: Record<string, { type: arrow.DataType; values: unknown[] }>): arrow.Table {
  const vecs: Record<string, arrow.Vector> = {};
  for (const [name, c] of Object.entries(columns)) vecs[name] = arrow.vectorFromArray(c.values, c.type);
  return new arrow.Table(vecs);
}

export const f64 = (values: (number | null)[]) => ({ type: new arrow.Float64(), values });
export const i64 = (values: (number | null)[]) => ({
  type: new arrow.Int64(),
  values: values.map((v) => (v === null ? null : BigInt(v))),
});
export const str = (values: (string | null)[]) => ({ type: new arrow.Utf8(), values });
export const bool = (values: (boolean | null)[]) => ({ type: new arrow.Bool(), values });
export const ts = (values: (string | null)[]) => ({
  type: new arrow.TimestampMillisecond(),
  values: values.map((v) => (v === null ? null : new Date(v))),
});
