/**
 * RedisOnlineStore on a real Redis (STRATA_REDIS_URL, default the local stack's 127.0.0.1:6380). Each test uses its
 * own project names, so tests never see each other's keys.
 */
import { randomUUID } from 'node:crypto';
import type { FeatureViewSpec, JoinKey } from '@strata/core';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featureFieldHash, redisKey } from './keys.js';
import { decodeTimestamp } from './proto.js';
import { type OnlineViewRef, RedisOnlineStore } from './store.js';

const REDIS_URL = process.env.STRATA_REDIS_URL ?? 'redis://127.0.0.1:6380';

const userKey: JoinKey[] = [{ name: 'user_id', valueType: 'INT64' }];
const userPromoKeys: JoinKey[] = [
  { name: 'user_id', valueType: 'INT64' },
  { name: 'promo', valueType: 'STRING' },
];

function view(name: string, features: FeatureViewSpec['features'], ttlSeconds = 0): FeatureViewSpec {
  return { name, entities: ['user'], features, timestampField: 'event_timestamp', ttlSeconds, online: true };
}

const allTypes = view('all_types', [
  { name: 'i32', valueType: 'INT32' },
  { name: 'i64', valueType: 'INT64' },
  { name: 'f32', valueType: 'FLOAT' },
  { name: 'f64', valueType: 'DOUBLE' },
  { name: 's', valueType: 'STRING' },
  { name: 'b', valueType: 'BOOL' },
  { name: 'raw', valueType: 'BYTES' },
  { name: 'ts', valueType: 'UNIX_TIMESTAMP' },
  { name: 'tags', valueType: 'STRING_LIST' },
  { name: 'scores', valueType: 'DOUBLE_LIST' },
  { name: 'ids', valueType: 'INT64_LIST' },
]);
const clicks = view('clicks', [
  { name: 'clicks_7d', valueType: 'INT64' },
  { name: 'ctr', valueType: 'DOUBLE' },
]);
const profile = view('profile', [{ name: 'country', valueType: 'STRING' }]);

let store: RedisOnlineStore;
let raw: Redis;
const projects: string[] = [];

