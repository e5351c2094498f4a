/**
 * Exactly once offline under a real crash: the processor (its own process) is killed with SIGKILL while it holds
 * messages it has written to Redis but not yet committed offline. Kafka's committed offsets are then moved to the
 * end of the topic, so a processor that trusted them would lose the uncommitted messages; the restarted processor
 * must seek to the offsets stored in Postgres and end with exactly one offline row per message produced.
 */
import { eventually } from '@strata/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { click, idempotentProducer, spawnStream, type StreamFixture, streamFixture, topicSize } from './testing.itest-helpers.js';

describe('exactly once offline (kill -9 of the processor)', () => {
  let fx: StreamFixture;
  beforeAll(async () => {
    fx = await streamFixture({ partitions: 4 });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('loses and duplicates nothing when killed between the Redis write and the offline commit', async () => {
    const users = 100;
    const first = 1000;
    const producer = await idempotentProducer();
    await producer.send({
      topic: fx.topic,
      messages: Array.from({ length: first }, (_, n) => click(n % users, Math.floor(n / users))),
    });
    const group = fx.view.spec.stream?.consumerGroup as string;

    // Micro-batches of 300 rows and a time bound far away: 900 rows are committed, 100 only online.
    const a = spawnStream(
      fx.env({
        STRATA_STREAM_BATCH_ROWS: '300',
        STRATA_STREAM_BATCH_DELAY_MS: '600000',
        STRATA_STREAM_SESSION_TIMEOUT_MS: '6000',
      }),
    );
    try {
      const lastRound = Math.floor((first - 1) / users);
      await eventually(async () => {
        const reads = await fx.online.readFeatures(
          fx.scope.project,
          Array.from({ length: users }, (_, u) => ({ user_id: u })),
          [{ view: fx.view.spec, joinKeys: fx.view.joinKeys, features: ['clicks'] }],
        );
        return reads.every((r) => r['clicks:clicks']?.value === lastRound);
      }, 30_000);
      await eventually(async () => (await fx.offlineCount()).rows === 900, 30_000);
    } finally {
      a.proc.kill('SIGKILL');
    }
    expect(await a.exited).toBe(null);
    expect(a.events.some((e) => e.event === 'committed')).toBe(true);
    // Killed between the two writes: every message is online, 100 are not offline.
    expect(await fx.offlineCount()).toEqual({ rows: 900, distinct: 900 });

    // Kafka's own committed offsets jump to the end of the topic (once the dead member's session has expired).
    const ends = await fx.admin.fetchTopicOffsets(fx.topic);
    await eventually(
      async () => {
        await fx.admin.setOffsets({
          groupId: group,
          topic: fx.topic,
          partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })),
        });
        return true;
      },
      30_000,
      500,
    );

    // More messages while the processor is down, then a restart with a short time bound.
    await producer.send({
      topic: fx.topic,
      messages: Array.from({ length: 200 }, (_, n) => click(n % users, 100 + Math.floor(n / users))),
    });
    await producer.disconnect();
    const total = await topicSize(fx.admin, fx.topic);
    expect(total).toBe(first + 200);
    const b = spawnStream(fx.env({ STRATA_STREAM_BATCH_ROWS: '300', STRATA_STREAM_BATCH_DELAY_MS: '200' }));
    try {
      await eventually(async () => (await fx.offlineCount()).rows >= total, 40_000);
      await new Promise((r) => setTimeout(r, 1000));
      expect(await fx.offlineCount()).toEqual({ rows: total, distinct: total });
      const assigned = b.events.find((e) => e.event === 'assigned') as { stored: Record<string, string> } | undefined;
      // It started from what Postgres stored (900 rows' worth), not from Kafka's end offsets.
      expect(Object.values(assigned?.stored ?? {}).reduce((n, o) => n + Number(o), 0)).toBe(900);
    } finally {
      b.proc.kill('SIGTERM');
      await b.exited;
    }
    const { rows } = await fx.pool.query<{ s: number }>(
      `SELECT sum(next_offset)::int AS s FROM "${fx.fresh.schema}".stream_offsets WHERE consumer_group = $1`,
      [group],
    );
    expect(rows[0]?.s).toBe(total);
  });
});
