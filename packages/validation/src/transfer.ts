/**
 * Record batches to and from a worker thread without Arrow IPC: each column's buffers are copied once (exactly the
 * bytes its views cover) and transferred, and the worker rebuilds the same `arrow.Data` around them. Serialising to
 * IPC instead costs the sending thread a flatbuffer encoding and a concatenation of every buffer per batch, which is
 * what the worker was meant to take off it. The schema goes once, as an IPC schema message.
 */
import * as arrow from 'apache-arrow';

/** One column's Data: its offset, length, null count, buffers (valueOffsets, values, nullBitmap, typeIds), children. */
export interface WireData {
  offset: number;
  length: number;
  nullCount: number;
  buffers: (ArrayBufferView | undefined)[];
  children: WireData[];
}

export interface WireBatch {
  length: number;
  columns: WireData[];
}

/** Whether every column of the schema can travel as buffers (dictionaries and views carry more than buffers). */
export function wireable(schema: arrow.Schema): boolean {
  const ok = (t: arrow.DataType): boolean =>
    !arrow.DataType.isDictionary(t) &&
    t.typeId !== arrow.Type.Utf8View &&
    t.typeId !== arrow.Type.BinaryView &&
    (t.children ?? []).every((c: arrow.Field) => ok(c.type));
  return schema.fields.every((f) => ok(f.type));
}

/** The schema as an IPC message (no rows), for `schemaFromWire`. */
export function schemaToWire(schema: arrow.Schema): Uint8Array {
  return arrow.tableToIPC(new arrow.Table(schema), 'stream');
}

export function schemaFromWire(bytes: Uint8Array): arrow.Schema {
  return arrow.tableFromIPC(bytes).schema;
}

function copyView(v: ArrayBufferView | undefined, transfer: ArrayBuffer[]): ArrayBufferView | undefined {
  if (!v) return undefined;
  const copy = (v as Uint8Array).slice(); // a typed array's slice copies the view's range only, into a new buffer
  transfer.push(copy.buffer as ArrayBuffer);
  return copy;
}

function dataToWire(d: arrow.Data, transfer: ArrayBuffer[]): WireData {
  return {
    offset: d.offset,
    length: d.length,
    nullCount: d.nullCount,
    buffers: (d.buffers as unknown as (ArrayBufferView | undefined)[]).map((b) => copyView(b, transfer)),
    children: d.children.map((c) => dataToWire(c, transfer)),
  };
}

/** The batch's columns as buffers, and the buffers to transfer (each a fresh copy the sender never touches again). */
export function batchToWire(batch: arrow.RecordBatch): { wire: WireBatch; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = [];
  const columns = batch.data.children.map((c) => dataToWire(c, transfer));
  return { wire: { length: batch.numRows, columns }, transfer };
}

function dataFromWire(type: arrow.DataType, w: WireData): arrow.Data {
  const children = w.children.map((c, i) => dataFromWire((type.children as arrow.Field[])[i]!.type, c));
  const [valueOffsets, values, nullBitmap, typeIds] = w.buffers;
  // biome-ignore lint/suspicious/noExplicitAny: the buffers are the same typed arrays the sender's Data held
  const buffers = [valueOffsets, values, nullBitmap, typeIds] as any;
  return new arrow.Data(type, w.offset, w.length, w.nullCount, buffers, children);
}

export function batchFromWire(schema: arrow.Schema, w: WireBatch): arrow.RecordBatch {
  const children = w.columns.map((c, i) => dataFromWire(schema.fields[i]!.type, c));
  const struct = arrow.makeData({ type: new arrow.Struct(schema.fields), length: w.length, nullCount: 0, children });
  return new arrow.RecordBatch(schema, struct);
}
