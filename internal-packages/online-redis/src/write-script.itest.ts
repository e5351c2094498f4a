/**
 * The newer-wins write script on real Redis, on the fields it keeps beside the features: one read of both stored
 * times, a created time written only when given, and a stale created time removed when a newer row has none.
 */
import { randomUUID } from 'node:crypto';
import type { FeatureViewSpec, JoinKey } from '@strata/core';
import calculateSlot from 'cluster-key-slot';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createdField, redisKey, timestampField } from './keys.js';
import type { OnlineViewRef, OnlineWriteRow } from '@strata/online-store';
import { parseClusterNodes, RedisClusterOnlineStore } from './cluster.js';
import { CLUSTER_URL } from './raw.itest-helpers.js';
import { type FeastRedisStore, RedisOnlineStore } from './store.js';

const REDIS_URL = process.env.STRATA_REDIS_URL ?? 'redis://127.0.0.1:6380';
const userKey: JoinKey[] = [{ name: 'user_id', valueType: 'INT64' }];
const v = {
  name: 'ws',
  entities: ['user'],
  timestampField: 'ts',
  ttlSeconds: 0,
  online: true,
  features: [{ name: 'n', valueType: 'INT64' }],
} as FeatureViewSpec;

describe('the write script keeps the created-time field right', () => {
  let store: RedisOnlineStore;
  let raw: Redis;
  beforeAll(() => {
    store = RedisOnlineStore.connect(REDIS_URL);
    raw = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await store.close();
    raw.disconnect();
  });

  it('writes _ct only with a created time and removes a stale one when a newer row has none', async () => {
    const ref: OnlineViewRef = { project: `p${randomUUID().replace(/-/g, '').slice(0, 8)}`, view: v, joinKeys: userKey };
    const key = redisKey(ref.project, userKey, { user_id: 1 });
    const fields = async () => Object.keys(await raw.hgetallBuffer(key)).sort();
    const t = (h: number) => new Date(Date.UTC(2024, 0, 1, h));
    await store.writeRows(ref, [{ entityKey: { user_id: 1 }, eventTime: t(1), values: { n: 1 } }]);
    expect((await fields()).includes(createdField('ws').toString())).toBe(false);
    expect((await fields()).includes(timestampField('ws').toString())).toBe(true);
    await store.writeRows(ref, [{ entityKey: { user_id: 1 }, eventTime: t(2), createdTime: t(2), values: { n: 2 } }]);
    expect((await fields()).includes(createdField('ws').toString())).toBe(true);
    // Equal event time, no created time: loses to the stored row with one.
    expect(await store.writeRows(ref, [{ entityKey: { user_id: 1 }, eventTime: t(2), values: { n: 9 } }])).toEqual({
      written: 0,
      skippedOlder: 1,
    });
    // A later event time without a created time wins and takes the stale created time away.
    expect((await store.writeRows(ref, [{ entityKey: { user_id: 1 }, eventTime: t(3), values: { n: 3 } }])).written).toBe(1);
    expect((await fields()).includes(createdField('ws').toString())).toBe(false);
    const [row] = await store.readFeatures(ref.project, [{ user_id: 1 }], [{ view: v, joinKeys: userKey, features: ['n'] }]);
    expect(row?.['ws:n']?.value).toBe(3);
  });

  it('runs each row of a batch through its variant: without a created time only a later event time wins', async () => {
    const ref: OnlineViewRef = { project: `p${randomUUID().replace(/-/g, '').slice(0, 8)}`, view: v, joinKeys: userKey };
    const t = (h: number) => new Date(Date.UTC(2024, 0, 1, h));
    const read = async (ids: number[]) =>
      (
        await store.readFeatures(
          ref.project,
          ids.map((user_id) => ({ user_id })),
          [{ view: v, joinKeys: userKey, features: ['n'] }],
        )
      ).map((r) => r?.['ws:n']?.value);
    // One batch mixing both variants (users 1, 3 without a created time; user 2 with one).
    await store.writeRows(ref, [
      { entityKey: { user_id: 1 }, eventTime: t(5), values: { n: 1 } },
      { entityKey: { user_id: 2 }, eventTime: t(5), createdTime: t(5), values: { n: 2 } },
      { entityKey: { user_id: 3 }, eventTime: t(5), values: { n: 3 } },
    ]);
    expect(await read([1, 2, 3])).toEqual([1, 2, 3]);
    const second = await store.writeRows(ref, [
      { entityKey: { user_id: 1 }, eventTime: t(5), values: { n: 10 } }, // equal event time, no created: skipped
      { entityKey: { user_id: 1 }, eventTime: t(4), values: { n: 11 } }, // older: skipped
      { entityKey: { user_id: 2 }, eventTime: t(5), createdTime: t(6), values: { n: 20 } }, // later created: wins
      { entityKey: { user_id: 3 }, eventTime: t(6), values: { n: 30 } }, // later event time: wins
    ]);
    expect(second).toEqual({ written: 2, skippedOlder: 2 });
    expect(await read([1, 2, 3])).toEqual([1, 20, 30]);
    // The variant's script survives a SCRIPT FLUSH like the other (NOSCRIPT: both loaded again).
    await raw.script('FLUSH');
    expect((await store.writeRows(ref, [{ entityKey: { user_id: 1 }, eventTime: t(7), values: { n: 40 } }])).written).toBe(1);
    expect(await read([1])).toEqual([40]);
  });
});

