/** Converts a pg query result to an Arrow table, typing columns by their Postgres type. */
import { tableFromColumns, type ValueTypeName } from '@strata/core';
import type * as arrow from 'apache-arrow';

const BY_OID: Record<number, ValueTypeName> = {
  16: 'BOOL',
  17: 'BYTES',
  20: 'INT64',
  21: 'INT32',
  23: 'INT32',
  25: 'STRING',
  700: 'FLOAT',
  701: 'DOUBLE',
  1043: 'STRING',
  1114: 'UNIX_TIMESTAMP',
  1184: 'UNIX_TIMESTAMP',
  1082: 'UNIX_TIMESTAMP',
};

export function fromPgResult(res: {
  fields: { name: string; dataTypeID: number }[];
  rows: Record<string, unknown>[];
}): arrow.Table {
  return tableFromColumns(
    res.fields.map((f) => ({
      name: f.name,
      valueType: BY_OID[f.dataTypeID] ?? 'STRING',
      values: res.rows.map((r) => {
        const v = r[f.name];
        return BY_OID[f.dataTypeID] || v === null ? v : String(v);
      }),
    })),
  );
}
