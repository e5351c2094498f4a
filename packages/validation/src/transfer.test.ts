import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { batchFromWire, batchToWire, schemaFromWire, schemaToWire, wireable } from './transfer.js';

/** What a worker receives: the message cloned with its buffers transferred (the sender's copies are detached). */
function roundTrip(batch: arrow.RecordBatch): arrow.RecordBatch {
  const schema = schemaFromWire(structuredClone(schemaToWire(batch.schema)));
  const { wire, transfer } = batchToWire(batch);
  const moved = structuredClone(wire, { transfer });
  for (const b of transfer) expect(b.byteLength).toBe(0); // transferred, not shared
  return batchFromWire(schema, moved);
}

/** Every value as plain JSON (lists as arrays), so two batches compare by content. */
const rows = (b: arrow.RecordBatch) =>
  JSON.parse(
    JSON.stringify(
      Array.from({ length: b.numRows }, (_, i) => b.get(i)?.toJSON()),
      (_k, v) => (typeof v === 'bigint' ? String(v) : v?.toArray ? Array.from(v.toArray()) : Number.isNaN(v) ? 'NaN' : v),
    ),
  );

describe('record batches as buffers for a worker thread', () => {
  const n = 1000;
  const v = <T extends arrow.DataType>(values: unknown[], type: T) => arrow.vectorFromArray(values, type);
  const both = new arrow.Table({
    i64: arrow.makeVector(BigInt64Array.from({ length: n }, (_, i) => BigInt(i * 7 - 3000))),
    f64: arrow.makeVector(Float64Array.from({ length: n }, (_, i) => (i % 13 === 0 ? Number.NaN : i / 3))),
    s: v(
      Array.from({ length: n }, (_, i) => (i % 5 === 0 ? null : i % 17 === 0 ? '' : `vé${i}`)),
      new arrow.Utf8(),
    ),
    b: v(
      Array.from({ length: n }, (_, i) => (i % 4 === 0 ? null : i % 3 === 0)),
      new arrow.Bool(),
    ),
    ts: v(
      Array.from({ length: n }, (_, i) => (i % 9 === 0 ? null : Date.UTC(2024, 0, 1) + i * 3_600_000)),
      new arrow.TimestampMillisecond(),
    ),
    l: v(
      Array.from({ length: n }, (_, i) => (i % 6 === 0 ? null : [i, i + 1].slice(0, i % 3))),
      new arrow.List(new arrow.Field('item', new arrow.Int32(), true)),
    ),
  });

  it('rebuilds the same values, nulls and types, also for a batch sliced out of a bigger one', () => {
    const batch = both.batches[0]!;
    expect(wireable(batch.schema)).toBe(true);
    for (const b of [batch, batch.slice(3, 700), batch.slice(999, 1000)] as arrow.RecordBatch[]) {
      const back = roundTrip(b);
      expect(String(back.schema)).toBe(String(b.schema));
      expect(back.numRows).toBe(b.numRows);
      for (const f of b.schema.fields) expect(back.getChild(f.name)!.nullCount, f.name).toBe(b.getChild(f.name)!.nullCount);
      expect(rows(back)).toEqual(rows(b));
    }
  });

  it('leaves the sender its batch untouched', () => {
    const batch = both.batches[0]!;
    const before = rows(batch);
    roundTrip(batch);
    expect(rows(batch)).toEqual(before);
  });

  it('does not take dictionary columns (they travel as IPC)', () => {
    const dict = new arrow.Table({
      d: arrow.vectorFromArray(['a', 'b', 'a'], new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32())),
    });
    expect(wireable(dict.schema)).toBe(false);
  });
});
