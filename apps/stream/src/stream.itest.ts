import { eventually } from '@strata/testkit';
import avro from 'avsc';
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

  it('keeps the newest event per entity online when a poll holds several, in any order (newer wins)', async () => {
    const producer = await idempotentProducer();
    const t = (s: number) => new Date(Date.UTC(2026, 5, 1, 0, 0, s)).toISOString();
    // One key, so one partition and one poll: event times 3, 1, 5, 2 and an equal-time duplicate of 5.
    const events: [string, number][] = [
      [t(3), 3],
      [t(1), 1],
      [t(5), 5],
      [t(2), 2],
      [t(5), 55],
    ];
    await producer.send({
      topic: fx.topic,
      messages: events.map(([ts, clicks]) => ({ key: '900', value: JSON.stringify({ user_id: 900, ts, clicks, amount: 0 }) })),
    });
    await producer.disconnect();
    const proc = new StreamProcessor({
      view: fx.view,
      offline: fx.offline,
      online: fx.online,
      batch: { maxRows: 1000, maxDelayMs: 100 },
    });
    await proc.start();
    try {
      await eventually(async () => proc.stats.onlineRows >= events.length, 20_000, 50);
      const [r] = await fx.online.readFeatures(
        fx.scope.project,
        [{ user_id: 900 }],
        [{ view: fx.view.spec, joinKeys: fx.view.joinKeys, features: ['clicks'] }],
      );
      // The latest event time wins; at an equal one (no created time) the first written stays, as the script says.
      expect(r?.['clicks:clicks']?.value).toBe(5);
      expect(r?.['clicks:clicks']?.eventTime?.toISOString()).toBe(t(5));
    } finally {
      await proc.stop();
    }
  });

  it('refuses to start with a clear error when the dead-letter topic does not exist', async () => {
    const stream = {
      ...(fx.view.spec.stream as NonNullable<typeof fx.view.spec.stream>),
      deadLetterTopic: `${fx.topic}-missing`,
    };
    const proc = new StreamProcessor({
      view: { ...fx.view, spec: { ...fx.view.spec, stream } },
      offline: fx.offline,
      online: fx.online,
    });
    await expect(proc.start()).rejects.toMatchObject({
      code: 'CONFIG',
      message: expect.stringMatching(/topic\(s\) .*-missing of feature view 'clicks' do not exist/),
    });
  });

  it('reads Avro messages with the view schema (a bad one is dead-lettered)', async () => {
    const schema = {
      type: 'record',
      name: 'Click',
      fields: [
        { name: 'user_id', type: 'long' },
        { name: 'at', type: 'long' },
        { name: 'clicks', type: ['null', 'long'], default: null },
        { name: 'amount', type: 'double' },
      ],
    };
    const afx = await streamFixture({ partitions: 1, stream: { format: 'avro', avroSchema: schema, fields: { ts: 'at' } } });
    const type = avro.Type.forSchema(schema as avro.Schema);
    const producer = await idempotentProducer();
    const proc = new StreamProcessor({
      view: afx.view,
      offline: afx.offline,
      online: afx.online,
      batch: { maxRows: 100, maxDelayMs: 100 },
    });
    try {
      await producer.send({
        topic: afx.topic,
        messages: [
          ...Array.from({ length: 20 }, (_, i) => ({
            key: String(i),
            value: type.toBuffer({ user_id: i, at: Date.UTC(2026, 0, 1) + i, clicks: i, amount: i / 2 }),
          })),
          { key: 'bad', value: Buffer.from([0xff, 0x01]) },
        ],
      });
      await proc.start();
      await eventually(async () => (await afx.offlineCount()).rows === 20, 20_000);
      const [r] = await afx.online.readFeatures(
        afx.scope.project,
        [{ user_id: 7 }],
        [{ view: afx.view.spec, joinKeys: afx.view.joinKeys, features: ['clicks', 'amount'] }],
      );
      expect(r?.['clicks:clicks']?.value).toBe(7);
      expect(r?.['clicks:amount']?.value).toBe(3.5);
      const [dead] = await readTopic(`${afx.topic}.dlq`, 1);
      expect(dead?.headers?.['strata-error-code']?.toString()).toBe('DECODE');
    } finally {
      await producer.disconnect();
      await proc.stop();
      await afx.close();
    }
  });

  it("runs the view's suite on each micro-batch with its policy: STRICT quarantines a failing batch, offsets move on", async () => {
    const sfx = await streamFixture({
      partitions: 1,
      view: {
        validationPolicy: 'STRICT',
        expectationSuite: {
          name: 'clicks_suite',
          expectations: [
            { type: 'expect_column_values_to_be_between', kwargs: { column: 'amount', min_value: 0, max_value: 100 } },
          ],
        },
      },
    });
    const metrics = createStreamMetrics();
    const proc = new StreamProcessor({
      view: sfx.view,
      offline: sfx.offline,
      online: sfx.online,
      metrics,
      batch: { maxRows: 100, maxDelayMs: 200 },
    });
    const producer = await idempotentProducer();
    try {
      await proc.start();
      await producer.send({ topic: sfx.topic, messages: Array.from({ length: 100 }, (_, i) => click(i, 0)) });
      await eventually(async () => (await sfx.offlineCount()).rows === 100, 20_000);
      // Well-typed messages (so they pass the per-message check and are served online) that break the suite.
      const tooBig = Array.from({ length: 100 }, (_, i) => ({
        key: String(i),
        value: JSON.stringify({ user_id: i, ts: '2026-01-02T00:00:00Z', clicks: 1, amount: 1000 + i }),
      }));
      await producer.send({ topic: sfx.topic, messages: tooBig });
      const quarantined = await eventually(async () => {
        const ings = await sfx.offline.listIngestions(sfx.scope.project, 'clicks');
        return ings.find((i) => i.status === 'quarantined');
      }, 20_000);
      expect(quarantined.rowCount).toBe(100);
      expect((quarantined.report as { success: boolean }).success).toBe(false);
      expect(await sfx.offlineCount()).toEqual({ rows: 100, distinct: 100 });
      const committed = (await sfx.offline.listIngestions(sfx.scope.project, 'clicks')).filter((i) => i.status === 'committed');
      expect(committed.length).toBe(1);
      expect(committed[0]?.report).toMatchObject({ success: true });
      // The quarantined batch's offsets are stored with it: a restart does not read it again.
      const { rows } = await sfx.pool.query<{ next_offset: number; ingestion_id: string }>(
        `SELECT next_offset, ingestion_id FROM "${sfx.fresh.schema}".stream_offsets WHERE topic = $1`,
        [sfx.topic],
      );
      expect(rows).toEqual([{ next_offset: 200, ingestion_id: quarantined.id }]);
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/strata_stream_validations_total\{view="clicks",success="false"\} 1/);
      expect(text).toMatch(/strata_stream_offline_commits_total\{view="clicks",outcome="quarantined"\} 1/);
    } finally {
      await producer.disconnect();
      await proc.stop();
      await sfx.close();
    }
  });
});
