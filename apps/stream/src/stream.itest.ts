import { eventually } from '@strata/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStreamMetrics } from './metrics.js';
import { StreamProcessor } from './processor.js';
import { click, idempotentProducer, readTopic, type StreamFixture, streamFixture } from './testing.itest-helpers.js';

describe('stream processor (real Kafka, Postgres, Redis)', () => {
  let fx: StreamFixture;
  beforeAll(async () => {
    fx = await streamFixture({ partitions: 4 });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('writes every good message online and offline (with its offsets) and dead-letters the bad ones with the reason', async () => {
    const producer = await idempotentProducer();
    const users = 50;
    const perUser = 10;
    const good = Array.from({ length: users * perUser }, (_, n) => click(n % users, Math.floor(n / users)));
    const bad = [
      { key: 'b1', value: '{"user_id": 1, "ts": ' },
      { key: 'b2', value: JSON.stringify({ ts: '2026-01-01T00:00:00Z', clicks: 1, amount: 1 }) },
      { key: 'b3', value: JSON.stringify({ user_id: 2, ts: '2026-01-01T00:00:00Z', clicks: 'many', amount: 1 }) },
      { key: 'b4', value: JSON.stringify([1, 2, 3]) },
      { key: 'b5', value: JSON.stringify({ user_id: 3, ts: 'yesterday', clicks: 1 }) },
    ];
    await producer.send({ topic: fx.topic, messages: [...good.slice(0, 250), ...bad, ...good.slice(250)] });
    await producer.disconnect();

    const metrics = createStreamMetrics();
    const proc = new StreamProcessor({
      view: fx.view,
      offline: fx.offline,
      online: fx.online,
      metrics,
      batch: { maxRows: 200, maxDelayMs: 200 },
    });
    await proc.start();
    try {
      await eventually(async () => (await fx.offlineCount()).rows >= good.length, 30_000);
      // Micro-batches commit on their own; give a duplicate (if there were one) the time to land.
      await new Promise((r) => setTimeout(r, 500));
      expect(await fx.offlineCount()).toEqual({ rows: good.length, distinct: good.length });

      // Online: each user's latest value (event time perUser - 1).
      const reads = await fx.online.readFeatures(
        fx.scope.project,
        Array.from({ length: users }, (_, u) => ({ user_id: u })),
        [{ view: fx.view.spec, joinKeys: fx.view.joinKeys, features: ['clicks', 'amount'] }],
      );
      for (const r of reads) {
        expect(r['clicks:clicks']?.value).toBe(perUser - 1);
        expect(r['clicks:amount']?.value).toBe((perUser - 1) / 4);
      }

      // Offsets: stored in Postgres, summing to every message of the topic (bad ones included: they are handled).
      const { rows: offs } = await fx.pool.query<{ partition: number; next_offset: number }>(
        `SELECT partition, next_offset FROM "${fx.fresh.schema}".stream_offsets WHERE consumer_group = $1 AND topic = $2`,
        [fx.view.spec.stream?.consumerGroup, fx.topic],
      );
      expect(offs.reduce((n, o) => n + Number(o.next_offset), 0)).toBe(good.length + bad.length);

      // Ordinary commits, visible as ingestions of the view.
      const ings = await fx.offline.listIngestions(fx.scope.project, 'clicks');
      expect(ings.every((i) => i.status === 'committed' && i.source === `kafka:${fx.topic}`)).toBe(true);
      expect(ings.reduce((n, i) => n + i.rowCount, 0)).toBe(good.length);

      // Dead letters: the original message with the reason in headers.
      const dlq = await readTopic(`${fx.topic}.dlq`, bad.length);
      const byKey = new Map(dlq.map((m) => [m.key?.toString(), m]));
      const h = (k: string, name: string) => byKey.get(k)?.headers?.[name]?.toString();
      expect(h('b1', 'strata-error-code')).toBe('DECODE');
      expect(h('b2', 'strata-error-code')).toBe('MISSING_FIELD');
      expect(h('b2', 'strata-error-reason')).toMatch(/field 'user_id' \(column 'user_id', INT64\) is missing/);
      expect(h('b3', 'strata-error-code')).toBe('TYPE');
      expect(h('b3', 'strata-error-column')).toBe('clicks');
      expect(h('b4', 'strata-error-code')).toBe('NOT_OBJECT');
      expect(h('b5', 'strata-error-reason')).toMatch(/column 'ts'.*timestamp/);
      expect(h('b1', 'strata-source-topic')).toBe(fx.topic);
      expect(byKey.get('b3')?.value?.toString()).toBe(bad[2]?.value);
      expect(dlq.length).toBe(bad.length);

      const text = await metrics.registry.metrics();
      expect(text).toMatch(/strata_stream_messages_total\{view="clicks",outcome="dead_letter"\} 5/);
      expect(text).toMatch(new RegExp(`strata_stream_messages_total\\{view="clicks",outcome="ok"\\} ${good.length}`));
    } finally {
      await proc.stop();
    }
  });
});
