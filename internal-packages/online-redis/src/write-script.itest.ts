/**
 * The newer-wins write script on real Redis, on the fields it keeps beside the features: one read of both stored
 * times, a created time written only when given, and a stale created time removed when a newer row has none.
 */
import { randomUUID } from 'node:crypto';
import type { FeatureViewSpec, JoinKey } from '@strata/core';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createdField, redisKey, timestampField } from './keys.js';
import type { OnlineViewRef } from '@strata/online-store';
import { RedisOnlineStore } from './store.js';

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
