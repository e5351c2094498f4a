/**
 * Two processor processes in one consumer group share a 4-partition topic while messages keep coming: the second
 * one joining moves partitions (a rebalance with rows buffered but not committed), then the first is killed with
 * SIGKILL and the second takes every partition. Offline ends with exactly one row per message produced.
 */
import { eventually } from '@strata/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Child,
  click,
  idempotentProducer,
  spawnStream,
  type StreamFixture,
  streamFixture,
  topicSize,
} from './testing.itest-helpers.js';

const assignments = (c: Child) => c.events.filter((e) => e.event === 'assigned').map((e) => e.partitions as number[]);

describe('two processors share the partitions', () => {
  let fx: StreamFixture;
  beforeAll(async () => {
    fx = await streamFixture({ partitions: 4 });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('a rebalance (a member joins, a member dies) loses and duplicates nothing', async () => {
    const env = fx.env({
      STRATA_STREAM_BATCH_ROWS: '250',
      STRATA_STREAM_BATCH_DELAY_MS: '1500',
      STRATA_STREAM_SESSION_TIMEOUT_MS: '6000',
    });
    const producer = await idempotentProducer();
    let produced = 0;
    let stop = false;
    const users = 200;
    // About 400 messages/s for as long as the test needs, in small sends.
    const producing = (async () => {
      while (!stop) {
        const messages = Array.from({ length: 40 }, (_, k) => click((produced + k) % users, Math.floor((produced + k) / users)));
        await producer.send({ topic: fx.topic, messages });
        produced += messages.length;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const a = spawnStream(env);
    let b: Child | undefined;
    try {
      await eventually(async () => assignments(a).some((p) => p.length === 4), 20_000);
      await eventually(async () => a.events.some((e) => e.event === 'committed'), 20_000);
      b = spawnStream(env);
      const bb = b;
      // Both hold partitions: the group split the topic between the processes.
      await eventually(async () => {
        const la = assignments(a).at(-1) ?? [];
        const lb = assignments(bb).at(-1) ?? [];
        return la.length > 0 && lb.length > 0 && la.length + lb.length === 4 && bb.events.some((e) => e.event === 'committed');
      }, 30_000);
      const split = { a: assignments(a).at(-1), b: assignments(bb).at(-1) };
      expect(new Set([...(split.a ?? []), ...(split.b ?? [])])).toEqual(new Set([0, 1, 2, 3]));
      // The first dies with rows it has not committed; after its session times out the second takes over all.
      await new Promise((r) => setTimeout(r, 700));
      a.proc.kill('SIGKILL');
      await a.exited;
      await eventually(async () => (assignments(bb).at(-1) ?? []).length === 4, 30_000);
      await new Promise((r) => setTimeout(r, 1000));
      stop = true;
      await producing;
      await producer.disconnect();
      const total = await topicSize(fx.admin, fx.topic);
      expect(total).toBe(produced);
      await eventually(async () => (await fx.offlineCount()).rows >= total, 40_000);
      await new Promise((r) => setTimeout(r, 2000));
      expect(await fx.offlineCount()).toEqual({ rows: total, distinct: total });
      // Both processes committed part of it.
      expect(a.events.filter((e) => e.event === 'committed').length).toBeGreaterThan(0);
      expect(bb.events.filter((e) => e.event === 'committed').length).toBeGreaterThan(0);
      // Online: every user holds its latest event.
      const reads = await fx.online.readFeatures(
        fx.scope.project,
        Array.from({ length: users }, (_, u) => ({ user_id: u })),
        [{ view: fx.view.spec, joinKeys: fx.view.joinKeys, features: ['clicks'] }],
      );
      reads.forEach((r, u) => {
        const last = Math.floor((total - 1 - ((total - 1 - u) % users)) / users);
        expect(r['clicks:clicks']?.value).toBe(last);
      });
    } finally {
      stop = true;
      a.proc.kill('SIGKILL');
      if (b) {
        b.proc.kill('SIGTERM');
        await b.exited;
      }
    }
  });
});
