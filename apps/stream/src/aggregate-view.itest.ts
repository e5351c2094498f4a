/**
 * A view of window aggregates fed from Kafka: sliding windows (60 s, sliding by 30 s, 20 s lateness) of count, sum
 * and max per user, run by the processor in its own process, killed with SIGKILL in the middle and restarted. The
 * closed windows online and offline equal a reference computed here from the messages; too-late events are
 * dead-lettered as LATE. The aggregators' state travels with the offsets, so the windows that span the crash still
 * count every event once.
 */
import { windowStarts } from '@strata/core';
import { eventually } from '@strata/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotentProducer, readTopic, spawnStream, type StreamFixture, streamFixture } from './testing.itest-helpers.js';

const W = 60_000;
const S = 30_000;

interface Ev {
  user: number;
  t: number;
  amount: number;
}

describe('an aggregate view (sliding windows) under a kill -9', () => {
  let fx: StreamFixture;
  beforeAll(async () => {
    fx = await streamFixture({
      partitions: 2,
      view: {
        name: 'clicks',
        features: [
          { name: 'n', valueType: 'INT64' },
          { name: 'amount_sum', valueType: 'DOUBLE' },
          { name: 'amount_max', valueType: 'DOUBLE' },
        ],
      },
      stream: {
        aggregate: {
          windowSeconds: 60,
          slideSeconds: 30,
          latenessSeconds: 20,
          features: [
            { name: 'n', function: 'count' },
            { name: 'amount_sum', function: 'sum', field: 'amount' },
            { name: 'amount_max', function: 'max', field: 'amount' },
          ],
        },
      },
    });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('equals the reference online and offline, exactly once, with late events dead-lettered', async () => {
    const base = Date.UTC(2026, 0, 1);
    const users = 10;
    const events: Ev[] = [];
    for (let i = 0; i < 600; i++) {
      events.push({ user: i % users, t: base + i * 1000 - ((i * 7919) % 15_000), amount: (i % 13) + 0.5 });
    }
    // Too late: 200 s behind their partition's latest event, when every one of their windows has closed.
    const late: Ev[] = [250, 400, 550].map((i) => ({ user: i % users, t: base + (i - 200) * 1000, amount: 99 }));
    const send = async (evs: Ev[]) => {
      const producer = await idempotentProducer();
      await producer.send({
        topic: fx.topic,
        messages: evs.map((e) => ({
          partition: e.user % 2,
          key: String(e.user),
          value: JSON.stringify({ user_id: e.user, ts: e.t, amount: e.amount }),
        })),
      });
      await producer.disconnect();
    };
    await send([...events.slice(0, 150), late[0] as Ev]);
    const env = fx.env({ STRATA_STREAM_BATCH_ROWS: '1000000', STRATA_STREAM_BATCH_DELAY_MS: '1500' });
    const a = spawnStream(env);
    try {
      await eventually(async () => a.events.some((e) => e.event === 'committed'), 30_000);
      // More events, then the kill before their micro-batch is due: windows closed online, not yet offline.
      await send(events.slice(150, 300));
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      a.proc.kill('SIGKILL');
    }
    await a.exited;
    expect(a.events.filter((e) => e.event === 'committed').length, JSON.stringify(a.events.slice(-5))).toBe(1);
    // The rest while it is down, with two more late events; then a sentinel per partition far ahead closes every
    // real window.
    await send([...events.slice(300), late[1] as Ev, late[2] as Ev]);
    const b = spawnStream(env);
    try {
      await eventually(async () => b.events.some((e) => e.event === 'assigned'), 30_000);
      const sentinels: Ev[] = [1000, 1001].map((u) => ({ user: u, t: base + 10_000_000, amount: 0 }));
      await send(sentinels);

      // Reference: every window of every in-time event.
      const want = new Map<string, { n: number; sum: number; max: number }>();
      for (const e of events) {
        for (const s of windowStarts(e.t, W, S)) {
          const k = `${e.user}|${s + W}`;
          const cur = want.get(k) ?? { n: 0, sum: 0, max: Number.NEGATIVE_INFINITY };
          want.set(k, { n: cur.n + 1, sum: cur.sum + e.amount, max: Math.max(cur.max, e.amount) });
        }
      }
      const table = `"${fx.fresh.schema}"."${fx.view.tableName}"`;
      await eventually(async () => {
        const { rows } = await fx.pool.query<{ c: number }>(`SELECT count(*)::int AS c FROM ${table}`);
        return (rows[0]?.c ?? 0) >= want.size;
      }, 40_000);
      await new Promise((r) => setTimeout(r, 1000));
      const { rows } = await fx.pool.query<{ user_id: number; ts: Date; n: number; amount_sum: number; amount_max: number }>(
        `SELECT user_id, ts, n, amount_sum, amount_max FROM ${table} ORDER BY user_id, ts`,
      );
      expect(rows.length).toBe(want.size);
      for (const r of rows) {
        const w = want.get(`${r.user_id}|${r.ts.getTime()}`);
        expect(w, `window ${r.user_id} ending ${r.ts.toISOString()}`).toBeDefined();
        expect(r.n).toBe(w?.n);
        expect(r.amount_sum).toBeCloseTo(w?.sum as number, 9);
        expect(r.amount_max).toBe(w?.max);
      }
      // Online: each user's latest closed window.
      const reads = await fx.online.readFeatures(
        fx.scope.project,
        Array.from({ length: users }, (_, u) => ({ user_id: u })),
        [{ view: fx.view.spec, joinKeys: fx.view.joinKeys, features: ['n', 'amount_sum'] }],
      );
      reads.forEach((r, u) => {
        const ends = [...want.keys()].filter((k) => k.startsWith(`${u}|`)).map((k) => Number(k.split('|')[1]));
        const latest = Math.max(...ends);
        expect(r['clicks:n']?.eventTime?.getTime()).toBe(latest);
        expect(r['clicks:n']?.value).toBe(want.get(`${u}|${latest}`)?.n);
      });
      // The late events, dead-lettered with the reason; never folded in.
      const dlq = await readTopic(`${fx.topic}.dlq`, late.length);
      expect(dlq.map((m) => m.headers?.['strata-error-code']?.toString())).toEqual(['LATE', 'LATE', 'LATE']);
      expect(String(dlq[0]?.headers?.['strata-error-reason'])).toMatch(/allowed lateness \(20 s\)/);
    } finally {
      b.proc.kill('SIGTERM');
      await b.exited;
    }
  });
});
