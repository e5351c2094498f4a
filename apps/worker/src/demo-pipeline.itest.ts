/**
 * The demo's SQL pipeline (examples/demo/pipeline.mjs) on the real stack equals the same monthly aggregate written by
 * hand over the same raw events: one window per calendar month, 12 months, and the online values after it.
 */
import { connect, loadConfig, runPipeline, type Strata, type StrataConfig } from '@strata/sdk';
import { freshSchema, type FreshSchema, strataEnv, testScope } from '@strata/testkit';
import { createStrataWorker } from './index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module of the example, without types
import { createRawEvents, monthlyPipelineView, monthStart } from '../../../examples/demo/pipeline.mjs';

describe("the demo's monthly SQL pipeline", () => {
  let fresh: FreshSchema;
  let config: StrataConfig;
  let strata: Strata;
  let worker: Awaited<ReturnType<typeof createStrataWorker>>;
  let running: Promise<void>;

  beforeAll(async () => {
    fresh = await freshSchema();
    config = loadConfig({ env: strataEnv(testScope(fresh.schema, 'demo')) });
    strata = await connect({ config });
    await createRawEvents(strata.pool, fresh.schema, { users: 120 });
    await strata.apply({
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
      featureViews: [monthlyPipelineView(fresh.schema)],
    });
    worker = await createStrataWorker(config, { logLevel: 'WARN' });
    running = worker.worker.run();
  }, 60_000);

  afterAll(async () => {
    worker?.worker.shutdown();
    await running?.catch(() => {});
    await worker?.close();
    await strata?.close();
    await fresh?.drop();
  });

  it('equals a hand-written aggregate of the same events, offline and online', async () => {
    const result = await (await runPipeline(strata, 'all_users_agg_m_sql')).result();
    expect(result).toMatchObject({ windows: 12, committed: 12, failed: [] });
    const vv = await strata.getView('all_users_agg_m_sql');
    const got = await strata.pool.query(
      `SELECT user_id::int, dt, feature_1, feature_2, feature_3, feature_n FROM "${fresh.schema}"."${vv.tableName}" ORDER BY user_id, dt`,
    );
    const byHand = await strata.pool.query(
      `SELECT user_id::int, date_trunc('month', ts) AS dt, sum(amount) AS feature_1, avg(amount) AS feature_2,
              sum(CASE WHEN kind = 'purchase' THEN 1 ELSE 0 END)::int AS feature_3, max(amount) AS feature_n
       FROM "${fresh.schema}".raw_events WHERE ts >= $1 AND ts < $2
       GROUP BY 1, 2 ORDER BY 1, 2`,
      [monthStart(12), monthStart(0)],
    );
    expect(got.rows.length).toBe(byHand.rows.length);
    expect(got.rows.length).toBeGreaterThan(120 * 11);
    for (const [i, row] of got.rows.entries()) {
      const want = byHand.rows[i];
      expect(row).toMatchObject({ user_id: want.user_id, dt: want.dt, feature_3: want.feature_3 });
      for (const f of ['feature_1', 'feature_2', 'feature_n']) expect(row[f]).toBeCloseTo(want[f], 9);
    }
    // Materialized after each window: online holds each user's latest month.
    const online = await strata.getOnlineFeatures({ features: ['all_users_agg_m_sql:feature_3'], entities: { user_id: [7] } });
    const last = byHand.rows.filter((r) => r.user_id === 7).at(-1);
    expect(online.results[1]?.values[0]).toBe(last.feature_3);
  }, 180_000);
});
