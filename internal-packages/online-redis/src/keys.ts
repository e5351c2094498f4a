/**
 * Redis key and field names in Feast's layout:
 * - hash key = entity key serialization v3 of the view's join keys, then the project name in UTF-8;
 * - feature field = MurmurHash3 x86_32 (seed 0) of "view:feature", 4 bytes little-endian;
 * - event-time field = the text `_ts:<view>`.
 *
 * Entity key serialization v3, all integers little-endian:
 *   u32 number of join keys
 *   per join key, sorted by name:   u32 2 (ValueType STRING), u32 byte length, UTF-8 name
 *   per value, in the same order:   u32 ValueType, u32 byte length, bytes
 * with value bytes: STRING UTF-8, BYTES as is, INT32 i32, INT64 i64, UNIX_TIMESTAMP i64 epoch seconds.
 */
import { CoerceError, coerceValue, invalidInput, invalidSpec, type JoinKey, ValueType, type ValueTypeName } from '@strata/core';
import { murmur3x86_32 } from './murmur.js';

const utf8 = new TextEncoder();
const KEY_VALUE_TYPES: ReadonlySet<ValueTypeName> = new Set(['STRING', 'BYTES', 'INT32', 'INT64', 'UNIX_TIMESTAMP']);

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(n, 0);
  return b;
}

/** Orders join keys as Python's sorted() orders str: by code point. */
export function sortJoinKeys(joinKeys: JoinKey[]): JoinKey[] {
  return [...joinKeys].sort((a, b) => {
    const x = [...a.name];
    const y = [...b.name];
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const d = (x[i] as string).codePointAt(0)! - (y[i] as string).codePointAt(0)!;
      if (d !== 0) return d;
    }
    return x.length - y.length;
  });
}

/** The bytes of one join key value, as serialization v3 writes them. */
export function joinKeyValueBytes(key: JoinKey, raw: unknown): Buffer {
  if (!KEY_VALUE_TYPES.has(key.valueType)) {
    throw invalidSpec(
      `join key '${key.name}' has type ${key.valueType}, which Feast's entity key serialization does not support`,
      { hint: 'use STRING, INT64, INT32, BYTES or UNIX_TIMESTAMP join keys' },
    );
  }
  if (raw === null || raw === undefined) {
    throw invalidInput(`join key '${key.name}' is null`, {
      where: key.name,
      hint: 'every entity row needs a value for each join key',
    });
  }
  let v: unknown;
  try {
    v = coerceValue(key.valueType, raw);
  } catch (err) {
    if (err instanceof CoerceError) {
      throw invalidInput(`join key '${key.name}' (${key.valueType}): ${err.message}`, { where: key.name, cause: err });
    }
    throw err;
  }
  switch (key.valueType) {
    case 'STRING':
      return Buffer.from(utf8.encode(v as string));
    case 'BYTES':
      return Buffer.from(v as Uint8Array);
    case 'INT32': {
      const b = Buffer.allocUnsafe(4);
      b.writeInt32LE(v as number, 0);
      return b;
    }
    case 'INT64': {
      const b = Buffer.allocUnsafe(8);
      b.writeBigInt64LE(BigInt(v as number | bigint), 0);
      return b;
    }
    default: {
      // UNIX_TIMESTAMP: int64 epoch seconds, truncated toward zero like Feast.
      const b = Buffer.allocUnsafe(8);
      b.writeBigInt64LE(BigInt(Math.trunc((v as Date).getTime() / 1000)), 0);
      return b;
    }
  }
}

/** The join-key-name part of a serialized key (the part every entity of these join keys shares). */
export function entityKeyPrefixV3(joinKeys: JoinKey[]): Buffer {
  const parts: Buffer[] = [u32(joinKeys.length)];
  for (const k of sortJoinKeys(joinKeys)) {
    const name = utf8.encode(k.name);
    parts.push(u32(ValueType.STRING), u32(name.length), Buffer.from(name));
  }
  return Buffer.concat(parts);
}

