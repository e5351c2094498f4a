/**
 * The demo's feature pipeline: the talk's monthly aggregates per user (`all_users_agg_m`), computed by SQL from a
 * raw events table in Postgres, one window per calendar month, on a schedule. Shared by run.mjs and by the test that
 * checks the pipeline against the same aggregate written by hand.
 */

/** First instant of the month `back` months before the current one (UTC). */
export function monthStart(back = 0, now = new Date()) {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1));
}

/** Creates `<schema>.raw_events` (user_id, ts, kind, amount) with 12 full months of events before the current month. */
export async function createRawEvents(pool, schema, { users = 300, months = 12, now = new Date() } = {}) {
  await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  await pool.query(`DROP TABLE IF EXISTS "${schema}".raw_events`);
  await pool.query(
    `CREATE TABLE "${schema}".raw_events (user_id bigint NOT NULL, ts timestamptz NOT NULL, kind text NOT NULL, amount float8)`,
  );
  // Deterministic: user u has 1 + (u + m) % 6 events in month m, every third one a purchase.
  await pool.query(
    `INSERT INTO "${schema}".raw_events (user_id, ts, kind, amount)
     SELECT u, $1::timestamptz + make_interval(months => m) + make_interval(hours => 5 * e + u % 24),
            CASE WHEN e % 3 = 0 THEN 'purchase' ELSE 'view' END, round(((u * 7 + m * 13 + e * 3) % 100)::numeric / 4, 2)
     FROM generate_series(1, $2::int) u, generate_series(0, $3::int - 1) m, LATERAL generate_series(1, 1 + (u + m) % 6) e`,
    [monthStart(months, now), users, months],
  );
}

/** The monthly aggregate as the view's transformation: SQL over the source (the window's raw events). */
export const MONTHLY_SQL = `SELECT user_id,
       date_trunc('month', ts) AS dt,
       sum(amount) AS feature_1,
       avg(amount) AS feature_2,
       count(*) FILTER (WHERE kind = 'purchase')::int AS feature_3,
       max(amount) AS feature_n
FROM source
GROUP BY user_id, date_trunc('month', ts)`;

/** The feature view filled by the pipeline. */
export function monthlyPipelineView(schema, { start = monthStart(12), name = 'all_users_agg_m_sql' } = {}) {
  return {
    name,
    entities: ['user'],
    timestampField: 'dt',
    ttlSeconds: 0,
    online: true,
    description: "the talk's monthly aggregates per user, computed from raw events by a scheduled pipeline",
    features: [
      { name: 'feature_1', valueType: 'DOUBLE', description: 'sum of amounts in the month' },
      { name: 'feature_2', valueType: 'DOUBLE', description: 'mean amount' },
      { name: 'feature_3', valueType: 'INT32', description: 'purchases' },
      { name: 'feature_n', valueType: 'DOUBLE', description: 'largest amount' },
    ],
    source: { kind: 'sql', query: `SELECT user_id, ts, kind, amount FROM "${schema}".raw_events`, timestampField: 'ts' },
    transformation: { kind: 'sql', query: MONTHLY_SQL },
    pipeline: { window: '1mo', start: start.toISOString(), materialize: true },
  };
}
