/**
 * A protobuf codec driven by protobufjs reflection that keeps everything it does not know.
 *
 * Messages decode to plain JSON-safe objects (snake_case field names as in the schema; int64 as decimal strings,
 * bytes as base64, enums as numbers, map<string, string> as objects). A field is present in the object exactly when
 * it was present on the wire, and encoding writes exactly the present fields, so proto3 default handling never
 * changes bytes. Fields the schema does not know are kept as raw wire records (base64) under `$unknown` and written
 * back interleaved by field number, which is the order Feast's Python protobuf runtime writes them in.
 */
import protobuf from 'protobufjs';

const { Reader, Writer } = protobuf;
type Type = protobuf.Type;
type Field = protobuf.Field & { keyType: string };

export type Msg = { [field: string]: unknown; $unknown?: string[] };

export class WireError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

export const b64 = (u: Uint8Array): string => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64');
export const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

function listAt(o: Record<string, unknown>, key: string): unknown[] {
  const cur = o[key];
  if (Array.isArray(cur)) return cur;
  const arr: unknown[] = [];
  o[key] = arr;
  return arr;
}

function mapAt(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const cur = o[key];
  if (cur && typeof cur === 'object') return cur as Record<string, unknown>;
  const m: Record<string, unknown> = {};
  o[key] = m;
  return m;
}

const longToString = (v: unknown): string => (typeof v === 'number' ? String(v) : (v as { toString(): string }).toString());

function readScalar(r: protobuf.Reader, type: string): unknown {
  switch (type) {
    case 'string':
      return r.string();
    case 'bool':
      return r.bool();
    case 'int32':
      return r.int32();
    case 'uint32':
      return r.uint32();
    case 'sint32':
      return r.sint32();
    case 'int64':
      return longToString(r.int64());
    case 'uint64':
      return longToString(r.uint64());
    case 'sint64':
      return longToString(r.sint64());
    case 'double':
      return r.double();
    case 'float':
      return r.float();
    case 'bytes':
      return b64(r.bytes());
    case 'fixed32':
      return r.fixed32();
    case 'fixed64':
      return longToString(r.fixed64());
    default:
      return r.int32(); // enum
  }
}

const WIRE_TYPE: Record<string, number> = {
  double: 1,
  fixed64: 1,
  float: 5,
  fixed32: 5,
  string: 2,
  bytes: 2,
};

function wireTypeOf(field: Field): number {
  if (field.map || field.resolvedType instanceof protobuf.Type) return 2;
  return WIRE_TYPE[field.type] ?? 0;
}

function writeScalar(w: protobuf.Writer, type: string, v: unknown): void {
  switch (type) {
    case 'string':
      w.string(String(v));
      return;
    case 'bool':
      w.bool(Boolean(v));
      return;
    case 'int32':
      w.int32(Number(v));
      return;
    case 'uint32':
      w.uint32(Number(v));
      return;
    case 'sint32':
      w.sint32(Number(v));
      return;
    case 'int64':
      w.int64(String(v) as unknown as number);
      return;
    case 'uint64':
      w.uint64(String(v) as unknown as number);
      return;
    case 'sint64':
      w.sint64(String(v) as unknown as number);
      return;
    case 'double':
      w.double(Number(v));
      return;
    case 'float':
      w.float(Number(v));
      return;
    case 'bytes':
      w.bytes(unb64(String(v)));
      return;
    case 'fixed32':
      w.fixed32(Number(v));
      return;
    case 'fixed64':
      w.fixed64(String(v) as unknown as number);
      return;
    default:
      w.int32(Number(v)); // enum
  }
}

const isPackable = (type: string, field: Field) =>
  !(field.resolvedType instanceof protobuf.Type) && type !== 'string' && type !== 'bytes';