function project(): string {
  const p = `t_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  projects.push(p);
  return p;
}

const at = (iso: string) => new Date(iso);

beforeAll(async () => {
  store = RedisOnlineStore.connect(REDIS_URL);
  raw = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  await store.ping();
});

afterAll(async () => {
  for (const p of projects) {
    let cursor = '0';
    do {
      const [next, keys] = (await raw.callBuffer('SCAN', cursor, 'MATCH', `*${p}`, 'COUNT', 1000)) as [Buffer, Buffer[]];
      cursor = next.toString();
      if (keys.length) await raw.del(...keys);
    } while (cursor !== '0');
  }
  await store.close();
  raw.disconnect();
});

describe('RedisOnlineStore on real Redis', () => {
  it('round-trips every value type with statuses PRESENT, NULL_VALUE and NOT_FOUND', async () => {
    const ref: OnlineViewRef = { project: project(), view: allTypes, joinKeys: userKey };
    const values = {
      i32: -7,
      i64: 2n ** 62n,
      f32: 1.5,
      f64: 0.1,
      s: 'Жёлтый',
      b: false,
      raw: new Uint8Array([0, 255, 42]),
      ts: at('2020-12-07T10:30:05Z'),
      tags: ['a', 'b'],
      scores: [0.5, -1],
      ids: [1, 2n ** 60n],
    };
    const eventTime = at('2024-05-01T12:00:00.123Z');
    const res = await store.writeRows(ref, [
      { entityKey: { user_id: 1 }, eventTime, values },
      { entityKey: { user_id: 2n }, eventTime, values: { ...values, s: null, tags: null } },
    ]);
    expect(res).toEqual({ written: 2, skippedOlder: 0 });

    const features = allTypes.features.map((f) => f.name);
    const out = await store.readFeatures(
      ref.project,
      [{ user_id: 1 }, { user_id: '2' }, { user_id: 3 }],
      [{ view: allTypes, joinKeys: userKey, features }],
    );
    expect(out).toHaveLength(3);
    const one = out[0]!;
    for (const [k, v] of Object.entries(values)) {
      expect(one[`all_types:${k}`]).toEqual({
        value: v instanceof Uint8Array ? new Uint8Array(v) : v,
        status: 'PRESENT',
        eventTime,
      });
    }
    expect(out[1]!['all_types:s']).toEqual({ value: null, status: 'NULL_VALUE', eventTime });
    expect(out[1]!['all_types:tags']!.status).toBe('NULL_VALUE');
    expect(out[1]!['all_types:i32']!.status).toBe('PRESENT');
    expect(out[2]!['all_types:i64']).toEqual({ value: null, status: 'NOT_FOUND', eventTime: null });
  });

  it('stores the Feast layout: key, mmh3 fields and _ts:<view>', async () => {
    const p = project();
    await store.writeRows({ project: p, view: clicks, joinKeys: userPromoKeys }, [
      { entityKey: { promo: 'spring', user_id: 7 }, eventTime: at('2024-01-01T00:00:00Z'), values: { clicks_7d: 3, ctr: 0.25 } },
    ]);
    const key = redisKey(p, userPromoKeys, { user_id: 7, promo: 'spring' });
    // HGETALL as raw buffers: the field names are binary.
    const flat = (await raw.callBuffer('HGETALL', key)) as Buffer[];
    const fields = new Map<string, Buffer>();
    for (let i = 0; i < flat.length; i += 2) fields.set(flat[i]!.toString('hex'), flat[i + 1]!);
    const hex = (s: string | Buffer) => Buffer.from(s).toString('hex');
    expect([...fields.keys()].sort()).toEqual(
      [hex(featureFieldHash('clicks', 'clicks_7d')), hex(featureFieldHash('clicks', 'ctr')), hex('_ts:clicks')].sort(),
    );
    expect(decodeTimestamp(fields.get(hex('_ts:clicks'))!)).toEqual(at('2024-01-01T00:00:00Z'));
    // No created time given: no Strata-only field either.
    expect(fields.has(hex('_ct:clicks'))).toBe(false);
  });

  it('newer wins: out-of-order batches, duplicates in a batch and retries never regress', async () => {
    const ref: OnlineViewRef = { project: project(), view: clicks, joinKeys: userKey };
    const t1 = at('2024-01-01T00:00:00Z');
    const t2 = at('2024-01-02T00:00:00Z');
    const t3 = at('2024-01-03T00:00:00Z');
    expect(
      await store.writeRows(ref, [{ entityKey: { user_id: 1 }, eventTime: t2, values: { clicks_7d: 2, ctr: 0.2 } }]),
    ).toEqual({
      written: 1,
      skippedOlder: 0,
    });
    // An older batch arriving late, with a duplicate key whose rows come newest-first.
    expect(
      await store.writeRows(ref, [
        { entityKey: { user_id: 1 }, eventTime: t1, values: { clicks_7d: 1, ctr: 0.1 } },
        { entityKey: { user_id: 2 }, eventTime: t3, values: { clicks_7d: 30, ctr: 0.3 } },
        { entityKey: { user_id: 2 }, eventTime: t1, values: { clicks_7d: 10, ctr: 0.1 } },
      ]),
    ).toEqual({ written: 1, skippedOlder: 2 });
    // A retry of the same batch changes nothing (equal event time, no created time).
    expect(await store.writeRows(ref, [{ entityKey: { user_id: 1 }, eventTime: t2, values: { clicks_7d: 99, ctr: 9 } }])).toEqual(
      {
        written: 0,
        skippedOlder: 1,
      },
    );
    const read = () =>
      store.readFeatures(
        ref.project,
        [{ user_id: 1 }, { user_id: 2 }],
        [{ view: clicks, joinKeys: userKey, features: ['clicks_7d'] }],
      );
    let out = await read();
    expect(out.map((r) => r['clicks:clicks_7d']!.value)).toEqual([2, 30]);
    expect(out[0]!['clicks:clicks_7d']!.eventTime).toEqual(t2);

    // Equal event time: a later created time wins, an earlier or equal one does not.
    await store.writeRows(ref, [
      { entityKey: { user_id: 1 }, eventTime: t3, createdTime: t3, values: { clicks_7d: 3, ctr: 0.3 } },
    ]);
    expect(
      await store.writeRows(ref, [
        { entityKey: { user_id: 1 }, eventTime: t3, createdTime: t2, values: { clicks_7d: -1, ctr: 0 } },
        { entityKey: { user_id: 1 }, eventTime: t3, createdTime: t3, values: { clicks_7d: -2, ctr: 0 } },
        { entityKey: { user_id: 1 }, eventTime: t3, createdTime: at('2024-01-04T00:00:00Z'), values: { clicks_7d: 4, ctr: 0.4 } },
      ]),
    ).toEqual({ written: 1, skippedOlder: 2 });
    out = await read();
    expect(out[0]!['clicks:clicks_7d']!.value).toBe(4);
  });

  it('newer wins also before 1970 and at the epoch (the script decodes negative Timestamp varints)', async () => {
    const ref: OnlineViewRef = { project: project(), view: clicks, joinKeys: userKey };
    const write = (iso: string, n: number) =>
      store.writeRows(ref, [{ entityKey: { user_id: 1 }, eventTime: at(iso), values: { clicks_7d: n } }]);
    expect((await write('1960-05-01T00:00:00.500Z', 1)).written).toBe(1);
    expect((await write('1950-01-01T00:00:00Z', 2)).written).toBe(0);
    expect((await write('1960-05-01T00:00:00.499Z', 3)).written).toBe(0);
    expect((await write('1960-05-01T00:00:00.501Z', 4)).written).toBe(1);
    expect((await write('1970-01-01T00:00:00Z', 5)).written).toBe(1);
    expect((await write('1969-12-31T23:59:59.999Z', 6)).written).toBe(0);
    expect((await write('1970-01-01T00:00:00.001Z', 7)).written).toBe(1);
    const [row] = await store.readFeatures(
      ref.project,
      [{ user_id: 1 }],
      [{ view: clicks, joinKeys: userKey, features: ['clicks_7d'] }],
    );
    expect(row!['clicks:clicks_7d']).toEqual({ value: 7, status: 'PRESENT', eventTime: at('1970-01-01T00:00:00.001Z') });
  });

  it('writes many rows in pipelined batches', async () => {
    const ref: OnlineViewRef = { project: project(), view: clicks, joinKeys: userKey };
    const eventTime = at('2024-02-01T00:00:00Z');
    const rows = Array.from({ length: 1234 }, (_, i) => ({
      entityKey: { user_id: i },
      eventTime,
      values: { clicks_7d: i, ctr: i / 10 },
    }));
    expect(await store.writeRows(ref, rows)).toEqual({ written: 1234, skippedOlder: 0 });
    const entities = rows.map((r) => r.entityKey);
    const out = await store.readFeatures(ref.project, entities, [
      { view: clicks, joinKeys: userKey, features: ['clicks_7d', 'ctr'] },
    ]);
    expect(out.every((r, i) => r['clicks:clicks_7d']!.value === i && r['clicks:ctr']!.value === i / 10)).toBe(true);
  });

  it('gives OUTSIDE_MAX_AGE for rows older than the view TTL', async () => {
    const short = view('short_lived', [{ name: 'x', valueType: 'INT32' }], 3600);
    const p = project();
    const now = at('2024-03-01T12:00:00Z');
    await store.writeRows({ project: p, view: short, joinKeys: userKey }, [
      { entityKey: { user_id: 1 }, eventTime: at('2024-03-01T11:30:00Z'), values: { x: 1 } },
      { entityKey: { user_id: 2 }, eventTime: at('2024-03-01T10:00:00Z'), values: { x: 2 } },
    ]);
    const out = await store.readFeatures(
      p,
      [{ user_id: 1 }, { user_id: 2 }],
      [{ view: short, joinKeys: userKey, features: ['x'] }],
      {
        now,
      },
    );
    expect(out[0]!['short_lived:x']).toMatchObject({ value: 1, status: 'PRESENT' });
    expect(out[1]!['short_lived:x']).toEqual({ value: null, status: 'OUTSIDE_MAX_AGE', eventTime: at('2024-03-01T10:00:00Z') });
  });

  it('reads several views of the same entity in one call', async () => {
    const p = project();
    const eventTime = at('2024-03-01T00:00:00Z');
    await store.writeRows({ project: p, view: clicks, joinKeys: userKey }, [
      { entityKey: { user_id: 5 }, eventTime, values: { clicks_7d: 5 } },
    ]);
    await store.writeRows({ project: p, view: profile, joinKeys: userKey }, [
      { entityKey: { user_id: 5 }, eventTime, values: { country: 'NL' } },
    ]);
    const [row] = await store.readFeatures(
      p,
      [{ user_id: 5 }],
      [
        { view: clicks, joinKeys: userKey, features: ['clicks_7d', 'ctr'] },
        { view: profile, joinKeys: userKey, features: ['country'] },
      ],
    );
    expect(row!['clicks:clicks_7d']!.value).toBe(5);
    expect(row!['clicks:ctr']!.status).toBe('NULL_VALUE');
    expect(row!['profile:country']!.value).toBe('NL');
  });

  it('deleteView removes one view and leaves other views and projects alone', async () => {
    const p = project();
    const longer = `x${p}`; // ends with the same bytes as p: must not be touched
    projects.push(longer);
    const eventTime = at('2024-04-01T00:00:00Z');
    const rows = [1, 2, 3].map((id) => ({
      entityKey: { user_id: id },
      eventTime,
      values: { clicks_7d: id, ctr: 0.5, country: 'DE' },
    }));
    for (const proj of [p, longer]) await store.writeRows({ project: proj, view: clicks, joinKeys: userKey }, rows);
    await store.writeRows({ project: p, view: profile, joinKeys: userKey }, rows.slice(0, 2));
    // Same view name keyed differently lives in other hashes.
    await store.writeRows({ project: p, view: clicks, joinKeys: userPromoKeys }, [
      { entityKey: { user_id: 1, promo: 'a' }, eventTime, values: { clicks_7d: 1 } },
    ]);

    expect(await store.deleteView({ project: p, view: clicks, joinKeys: userKey })).toEqual({ keysTouched: 3 });
    expect(await store.deleteView({ project: p, view: clicks, joinKeys: userKey })).toEqual({ keysTouched: 0 });

    const entities = [{ user_id: 1 }, { user_id: 2 }, { user_id: 3 }];
    const sel = [
      { view: clicks, joinKeys: userKey, features: ['clicks_7d'] },
      { view: profile, joinKeys: userKey, features: ['country'] },
    ];
    const out = await store.readFeatures(p, entities, sel);
    expect(out.map((r) => r['clicks:clicks_7d']!.status)).toEqual(['NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND']);
    expect(out.map((r) => r['profile:country']!.status)).toEqual(['PRESENT', 'PRESENT', 'NOT_FOUND']);
    // Entity 3 had only the deleted view: its hash is gone.
    expect(await raw.exists(redisKey(p, userKey, { user_id: 3 }))).toBe(0);
    expect(await raw.hlen(redisKey(p, userKey, { user_id: 1 }))).toBe(2);
    // The other project and the other key set are untouched.
    const other = await store.readFeatures(longer, entities, [sel[0]!]);
    expect(other.map((r) => r['clicks:clicks_7d']!.value)).toEqual([1, 2, 3]);
    const promo = await store.readFeatures(
      p,
      [{ user_id: 1, promo: 'a' }],
      [{ view: clicks, joinKeys: userPromoKeys, features: ['clicks_7d'] }],
    );
    expect(promo[0]!['clicks:clicks_7d']!.value).toBe(1);
  });

  it('sets key expiry without ever shortening it', async () => {
    const p = project();
    const eventTime = at('2024-05-01T00:00:00Z');
    const key = redisKey(p, userKey, { user_id: 1 });
    await store.writeRows(
      { project: p, view: clicks, joinKeys: userKey },
      [{ entityKey: { user_id: 1 }, eventTime, values: {} }],
      {
        keyTtlSeconds: 1000,
      },
    );
    const first = await raw.pttl(key);
    expect(first).toBeGreaterThan(990_000);
    await store.writeRows(
      { project: p, view: profile, joinKeys: userKey },
      [{ entityKey: { user_id: 1 }, eventTime, values: {} }],
      {
        keyTtlSeconds: 10,
      },
    );
    expect(await raw.pttl(key)).toBeGreaterThan(990_000);
    await store.writeRows(
      { project: p, view: profile, joinKeys: userKey },
      [{ entityKey: { user_id: 1 }, eventTime: at('2024-05-02T00:00:00Z'), values: {} }],
      {
        keyTtlSeconds: 5000,
      },
    );
    expect(await raw.pttl(key)).toBeGreaterThan(4_990_000);
    // Without keyTtlSeconds no expiry is added to a new key.
    await store.writeRows({ project: p, view: clicks, joinKeys: userKey }, [
      { entityKey: { user_id: 2 }, eventTime, values: {} },
    ]);
    expect(await raw.pttl(redisKey(p, userKey, { user_id: 2 }))).toBe(-1);
  });

  it('rejects bad input clearly and writes nothing', async () => {
    const p = project();
    const ref: OnlineViewRef = { project: p, view: clicks, joinKeys: userPromoKeys };
    const eventTime = at('2024-05-01T00:00:00Z');
    await expect(
      store.writeRows(ref, [
        { entityKey: { user_id: 1, promo: 'a' }, eventTime, values: { clicks_7d: 1 } },
        { entityKey: { user_id: 2 }, eventTime, values: { clicks_7d: 2 } },
      ]),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/row 1.*'promo'/) });
    await expect(
      store.writeRows(ref, [{ entityKey: { user_id: 1, promo: 'a' }, eventTime, values: { clicks_7d: 'many' } }]),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('clicks_7d') });
    expect(await raw.exists(redisKey(p, userPromoKeys, { user_id: 1, promo: 'a' }))).toBe(0);

    const sel = [{ view: clicks, joinKeys: userPromoKeys, features: ['clicks_7d'] }];
    await expect(store.readFeatures(p, [{ user_id: 1 }], sel)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining("'promo'"),
    });
    await expect(store.readFeatures(p, [{ user_id: 'seven', promo: 'a' }], sel)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('user_id'),
    });
    await expect(store.readFeatures(p, [{ user_id: 1, promo: 'a' }], [{ ...sel[0]!, features: ['nope'] }])).rejects.toMatchObject(
      {
        code: 'UNKNOWN_FEATURE',
      },
    );
  });

  it('re-loads the write script after Redis forgets it (NOSCRIPT)', async () => {
    const ref: OnlineViewRef = { project: project(), view: clicks, joinKeys: userKey };
    await store.writeRows(ref, [{ entityKey: { user_id: 1 }, eventTime: at('2024-01-01T00:00:00Z'), values: { clicks_7d: 1 } }]);
    await raw.script('FLUSH');
    expect(
      await store.writeRows(ref, [
        { entityKey: { user_id: 1 }, eventTime: at('2024-01-02T00:00:00Z'), values: { clicks_7d: 2 } },
      ]),
    ).toEqual({ written: 1, skippedOlder: 0 });
  });
});
