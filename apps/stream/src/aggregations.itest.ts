/**
 * Window aggregations: the same definitions evaluated over the offline history the stream processor committed
 * (SQL, for training sets) and incrementally over the messages as Kafka delivers them (out of order, within the
 * lateness) both equal a reference computed here from the messages produced.
 */
import { type AggregateFunction, WindowAggregator, windowStarts } from '@strata/core';
import { aggregateHistory } from '@strata/offline-postgres';
import { eventually } from '@strata/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamProcessor } from './processor.js';
import { idempotentProducer, readTopicWithPartitions, type StreamFixture, streamFixture } from './testing.itest-helpers.js';

interface Ev {
  user: number;
  t: number;
  amount: number | null;
}

function reference(events: Ev[], f: AggregateFunction, w: number, s: number): Map<string, number | null> {
  const groups = new Map<string, Ev[]>();
  for (const e of events) {
    for (const st of windowStarts(e.t, w, s)) {
      const k = `${e.user}|${st}`;
      groups.set(k, [...(groups.get(k) ?? []), e]);
    }
  }
  const out = new Map<string, number | null>();
  for (const [k, evs] of groups) {
    const vals = evs.map((e) => e.amount).filter((v): v is number => v !== null);
    const sum = vals.reduce((a, b) => a + b, 0);
    out.set(
      k,
      f === 'count'
        ? evs.length
        : !vals.length
          ? null
          : f === 'sum'
            ? sum
            : f === 'mean'
              ? sum / vals.length
              : f === 'min'
                ? Math.min(...vals)
                : Math.max(...vals),
    );
  }
  return out;
}

function expectSame(got: Map<string, number | null>, want: Map<string, number | null>) {
  expect(got.size).toBe(want.size);
  for (const [k, v] of want) {
    if (v === null) expect(got.get(k)).toBeNull();
    else expect(got.get(k)).toBeCloseTo(v, 6);
  }
}

describe('window aggregations: stream and offline history agree', () => {
  let fx: StreamFixture;
  const base = Date.UTC(2026, 0, 1);
  const events: Ev[] = [];
  beforeAll(async () => {
    fx = await streamFixture({ partitions: 2 });
    // 20 users over about ten minutes, each message up to 20 s out of order, one in ten without an amount.
    for (let i = 0; i < 600; i++) {
      events.push({
        user: (i * 7) % 20,
        t: base + i * 1000 - ((i * 7919) % 20_000),
        amount: i % 10 === 3 ? null : (i % 37) * 1.25,
      });
    }
    const producer = await idempotentProducer();
    await producer.send({
      topic: fx.topic,
      messages: events.map((e) => ({
        key: String(e.user),
        value: JSON.stringify({ user_id: e.user, ts: e.t, clicks: 1, amount: e.amount }),
      })),
    });
    await producer.disconnect();
    const proc = new StreamProcessor({
      view: fx.view,
      offline: fx.offline,
      online: fx.online,
      batch: { maxRows: 250, maxDelayMs: 100 },
    });
    await proc.start();
    try {
      await eventually(async () => (await fx.offlineCount()).rows === events.length, 30_000);
    } finally {
      await proc.stop();
    }
  });
  afterAll(async () => {
    await fx?.close();
  });

  const cases: [AggregateFunction, number, number][] = [
    ['count', 60, 60],
    ['sum', 60, 60],
    ['mean', 120, 30],
    ['min', 120, 30],
    ['max', 60, 20],
  ];

  it.each(cases)('%s over %is windows sliding by %is: offline history (SQL) equals the reference', async (f, w, s) => {
    const rows = await aggregateHistory(fx.pool, fx.fresh.schema, fx.view, {
      name: 'a',
      function: f,
      column: 'amount',
      windowSeconds: w,
      slideSeconds: s,
    });
    const got = new Map(rows.map((r) => [`${r.key.user_id}|${r.start.getTime()}`, r.value]));
    expectSame(got, reference(events, f, w * 1000, s * 1000));
  });

  it('the incremental aggregator over the messages as Kafka delivers them equals the reference; a too-late event is rejected', async () => {
    const msgs = await readTopicWithPartitions(fx.topic, events.length);
    for (const [f, w, s] of cases) {
      const agg = new WindowAggregator(
        { name: 'a', function: f, column: 'amount', windowSeconds: w, slideSeconds: s, latenessSeconds: 30 },
        { partitions: [0, 1] },
      );
      const got = new Map<string, number | null>();
      for (const { partition, message: m } of msgs) {
        const v = JSON.parse(String(m.value)) as { user_id: number; ts: number; amount: number | null };
        const r = agg.add(String(v.user_id), v.ts, v.amount, partition);
        expect(r).not.toBe('late');
        if (r !== 'late') for (const x of r) got.set(`${x.key}|${x.start}`, x.value);
      }
      expectSame(got, reference(events, f, w * 1000, s * 1000));
      // An event older than every open window plus the lateness is refused, not folded in.
      expect(agg.add('0', base - 3_600_000, 1, 0)).toBe('late');
    }
  });
});