/**
 * Many rows per script call against the one-row path: the same rows, for few keys, with older, equal and newer event
 * and created times mixed, written once as one call and once one row per call, end in the same fields and counts,
 * and both match the rule computed here row by row.
 */
interface Stored {
  ev: number;
  ct: number | undefined;
}

function mixedRows(keys: number[], n: number) {
  let seed = 7;
  const next = (m: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % m;
  };
  const t = (h: number) => new Date(Date.UTC(2024, 0, 1, h));
  return Array.from({ length: n }, (_, i) => {
    const ev = next(4);
    const ct = next(3);
    const row: OnlineWriteRow = { entityKey: { user_id: keys[next(keys.length)] }, eventTime: t(ev), values: { n: i } };
    if (ct > 0) row.createdTime = t(ct);
    return row;
  });
}

/** The newer-wins rule row by row: the expected written count and the winning value per key. */
function expected(rows: OnlineWriteRow[]): { written: number; value: Map<unknown, unknown> } {
  const stored = new Map<unknown, Stored>();
  const value = new Map<unknown, unknown>();
  let written = 0;
  for (const r of rows) {
    const id = r.entityKey.user_id;
    const ev = r.eventTime.getTime();
    const ct = r.createdTime ? r.createdTime.getTime() : undefined;
    const prev = stored.get(id);
    const wins = !prev || ev > prev.ev || (ev === prev.ev && ct !== undefined && prev.ct !== undefined && ct > prev.ct);
    if (!wins) continue;
    written++;
    stored.set(id, { ev, ct });
    value.set(id, r.values.n);
  }
  return { written, value };
}

function sameAsOneRowPath(
  name: string,
  open: () => FeastRedisStore,
  raw: () => { hgetallBuffer(k: Buffer): Promise<Record<string, Buffer>>; pttl(k: Buffer): Promise<number>; disconnect(): void },
  keysFor: (project: string) => number[],
) {
  describe(`many rows per call on ${name}`, () => {
    let store: FeastRedisStore;
    let r: ReturnType<typeof raw>;
    beforeAll(() => {
      store = open();
      r = raw();
    });
    afterAll(async () => {
      await store.close();
      r.disconnect();
    });

    it('gives exactly the newer-wins result of one row per call, for mixed older and newer rows of few keys', async () => {
      const projects = [0, 1].map(() => `p${randomUUID().replace(/-/g, '').slice(0, 8)}`);
      const ids = keysFor(projects[0] as string);
      const rows = mixedRows(ids, 90);
      const refs = projects.map((project): OnlineViewRef => ({ project, view: v, joinKeys: userKey }));
      const [batched, single] = refs as [OnlineViewRef, OnlineViewRef];
      const many = await store.writeRows(batched, rows, { keyTtlSeconds: 600 });
      let one = 0;
      for (const row of rows) one += (await store.writeRows(single, [row], { keyTtlSeconds: 600 })).written;
      const want = expected(rows);
      expect(many).toEqual({ written: want.written, skippedOlder: rows.length - want.written });
      expect(one).toBe(want.written);
      // Some rows lost (older or tied) and some keys were written more than once: the case under test.
      expect(want.written).toBeGreaterThan(ids.length);
      expect(want.written).toBeLessThan(rows.length);
      for (const id of ids) {
        const [a, b] = await Promise.all(projects.map((p) => r.hgetallBuffer(redisKey(p, userKey, { user_id: id }))));
        expect(a).toEqual(b);
        const [read] = await store.readFeatures(
          batched.project,
          [{ user_id: id }],
          [{ view: v, joinKeys: userKey, features: ['n'] }],
        );
        expect(read?.['ws:n']?.value).toBe(want.value.get(id));
        expect(Boolean(a?.[createdField('ws').toString()])).toBe(
          rows.find((x) => x.values.n === want.value.get(id))?.createdTime !== undefined,
        );
        expect(await r.pttl(redisKey(batched.project, userKey, { user_id: id }))).toBeGreaterThan(0);
      }
    });
  });
}

sameAsOneRowPath(
  'Redis',
  () => RedisOnlineStore.connect(REDIS_URL),
  () => new Redis(REDIS_URL),
  () => [1, 2, 3, 4, 5],
);

const clusterUrl = CLUSTER_URL ?? (process.env.CI === 'true' ? 'redis://127.0.0.1:1' : undefined);
describe.skipIf(!clusterUrl)('on Redis Cluster (needs STRATA_REDIS_CLUSTER_URL, from infra/stack.sh cluster-up)', () => {
  // Five entity keys that share the slot of user 1's key in the batched project, so one call holds rows of
  // different keys there too.
  sameAsOneRowPath(
    'Redis Cluster',
    () => RedisClusterOnlineStore.connect(clusterUrl as string),
    () => new Cluster(parseClusterNodes(clusterUrl as string).nodes, { redisOptions: { maxRetriesPerRequest: 2 } }),
    (project) => {
      const slot = calculateSlot(redisKey(project, userKey, { user_id: 1 }));
      const ids = [1];
      for (let id = 2; ids.length < 5; id++) {
        if (calculateSlot(redisKey(project, userKey, { user_id: id })) === slot) ids.push(id);
      }
      return ids;
    },
  );
});
