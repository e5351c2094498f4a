/**
 * Serialization checked against byte vectors made by the real feast package from PyPI
 * (compat/feast-online/gen_vectors.py writes __fixtures__/feast-vectors.json).
 */
import { readFileSync } from 'node:fs';
import { StrataError, type JoinKey, type ValueTypeName } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { featureFieldHash, globEscape, projectKeyPattern, redisKey, serializeEntityKeyV3, splitRedisKey } from './keys.js';
import { murmur3x86_32 } from './murmur.js';
import {
  decodeTimestamp,
  decodeTypedValue,
  decodeValue,
  encodeCoerced,
  encodeTimestamp,
  encodeValue,
  VALUE_FIELDS,
} from './proto.js';

interface Vectors {
  murmur3: { text: string; seed?: number; hash: number; fieldHex?: string }[];
  entityKeys: {
    name: string;
    project: string;
    joinKeys: JoinKey[];
    values: Record<string, string>;
    entityKeyHex: string;
    redisKeyHex: string;
  }[];
  values: { valueType: ValueTypeName | 'NULL'; value: unknown; hex: string }[];
  timestamps: { iso: string; seconds: number; nanos: number; hex: string }[];
}

const vectors = JSON.parse(readFileSync(new URL('./__fixtures__/feast-vectors.json', import.meta.url), 'utf8')) as Vectors;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

/** The fixture writes bytes as hex (JSON has no bytes); everything else is accepted as the JS input as is. */
function jsInput(t: ValueTypeName, v: unknown): unknown {
  if (v === null) return null;
  if (t === 'BYTES') return fromHex(v as string);
  if (t === 'BYTES_LIST') return (v as string[]).map(fromHex);
  return v;
}

/** What decodeValue should return for a fixture input. */
function expectedOutput(t: ValueTypeName, v: unknown): unknown {
  if (v === null) return null;
  const one = (et: string, x: unknown): unknown => {
    if (et === 'BYTES') return fromHex(x as string);
    if (et === 'UNIX_TIMESTAMP') return new Date(x as string);
    if (et === 'INT64') {
      const b = BigInt(x as string | number);
      return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
    }
    if (et === 'FLOAT') return Math.fround(x as number);
    return x;
  };
  if (t.endsWith('_LIST')) return (v as unknown[]).map((x) => one(t.slice(0, -5), x));
  return one(t, v);
}

describe('murmur3 x86_32 (vs Python mmh3)', () => {
  for (const v of vectors.murmur3) {
    it(`${JSON.stringify(v.text)} seed ${v.seed ?? 0}`, () => {
      expect(murmur3x86_32(new TextEncoder().encode(v.text), v.seed ?? 0)).toBe(v.hash);
      if (v.fieldHex !== undefined) {
        const i = v.text.indexOf(':');
        const field = i >= 0 ? featureFieldHash(v.text.slice(0, i), v.text.slice(i + 1)) : undefined;
        if (field) expect(hex(field)).toBe(v.fieldHex);
      }
    });
  }
});

describe('entity key serialization v3 (vs feast serialize_entity_key / _redis_key)', () => {
  for (const v of vectors.entityKeys) {
    it(`${v.name} in ${v.project}`, () => {
      const values: Record<string, unknown> = { ...v.values };
      for (const k of v.joinKeys) if (k.valueType === 'BYTES') values[k.name] = fromHex(v.values[k.name] as string);
      expect(hex(serializeEntityKeyV3(v.joinKeys, values))).toBe(v.entityKeyHex);
      const key = redisKey(v.project, v.joinKeys, values);
      expect(hex(key)).toBe(v.redisKeyHex);
      const split = splitRedisKey(key);
      expect(split?.projectBytes.toString('utf8')).toBe(v.project);
      expect(split?.joinKeyNames).toEqual(v.joinKeys.map((k) => k.name).sort());
    });
  }

  it('accepts INT64 as number, bigint or integer text, all to the same bytes', () => {
    const keys: JoinKey[] = [{ name: 'id', valueType: 'INT64' }];
    const a = serializeEntityKeyV3(keys, { id: 12 });
    expect(serializeEntityKeyV3(keys, { id: 12n })).toEqual(a);
    expect(serializeEntityKeyV3(keys, { id: '12' })).toEqual(a);
  });

  it('names the missing join key', () => {
    const keys: JoinKey[] = [
      { name: 'user_id', valueType: 'INT64' },
      { name: 'promo', valueType: 'STRING' },
    ];
    try {
      serializeEntityKeyV3(keys, { user_id: 1 });
      expect.unreachable();
    } catch (err) {
      expect(StrataError.is(err, 'INVALID_INPUT')).toBe(true);
      expect((err as Error).message).toContain("'promo'");
    }
  });

  it('rejects wrong key types with INVALID_INPUT', () => {
    const keys: JoinKey[] = [{ name: 'user_id', valueType: 'INT64' }];
    for (const bad of ['abc', 1.5, true, null, 2n ** 63n]) {
      expect(() => serializeEntityKeyV3(keys, { user_id: bad })).toThrow(
        expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringContaining('user_id') }),
      );
    }
    expect(() => serializeEntityKeyV3([{ name: 's', valueType: 'INT32' }], { s: 2 ** 31 })).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT' }),
    );
  });

  it('rejects join key types Feast cannot serialize', () => {
    expect(() => serializeEntityKeyV3([{ name: 'x', valueType: 'DOUBLE' }], { x: 1 })).toThrow(
      expect.objectContaining({ code: 'INVALID_SPEC' }),
    );
  });

  it('escapes glob characters in SCAN patterns', () => {
    expect(globEscape(Buffer.from('a*b?[c]\\')).toString()).toBe('a\\*b\\?\\[c\\]\\\\');
    // A join key name 42 bytes long makes a length byte that is '*'.
    const name = 'k'.repeat(42);
    const pattern = projectKeyPattern('p*', [{ name, valueType: 'INT64' }]);
    expect(pattern.includes(Buffer.from('\\*\x00\x00\x00k', 'latin1'))).toBe(true);
    expect(pattern.subarray(-3).toString()).toBe('p\\*');
  });
});

