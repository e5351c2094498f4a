/**
 * Exactly once under a real crash: a worker process (the built apps/worker) is killed with SIGKILL while it computes
 * a pipeline window (its source query running); a new worker picks the window up after the heartbeat timeout and the
 * window commits exactly once, with no staging left behind.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, loadConfig, runPipeline, type Strata, type StrataConfig } from '@strata/sdk';
import { eventually, freshSchema, type FreshSchema, spawnWorker, strataEnv, testScope, WORKER_MAIN } from '@strata/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const DAY = 86_400_000;
const daysAgo = (n: number) => new Date(Math.floor(Date.now() / DAY) * DAY - n * DAY);

describe.skipIf(!existsSync(WORKER_MAIN) && process.env.CI !== 'true')('pipeline window under a worker kill', () => {
  let fresh: FreshSchema;
  let config: StrataConfig;
  let env: NodeJS.ProcessEnv;
  let strata: Strata;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    fresh = await freshSchema();
    const scope = testScope(fresh.schema, 'plk');
    env = strataEnv(scope);
    config = loadConfig({ env });
    strata = await connect({ config });
    const s = fresh.schema;
    await strata.pool.query(`CREATE TABLE "${s}".raw_events (user_id bigint, ts timestamptz, amount float8)`);
    await strata.pool.query(
      `INSERT INTO "${s}".raw_events SELECT u, $1::timestamptz + (u * interval '30 seconds'), u FROM generate_series(1, 2000) u`,
      [daysAgo(1)],
    );
    await strata.apply({
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
      featureViews: [
        {
          name: 'slow_daily',
          entities: ['user'],
          timestampField: 'ts',
          ttlSeconds: 0,
          online: false,
          features: [{ name: 'amount', valueType: 'DOUBLE' }],
          // The query takes a few seconds, so the worker can be killed while it runs.
          source: { kind: 'sql', query: `SELECT user_id, ts, amount FROM "${s}".raw_events, pg_sleep(4) AS marker_kill_me` },
          pipeline: { window: '1d', start: daysAgo(1).toISOString() },
        },
      ],
    });
  }, 60_000);

  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGTERM');
    await strata?.close();
    await fresh?.drop();
  });

  it('commits the window exactly once after the worker computing it is killed', async () => {
    const first = spawnWorker(env);
    workers.push(first);
    const run = await runPipeline(strata, 'slow_daily');
    // Kill the worker while its source query runs.
    await eventually(async () => {
      const { rows } = await strata.pool.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%marker_kill_me%' AND pid <> pg_backend_pid() AND state = 'active'`,
      );
      return rows[0].n > 0;
    }, 60_000);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const second = spawnWorker(env);
    workers.push(second);
    const result = await run.result();
    expect(result).toMatchObject({ windows: 1, committed: 1, rows: 2000, failed: [] });
    const { rows } = await strata.pool.query(
      `SELECT id, status, row_count::int AS n FROM "${fresh.schema}".ingestions WHERE project = $1 AND view = 'slow_daily'`,
      [config.project],
    );
    expect(rows.filter((r) => r.status === 'committed')).toHaveLength(1);
    expect(rows.every((r) => r.status === 'committed')).toBe(true);
    const vv = await strata.getView('slow_daily');
    const n = await strata.pool.query(
      `SELECT count(*)::int AS n, count(DISTINCT user_id)::int AS u FROM "${fresh.schema}"."${vv.tableName}"`,
    );
    expect(n.rows[0]).toEqual({ n: 2000, u: 2000 });
    const staging = await strata.pool.query(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'stg_%'`,
      [fresh.schema],
    );
    expect(staging.rows[0].n).toBe(0);
    // The window's activity ran at least twice: once on the killed worker, once after.
    const client = await strata.workflowClient();
    const ids: string[] = [];
    for await (const w of client.workflow.list({
      query: `WorkflowType = 'pipelineWindowWorkflow' AND StrataProject = '${config.project}'`,
    }))
      ids.push(w.workflowId);
    const history = await client.workflow.getHandle(ids[0] as string).fetchHistory();
    const attempts = (history.events ?? []).flatMap((e) =>
      e.activityTaskStartedEventAttributes ? [Number(e.activityTaskStartedEventAttributes.attempt)] : [],
    );
    expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2);
    second.kill('SIGTERM');
  }, 180_000);
});