/** Decodes one message. Throws WireError (with the field path) on malformed input. */
export function decodeMessage(type: Type, bytes: Uint8Array, path = type.name): Msg {
  const r = Reader.create(bytes);
  const out: Msg = {};
  try {
    while (r.pos < r.len) {
      const start = r.pos;
      const tag = r.uint32();
      const id = tag >>> 3;
      const wt = tag & 7;
      if (id === 0) throw new WireError(`invalid field number 0 at byte ${start}`, path);
      const field = type.fieldsById[id] as Field | undefined;
      if (!field || (wt !== wireTypeOf(field) && !(field.repeated && wt === 2 && isPackable(field.type, field)))) {
        r.skipType(wt);
        const raw = bytes.subarray(start, r.pos);
        (listAt(out, '$unknown') as string[]).push(b64(raw));
        continue;
      }
      field.resolve();
      const fpath = `${path}.${field.name}`;
      let value: unknown;
      if (field.map) {
        const end = r.uint32() + r.pos;
        let k: unknown = field.keyType === 'string' ? '' : 0;
        let v: unknown = field.type === 'string' ? '' : field.type === 'bytes' ? '' : 0;
        const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
        if (sub) v = {};
        while (r.pos < end) {
          const t = r.uint32();
          if (t >>> 3 === 1) k = readScalar(r, field.keyType);
          else if (t >>> 3 === 2) v = sub ? decodeMessage(sub, r.bytes(), fpath) : readScalar(r, field.type);
          else r.skipType(t & 7);
        }
        const m = mapAt(out, field.name);
        m[String(k)] = v;
        continue;
      }
      if (field.resolvedType instanceof protobuf.Type) {
        value = decodeMessage(field.resolvedType, r.bytes(), fpath);
      } else if (field.repeated && wt === 2 && isPackable(field.type, field)) {
        const end = r.uint32() + r.pos;
        const arr = listAt(out, field.name);
        while (r.pos < end) arr.push(readScalar(r, field.type));
        continue;
      } else {
        value = readScalar(r, field.type);
      }
      if (field.repeated) listAt(out, field.name).push(value);
      else out[field.name] = value;
    }
  } catch (e) {
    if (e instanceof WireError) throw e;
    throw new WireError(`malformed protobuf: ${(e as Error).message}`, path);
  }
  if (r.pos !== r.len) throw new WireError('message ends in the middle of a field', path);
  return out;
}

function fieldNumberOfRaw(raw: string): number {
  return Reader.create(unb64(raw)).uint32() >>> 3;
}

/** Encodes a message object produced by decodeMessage (or built by hand with the same conventions). */
export function encodeMessage(type: Type, msg: Msg, w: protobuf.Writer = Writer.create()): protobuf.Writer {
  const items: { id: number; write: () => void }[] = [];
  for (const [name, value] of Object.entries(msg)) {
    if (name === '$unknown' || value === undefined) continue;
    const field = type.fields[name] as Field | undefined;
    if (!field) throw new Error(`${type.name} has no field '${name}'`);
    field.resolve();
    const id = field.id;
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    const writeOne = (v: unknown) => {
      if (sub) {
        w.uint32((id << 3) | 2).fork();
        encodeMessage(sub, v as Msg, w);
        w.ldelim();
      } else {
        w.uint32((id << 3) | wireTypeOf(field));
        writeScalar(w, field.type, v);
      }
    };
    if (field.map) {
      items.push({
        id,
        write: () => {
          for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
            w.uint32((id << 3) | 2).fork();
            w.uint32((1 << 3) | (WIRE_TYPE[field.keyType] ?? 0));
            writeScalar(w, field.keyType, k);
            if (sub) {
              w.uint32((2 << 3) | 2).fork();
              encodeMessage(sub, v as Msg, w);
              w.ldelim();
            } else {
              w.uint32((2 << 3) | (WIRE_TYPE[field.type] ?? 0));
              writeScalar(w, field.type, v);
            }
            w.ldelim();
          }
        },
      });
    } else if (field.repeated) {
      items.push({ id, write: () => (value as unknown[]).forEach(writeOne) });
    } else {
      items.push({ id, write: () => writeOne(value) });
    }
  }
  for (const raw of msg.$unknown ?? []) {
    items.push({ id: fieldNumberOfRaw(raw), write: () => w.raw(unb64(raw)) });
  }
  // Stable sort: known fields and kept unknown records in field-number order, as protobuf runtimes write them.
  items.sort((a, b) => a.id - b.id);
  for (const it of items) it.write();
  return w;
}

declare module 'protobufjs' {
  interface Writer {
    raw(bytes: Uint8Array): Writer;
  }
}

// Writer has no public "append raw bytes"; this adds one through its documented `_push` op list.
const proto = Writer.prototype as unknown as {
  raw?: (this: protobuf.Writer, b: Uint8Array) => protobuf.Writer;
  _push: (fn: unknown, len: number, val: unknown) => protobuf.Writer;
};
proto.raw = function raw(this: protobuf.Writer, b: Uint8Array) {
  const self = this as unknown as typeof proto;
  return self._push(
    (val: Uint8Array, buf: Uint8Array, pos: number) => {
      buf.set(val, pos);
    },
    b.length,
    b,
  );
};

export function encodeToBytes(type: Type, msg: Msg): Uint8Array {
  return encodeMessage(type, msg).finish();
}

/** Field names of a message that are present (for reports); unknown records appear as `#<number>`. */
export function presentFields(msg: Msg): string[] {
  const names = Object.keys(msg).filter((k) => k !== '$unknown');
  for (const raw of msg.$unknown ?? []) names.push(`#${fieldNumberOfRaw(raw)}`);
  return names;
}