/** Feast's serialize_entity_key, version 3, for one entity: values are read by join-key name. */
export function serializeEntityKeyV3(joinKeys: JoinKey[], values: Record<string, unknown>): Buffer {
  if (joinKeys.length === 0) throw invalidSpec('an entity key needs at least one join key');
  const sorted = sortJoinKeys(joinKeys);
  const parts: Buffer[] = [entityKeyPrefixV3(sorted)];
  for (const k of sorted) {
    if (!(k.name in values)) {
      throw invalidInput(`entity row has no value for join key '${k.name}'`, {
        where: k.name,
        hint: `give every entity row the join keys ${sorted.map((x) => x.name).join(', ')}`,
      });
    }
    const bytes = joinKeyValueBytes(k, values[k.name]);
    parts.push(u32(ValueType[k.valueType]), u32(bytes.length), bytes);
  }
  return Buffer.concat(parts);
}

/** The Redis hash key of one entity in one project. */
export function redisKey(project: string, joinKeys: JoinKey[], values: Record<string, unknown>): Buffer {
  return Buffer.concat([serializeEntityKeyV3(joinKeys, values), Buffer.from(utf8.encode(project))]);
}

/** The hash field of a feature: MurmurHash3 x86_32, seed 0, of "view:feature" in UTF-8, as 4 bytes little-endian. */
export function featureFieldHash(view: string, feature: string): Buffer {
  return u32(murmur3x86_32(utf8.encode(`${view}:${feature}`), 0));
}

/** The hash field holding a view's event time (a protobuf Timestamp). */
export function timestampField(view: string): Buffer {
  return Buffer.from(`_ts:${view}`, 'utf8');
}

/**
 * Strata-only field holding the created time of the row a view last wrote (a protobuf Timestamp); it breaks ties
 * between rows with the same event time. Feast never reads it.
 */
export function createdField(view: string): Buffer {
  return Buffer.from(`_ct:${view}`, 'utf8');
}

/**
 * Splits a key produced by redisKey into the entity-key part and the project part; undefined if the bytes are not a
 * well-formed v3 key. Used to keep SCAN matches that merely end with the same bytes as the project.
 */
export function splitRedisKey(key: Buffer): { joinKeyNames: string[]; projectBytes: Buffer } | undefined {
  let pos = 0;
  const need = (n: number) => pos + n <= key.length;
  if (!need(4)) return undefined;
  const n = key.readUInt32LE(pos);
  pos += 4;
  if (n === 0 || n > 1024) return undefined;
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    if (!need(8)) return undefined;
    if (key.readUInt32LE(pos) !== ValueType.STRING) return undefined;
    const len = key.readUInt32LE(pos + 4);
    pos += 8;
    if (!need(len)) return undefined;
    names.push(key.toString('utf8', pos, pos + len));
    pos += len;
  }
  for (let i = 0; i < n; i++) {
    if (!need(8)) return undefined;
    const len = key.readUInt32LE(pos + 4);
    pos += 8;
    if (!need(len)) return undefined;
    pos += len;
  }
  return { joinKeyNames: names, projectBytes: key.subarray(pos) };
}

/** Escapes bytes that Redis glob patterns treat specially (* ? [ ] \ ^ -). */
export function globEscape(bytes: Uint8Array): Buffer {
  const out: number[] = [];
  for (const b of bytes) {
    if (b === 0x2a || b === 0x3f || b === 0x5b || b === 0x5d || b === 0x5c || b === 0x5e || b === 0x2d) out.push(0x5c);
    out.push(b);
  }
  return Buffer.from(out);
}

/** A SCAN MATCH pattern for every key of a project with exactly these join keys. */
export function projectKeyPattern(project: string, joinKeys: JoinKey[]): Buffer {
  return Buffer.concat([globEscape(entityKeyPrefixV3(joinKeys)), Buffer.from('*'), globEscape(utf8.encode(project))]);
}
