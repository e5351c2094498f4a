/**
 * The few protobuf messages Feast's Redis online store keeps in Redis, defined in code from their published field
 * numbers: feast.types.Value (a oneof with one member per value type; lists as *List messages with a repeated
 * `val = 1`), feast.types.Null, and google.protobuf.Timestamp (seconds = 1, nanos = 2).
 */
import { CoerceError, coerceValue, elementType, invalidInput, isListType, type ValueTypeName } from '@strata/core';
import Long from 'long';
import protobuf from 'protobufjs';

// int64 fields decode to Long (exact) instead of lossy numbers.
protobuf.util.Long = Long;
protobuf.configure();

/** Oneof member of feast.types.Value for each value type, with its field number. */
export const VALUE_FIELDS: Record<ValueTypeName, { field: string; id: number; list?: string }> = {
  BYTES: { field: 'bytes_val', id: 1 },
  STRING: { field: 'string_val', id: 2 },
  INT32: { field: 'int32_val', id: 3 },
  INT64: { field: 'int64_val', id: 4 },
  DOUBLE: { field: 'double_val', id: 5 },
  FLOAT: { field: 'float_val', id: 6 },
  BOOL: { field: 'bool_val', id: 7 },
  UNIX_TIMESTAMP: { field: 'unix_timestamp_val', id: 8 },
  BYTES_LIST: { field: 'bytes_list_val', id: 11, list: 'BytesList' },
  STRING_LIST: { field: 'string_list_val', id: 12, list: 'StringList' },
  INT32_LIST: { field: 'int32_list_val', id: 13, list: 'Int32List' },
  INT64_LIST: { field: 'int64_list_val', id: 14, list: 'Int64List' },
  DOUBLE_LIST: { field: 'double_list_val', id: 15, list: 'DoubleList' },
  FLOAT_LIST: { field: 'float_list_val', id: 16, list: 'FloatList' },
  BOOL_LIST: { field: 'bool_list_val', id: 17, list: 'BoolList' },
  UNIX_TIMESTAMP_LIST: { field: 'unix_timestamp_list_val', id: 18, list: 'Int64List' },
};
const NULL_FIELD = { field: 'null_val', id: 19 };

const SCALAR_PROTO_TYPE: Record<string, string> = {
  BYTES: 'bytes',
  STRING: 'string',
  INT32: 'int32',
  INT64: 'int64',
  DOUBLE: 'double',
  FLOAT: 'float',
  BOOL: 'bool',
  UNIX_TIMESTAMP: 'int64',
};

const LIST_ELEMENT: Record<string, string> = {
  BytesList: 'bytes',
  StringList: 'string',
  Int32List: 'int32',
  Int64List: 'int64',
  DoubleList: 'double',
  FloatList: 'float',
  BoolList: 'bool',
};

function buildRoot(): { Value: protobuf.Type; Timestamp: protobuf.Type } {
  const root = new protobuf.Root();
  const feastTypes = root.define('feast.types');
  for (const [name, elem] of Object.entries(LIST_ELEMENT)) {
    // proto3: repeated scalars are packed, strings and bytes never are.
    const packed = elem !== 'string' && elem !== 'bytes';
    const field = new protobuf.Field('val', 1, elem, 'repeated', undefined, packed ? { packed: true } : undefined);
    feastTypes.add(new protobuf.Type(name).add(field));
  }
  feastTypes.add(new protobuf.Enum('Null', { NULL: 0 }));
  const value = new protobuf.Type('Value');
  const members: string[] = [];
  for (const [t, f] of Object.entries(VALUE_FIELDS)) {
    value.add(new protobuf.Field(f.field, f.id, f.list ?? (SCALAR_PROTO_TYPE[t] as string)));
    members.push(f.field);
  }
  value.add(new protobuf.Field(NULL_FIELD.field, NULL_FIELD.id, 'Null'));
  members.push(NULL_FIELD.field);
  value.add(new protobuf.OneOf('val', members));
  feastTypes.add(value);
  const ts = new protobuf.Type('Timestamp')
    .add(new protobuf.Field('seconds', 1, 'int64'))
    .add(new protobuf.Field('nanos', 2, 'int32'));
  root.define('google.protobuf').add(ts);
  root.resolveAll();
  return { Value: value, Timestamp: ts };
}

const { Value, Timestamp } = buildRoot();
const FIELD_TO_TYPE = new Map(Object.entries(VALUE_FIELDS).map(([t, f]) => [f.field, t as ValueTypeName]));

/** Feast writes this int64 (numpy NaT) for a null inside a UNIX_TIMESTAMP_LIST. */
export const NULL_TIMESTAMP_INT = -(2n ** 63n);

function toLong(v: number | bigint): Long | number {
  return typeof v === 'bigint' ? Long.fromString(v.toString()) : v;
}

