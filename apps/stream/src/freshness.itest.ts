/**
 * Produce -> servable: a message produced now is served by the serving app within moments, and the serving app's
 * freshness histogram (now - event time of what it serves) shows the view's rows as fresh.
 */
import { createServer } from '@strata/serving';
import { eventually } from '@strata/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamProcessor } from './processor.js';
import { idempotentProducer, type StreamFixture, streamFixture } from './testing.itest-helpers.js';

describe('freshness of streamed features in the serving app', () => {
  let fx: StreamFixture;
  beforeAll(async () => {
    fx = await streamFixture({ partitions: 2 });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('serves a produced message at once and reports its freshness per view in /metrics', async () => {
    const proc = new StreamProcessor({
      view: fx.view,
      offline: fx.offline,
      online: fx.online,
      batch: { maxRows: 1000, maxDelayMs: 200 },
    });
    const { app } = await createServer({ project: fx.scope.project, registry: fx.registry, pool: fx.pool, online: fx.online });
    const producer = await idempotentProducer();
    try {
      await proc.start();
      const ts = new Date();
      await producer.send({
        topic: fx.topic,
        messages: [{ key: '7', value: JSON.stringify({ user_id: 7, ts: ts.toISOString(), clicks: 5, amount: 1.5 }) }],
      });
      const body = await eventually(
        async () => {
          const res = await app.inject({
            method: 'POST',
            url: '/get-online-features',
            payload: { features: ['clicks:clicks'], entities: { user_id: [7] } },
          });
          const json = res.json() as { results: { values: unknown[]; statuses: string[] }[] };
          return json.results[1]?.statuses[0] === 'PRESENT' ? json : undefined;
        },
        10_000,
        20,
      );
      expect(body.results[1]?.values).toEqual([5]);
      const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(/strata_online_feature_freshness_seconds_count\{view="clicks"\} 1/);
      // Served well within a second of its event time (the bucket le=1 holds it).
      expect(metrics).toMatch(/strata_online_feature_freshness_seconds_bucket\{le="1",view="clicks"\} 1/);
    } finally {
      await producer.disconnect();
      await proc.stop();
      await app.close();
    }
  });
});