describe('Feast Value encoding (vs feast python_values_to_proto_values)', () => {
  for (const v of vectors.values) {
    if (v.valueType === 'NULL') {
      it('null_val decodes as null', () => expect(decodeValue(fromHex(v.hex))).toBeNull());
      continue;
    }
    const t = v.valueType;
    it(`${t} ${JSON.stringify(v.value)}`, () => {
      expect(hex(encodeValue(t, jsInput(t, v.value)))).toBe(v.hex);
      const decoded = decodeTypedValue(fromHex(v.hex));
      expect(decoded.value).toEqual(expectedOutput(t, v.value));
      if (v.value !== null) expect(decoded.valueType).toBe(t);
    });
  }

  it('accepts INT64 as bigint and returns bigint only when unsafe', () => {
    expect(decodeValue(encodeValue('INT64', 5n))).toBe(5);
    expect(decodeValue(encodeValue('INT64', 2n ** 60n))).toBe(2n ** 60n);
    expect(decodeValue(encodeValue('INT64_LIST', [1n, -(2n ** 62n)]))).toEqual([1, -(2n ** 62n)]);
  });

  it('UNIX_TIMESTAMP takes Date, epoch ms or ISO text and keeps whole seconds, as Feast does', () => {
    const d = new Date('2020-12-07T10:30:05.789Z');
    const want = new Date('2020-12-07T10:30:05Z');
    expect(decodeValue(encodeValue('UNIX_TIMESTAMP', d))).toEqual(want);
    expect(decodeValue(encodeValue('UNIX_TIMESTAMP', d.getTime()))).toEqual(want);
    expect(decodeValue(encodeValue('UNIX_TIMESTAMP', d.toISOString()))).toEqual(want);
  });

  it('a null inside a timestamp list uses Feast sentinel; elsewhere it is refused', () => {
    const bytes = encodeValue('UNIX_TIMESTAMP_LIST', [new Date(0), null]);
    expect(decodeValue(bytes)).toEqual([new Date(0), null]);
    expect(() => encodeValue('INT64_LIST', [1, null])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });

  it('refuses values of the wrong type', () => {
    expect(() => encodeValue('INT32', 'x')).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => encodeValue('DOUBLE_LIST', 3)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
});

describe('google.protobuf.Timestamp (vs Timestamp.FromDatetime)', () => {
  for (const v of vectors.timestamps) {
    it(v.iso, () => {
      const d = new Date(v.iso);
      expect(hex(encodeTimestamp(d))).toBe(v.hex);
      expect(decodeTimestamp(fromHex(v.hex))).toEqual(d);
    });
  }
});

describe('the fixed-width fast paths write what protobuf writes', () => {
  const cases: [ValueTypeName, unknown[]][] = [
    ['DOUBLE', [0, -0, 1.5, -2.25e300, Number.MIN_VALUE, Number.MAX_VALUE, Number.NaN, Number.POSITIVE_INFINITY, -1]],
    ['FLOAT', [0, -0, 1.5, 3.4e38, 1e-45, Number.NaN, Number.NEGATIVE_INFINITY, 0.1]],
    ['BOOL', [true, false]],
  ];
  for (const [t, values] of cases) {
    it(`${t}: byte for byte the generic encoder's output, and decodes back`, () => {
      for (const v of values) {
        const fast = Buffer.from(encodeValue(t, v));
        expect(fast.toString('hex'), `${t} ${String(v)}`).toBe(Buffer.from(encodeCoerced(t, VALUE_FIELDS[t], v)).toString('hex'));
        const back = decodeValue(fast);
        if (typeof v === 'number' && Number.isNaN(v)) expect(Number.isNaN(back)).toBe(true);
        else if (t === 'FLOAT') expect(back).toBe(Math.fround(v as number));
        else expect(Object.is(back, v)).toBe(true);
      }
    });
  }
});