function fromLong(v: unknown): number | bigint {
  const big = Long.isLong(v) ? BigInt((v as Long).toString()) : BigInt(v as number);
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

/** Epoch seconds of a Date, truncated toward zero as Feast's int(datetime.timestamp()) does. */
function epochSeconds(d: Date): number {
  return Math.trunc(d.getTime() / 1000);
}

function protoScalar(t: ValueTypeName, v: unknown): unknown {
  switch (t) {
    case 'INT64':
      return toLong(v as number | bigint);
    case 'UNIX_TIMESTAMP':
      return epochSeconds(v as Date);
    default:
      return v;
  }
}

/**
 * Encodes a JS value as a Feast Value message of the given type. null/undefined encode as the empty Value (zero
 * bytes), as Feast writes a missing value. Throws StrataError INVALID_INPUT when the value does not fit the type.
 */
export function encodeValue(valueType: ValueTypeName, v: unknown): Uint8Array {
  if (v === null || v === undefined) return new Uint8Array(0);
  const f = VALUE_FIELDS[valueType];
  if (!f) throw invalidInput(`value type ${String(valueType)} has no Feast Value encoding`);
  let canonical: unknown;
  try {
    canonical = coerceValue(valueType, v);
  } catch (err) {
    if (err instanceof CoerceError) throw invalidInput(`cannot encode ${valueType} value: ${err.message}`, { cause: err });
    throw err;
  }
  // The fixed-width scalars (most features) are written directly: the tag, then the little-endian bytes, which is
  // what protobuf writes for a set oneof member (encoding.test.ts checks it byte for byte against the generic path).
  if (valueType === 'DOUBLE' || valueType === 'FLOAT') {
    const double = valueType === 'DOUBLE';
    const b = Buffer.allocUnsafe(double ? 9 : 5);
    b[0] = (f.id << 3) | (double ? 1 : 5);
    if (double) b.writeDoubleLE(canonical as number, 1);
    else b.writeFloatLE(canonical as number, 1);
    return b;
  }
  if (valueType === 'BOOL') return Buffer.from([f.id << 3, canonical ? 1 : 0]);
  return encodeCoerced(valueType, f, canonical);
}

/** The generic encoder (protobufjs) of a coerced value; exported for the byte-for-byte test of the fast paths. */
export function encodeCoerced(valueType: ValueTypeName, f: (typeof VALUE_FIELDS)[ValueTypeName], canonical: unknown): Uint8Array {
  let payload: unknown;
  if (isListType(valueType)) {
    const et = elementType(valueType);
    const items = (canonical as unknown[]).map((x, i) => {
      if (x === null) {
        if (et === 'UNIX_TIMESTAMP') return toLong(NULL_TIMESTAMP_INT);
        throw invalidInput(`cannot encode ${valueType} value: element ${i} is null, and Feast's ${f.list} cannot hold nulls`, {
          hint: 'drop the null elements or write the whole list as null',
        });
      }
      return protoScalar(et, x);
    });
    payload = { val: items };
  } else {
    payload = protoScalar(valueType, canonical);
  }
  return Value.encode(Value.create({ [f.field]: payload })).finish();
}

function jsScalar(t: ValueTypeName, v: unknown): unknown {
  switch (t) {
    case 'INT64':
      return fromLong(v);
    case 'UNIX_TIMESTAMP': {
      const s = fromLong(v);
      if (typeof s === 'bigint' && s === NULL_TIMESTAMP_INT) return null;
      return new Date(Number(s) * 1000);
    }
    case 'BYTES':
      return new Uint8Array(v as Uint8Array);
    default:
      return v;
  }
}

/**
 * Decodes a Feast Value message to its JS value: null for the empty Value and for null_val; numbers (INT64 as
 * number when safe, else bigint), strings, booleans, Uint8Array, Date (UNIX_TIMESTAMP) and arrays of those.
 * Value kinds Strata has no type for (maps, sets, json, ...) also read as null.
 */
export function decodeValue(bytes: Uint8Array): unknown {
  return decodeTypedValue(bytes).value;
}

/** Like decodeValue, and also says which value type the message held (undefined when null or unknown). */
export function decodeTypedValue(bytes: Uint8Array): { valueType: ValueTypeName | undefined; value: unknown } {
  if (bytes.length === 0) return { valueType: undefined, value: null };
  const msg = Value.decode(bytes) as unknown as Record<string, unknown>;
  const which = msg.val as string | undefined;
  const t = which ? FIELD_TO_TYPE.get(which) : undefined;
  if (!which || !t) return { valueType: undefined, value: null };
  const raw = msg[which];
  if (isListType(t)) {
    const et = elementType(t);
    const items = ((raw as { val?: unknown[] }).val ?? []).map((x) => jsScalar(et, x));
    return { valueType: t, value: items };
  }
  return { valueType: t, value: jsScalar(t, raw) };
}

/** google.protobuf.Timestamp of a Date (millisecond precision: nanos are whole milliseconds). */
export function encodeTimestamp(d: Date): Uint8Array {
  const { seconds, nanos } = timestampParts(d);
  // Like protobuf's own encoders, leave zero fields out (the epoch itself encodes as zero bytes).
  const fields: Record<string, number> = {};
  if (seconds !== 0) fields.seconds = seconds;
  if (nanos !== 0) fields.nanos = nanos;
  return Timestamp.encode(Timestamp.create(fields)).finish();
}

/** Splits a Date into Timestamp seconds (floor) and non-negative nanos, as protobuf's Timestamp requires. */
export function timestampParts(d: Date): { seconds: number; nanos: number } {
  const ms = d.getTime();
  if (!Number.isFinite(ms)) throw invalidInput('invalid Date');
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1_000_000 };
}

/** Decodes a google.protobuf.Timestamp to a Date (sub-millisecond nanos are truncated). */
export function decodeTimestamp(bytes: Uint8Array): Date {
  const msg = Timestamp.decode(bytes) as unknown as { seconds: unknown; nanos: number };
  const seconds = Number(fromLong(msg.seconds ?? 0));
  return new Date(seconds * 1000 + Math.floor((msg.nanos ?? 0) / 1_000_000));
}
