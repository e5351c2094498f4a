/** Rows of a server-side cursor as Arrow record batches, so big reads stream with bounded memory. */
import { arrowVector, type ValueTypeName } from '@strata/core';
import * as arrow from 'apache-arrow';
import Cursor from 'pg-cursor';
import type { PoolClient } from './pool.js';

export interface TypedColumn {
  name: string;
  valueType: ValueTypeName;
}

export function arrowSchema(columns: TypedColumn[]): arrow.Schema {
  return new arrow.Schema(columns.map((c) => new arrow.Field(c.name, arrowVector(c.valueType, []).type, true)));
}

/** A record batch from rows given as arrays in column order. */
export function recordBatch(schema: arrow.Schema, columns: TypedColumn[], rows: unknown[][]): arrow.RecordBatch {
  const children = columns.map(
    (c, j) =>
      arrowVector(
        c.valueType,
        rows.map((r) => r[j]),
      ).data[0] as arrow.Data,
  );
  const data = arrow.makeData({ type: new arrow.Struct(schema.fields), length: rows.length, nullCount: 0, children });
  return new arrow.RecordBatch(schema, data);
}

/**
 * Reads `sql` through a cursor on `client` (which must be inside a transaction, or the cursor lives only as long as
 * the query) and yields record batches of `batchSize` rows. Always yields at least one (maybe empty) batch, so a
 * writer learns the schema even of an empty result.
 */
export async function* cursorBatches(
  client: PoolClient,
  sql: string,
  params: unknown[],
  columns: TypedColumn[],
  batchSize: number,
  onRows?: (rows: number) => void,
): AsyncGenerator<arrow.RecordBatch> {
  const schema = arrowSchema(columns);
  const cursor = client.query(new Cursor(sql, params, { rowMode: 'array' }));
  let done = 0;
  try {
    for (;;) {
      const rows = (await cursor.read(batchSize)) as unknown[][];
      if (!rows.length) break;
      done += rows.length;
      onRows?.(done);
      yield recordBatch(schema, columns, rows);
    }
    if (done === 0) yield recordBatch(schema, columns, []);
  } finally {
    await cursor.close().catch(() => {});
  }
}
