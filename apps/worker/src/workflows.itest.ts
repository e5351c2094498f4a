/**
 * The pipeline end to end on the real Temporal dev server, Postgres and Redis: ingest -> commit -> materialize ->
 * online read -> training set; idempotent re-ingest; search attributes and memo; a transient Redis outage that the
 * materialization retries through; a worker process killed mid-materialization whose run resumes from its cursor.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { connect, loadConfig, type Strata, type StrataConfig, tableFromRows } from '@strata/sdk';
import {
  eventually,
  freshSchema,
  type FreshSchema,
  STACK_SCRIPT,
  serviceUrls,
  spawnWorker,
  strataEnv,
  activityRuns,
  decodeFirstPayload,
  requireBuilt,
  settled,
  testScope,
  WORKER_MAIN,
} from '@strata/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MaterializeProgress } from '@strata/workflows';
import { createStrataWorker } from './index.js';

const H = 3600_000;
const t0 = Date.parse('2020-12-07T00:00:00Z');

function configFor(schema: string, prefix: string): StrataConfig {
  return loadConfig({ env: strataEnv(testScope(schema, prefix)) });
}

const userRepo = {
  entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' as const }] }],
  featureViews: [
    {
      name: 'all_users_agg_m',
      entities: ['user'],
      timestampField: 'dt',
      ttlSeconds: 0,
      online: true,
      features: [
        { name: 'feature_1', valueType: 'DOUBLE' as const },
        { name: 'feature_n', valueType: 'DOUBLE' as const },
      ],
    },
  ],
  featureServices: [],
};

const cols = [
  { name: 'user_id', valueType: 'INT64' as const },
  { name: 'dt', valueType: 'UNIX_TIMESTAMP' as const },
  { name: 'feature_1', valueType: 'DOUBLE' as const },
  { name: 'feature_n', valueType: 'DOUBLE' as const },
];

function userRows(n: number, hour: number, base = 0) {
  return Array.from({ length: n }, (_, i) => ({
    user_id: i + 1,
    dt: new Date(t0 + hour * H),
    feature_1: base + i,
    feature_n: hour,
  }));
}

function redisCli(...args: string[]): string {
  const url = new URL(serviceUrls().redis);
  return execFileSync('redis-cli', ['-h', url.hostname, '-p', url.port || '6379', ...args], { encoding: 'utf8' }).trim();
}

describe('workflows on real Temporal, Postgres and Redis', () => {
  let fresh: FreshSchema;
  let config: StrataConfig;
  let strata: Strata;
  let worker: Awaited<ReturnType<typeof createStrataWorker>>;
  let running: Promise<void>;

  beforeAll(async () => {
    fresh = await freshSchema();
    config = configFor(fresh.schema, 'wf');
    strata = await connect({ config });
    await strata.apply(userRepo);
    worker = await createStrataWorker(config, { logLevel: 'WARN' });
    running = worker.worker.run();
  });

  afterAll(async () => {
    worker?.worker.shutdown();
    await running?.catch(() => {});
    await worker?.close();
    await strata?.close();
    await fresh?.drop();
  });

  it('ingests, commits once, materializes, serves online and builds a training set', async () => {
    const table = tableFromRows(cols, userRows(50, 0));
    const handle = await strata.ingest('all_users_agg_m', table, { ingestionId: 'first' });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'committed', rows: 50, alreadyCommitted: false });

    // Same ingestion id again: nothing new is committed.
    const again = await strata.ingest('all_users_agg_m', table, { ingestionId: 'first' });
    expect((await again.result()).alreadyCommitted).toBe(true);
    const { rows } = await strata.pool.query(
      `SELECT count(*)::int AS n FROM "${fresh.schema}"."${(await strata.getView('all_users_agg_m')).tableName}"`,
    );
    expect(rows[0].n).toBe(50);

    // The Temporal UI shows what the run did: search attributes and memo.
    const client = await strata.workflowClient();
    const desc = await client.workflow.getHandle(handle.workflowId).describe();
    expect(desc.typedSearchAttributes.get({ name: 'StrataProject', type: 'KEYWORD' } as never)).toBe(config.project);
    expect(desc.typedSearchAttributes.get({ name: 'StrataStage', type: 'KEYWORD' } as never)).toBe('done');
    expect(await desc.memo).toMatchObject({ rows: 50 });

    const m = await (await strata.materialize('all_users_agg_m')).result();
    expect(m.rowsWritten).toBe(50);
    const online = await strata.getOnlineFeatures({
      features: ['all_users_agg_m:feature_1'],
      entities: { user_id: [1, 50, 999] },
    });
    expect(online.metadata.feature_names).toEqual(['user_id', 'feature_1']);
    expect(online.results[1]?.values).toEqual([0, 49, null]);
    expect(online.results[1]?.statuses).toEqual(['PRESENT', 'PRESENT', 'NOT_FOUND']);

    // A newer commit, then incremental materialization picks up only it.
    await (await strata.ingest('all_users_agg_m', tableFromRows(cols, userRows(10, 5, 100)))).result();
    const m2 = await (await strata.materialize('all_users_agg_m')).result();
    expect(m2.rowsWritten).toBe(10);
    const online2 = await strata.getOnlineFeatures({ features: ['all_users_agg_m:feature_1'], entities: { user_id: [1, 11] } });
    expect(online2.results[1]?.values).toEqual([100, 10]);

    const training = await strata.getHistoricalFeatures({
      features: ['all_users_agg_m:feature_1'],
      entities: tableFromRows(
        [
          { name: 'user_id', valueType: 'INT64' },
          { name: 'event_timestamp', valueType: 'UNIX_TIMESTAMP' },
        ],
        [
          { user_id: 1, event_timestamp: new Date(t0 + 1 * H) },
          { user_id: 1, event_timestamp: new Date(t0 + 6 * H) },
        ],
      ),
    });
    expect([...(training.getChild('feature_1') ?? [])]).toEqual([0, 100]);
  });

  it('fails fast on bad input, before anything is committed', async () => {
    const unknown = await strata.ingest('no_such_view', tableFromRows(cols, userRows(1, 0))).catch((e) => e);
    expect(unknown.code).toBe('UNKNOWN_OBJECT');
    expect(unknown.hint).toContain('all_users_agg_m');
    const badType = tableFromRows(
      [
        { name: 'user_id', valueType: 'STRING' },
        { name: 'dt', valueType: 'UNIX_TIMESTAMP' },
        { name: 'feature_1', valueType: 'DOUBLE' },
        { name: 'feature_n', valueType: 'DOUBLE' },
      ],
      [{ user_id: 'abc', dt: new Date(t0), feature_1: 1, feature_n: 1 }],
    );
    const err = await strata.ingest('all_users_agg_m', badType).catch((e) => e);
    expect(err.code).toBe('INVALID_INPUT');
    expect(err.where).toContain("column 'user_id'");
    const committed = (await strata.listIngestions('all_users_agg_m')).filter((i) => i.status === 'committed');
    expect(committed.length).toBe(2);
  });

  it('retries a materialization through a real Redis outage', async () => {
    await (await strata.ingest('all_users_agg_m', tableFromRows(cols, userRows(20, 7, 200)))).result();
    redisCli('shutdown', 'nosave');
    try {
      const handle = await strata.materialize('all_users_agg_m');
      const client = await strata.workflowClient();
      // Wait until the activity has failed at least once against the stopped Redis.
      await eventually(
        async () => {
          const d = await client.workflow.getHandle(handle.workflowId).describe();
          const pending = (d.raw.pendingActivities ?? [])[0];
          return pending && (pending.attempt ?? 0) > 1;
        },
        60_000,
        250,
      );
      execFileSync('bash', [STACK_SCRIPT, 'up'], { stdio: 'ignore' });
      const r = await handle.result();
      expect(r.rowsWritten).toBe(20);
    } finally {
      execFileSync('bash', [STACK_SCRIPT, 'up'], { stdio: 'ignore' });
    }
    const online = await strata.getOnlineFeatures({ features: ['all_users_agg_m:feature_1'], entities: { user_id: [20] } });
    expect(online.results[1]?.values).toEqual([219]);
  });
});

describe.skipIf(requireBuilt('worker kill test', WORKER_MAIN))('a worker process killed mid-materialization', () => {
  let fresh: FreshSchema;
  let config: StrataConfig;
  let strata: Strata;
  const children: ChildProcess[] = [];

  function startWorkerProcess(): ChildProcess {
    const child = spawnWorker(
      strataEnv({ schema: config.postgres.schema, project: config.project, taskQueue: config.temporal.taskQueue }),
    );
    children.push(child);
    return child;
  }

  beforeAll(async () => {
    fresh = await freshSchema();
    config = configFor(fresh.schema, 'kill');
    strata = await connect({ config });
    await strata.apply(userRepo);
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await strata?.close();
    await fresh?.drop();
  });

  it('resumes from the heartbeated cursor: every row lands, none older than before', async () => {
    const n = 60_000;
    // An older value for some users is already online; the resumed run must not regress it.
    const first = startWorkerProcess();
    // A newer value for user 5 is online first; the resumed run must not overwrite it with the older one.
    await (
      await strata.ingest(
        'all_users_agg_m',
        tableFromRows(cols, [{ user_id: 5, dt: new Date(t0 + 9 * H), feature_1: -5, feature_n: 9 }]),
      )
    ).result();
    await (await strata.materialize('all_users_agg_m')).result();
    await (await strata.ingest('all_users_agg_m', tableFromRows(cols, userRows(n, 1, 0)))).result();
    const handle = await strata.materialize('all_users_agg_m', { batchSize: 200 });
    const client = await strata.workflowClient();
    await eventually(
      async () => {
        const d = await client.workflow.getHandle(handle.workflowId).describe();
        const details = d.raw.pendingActivities?.[0]?.heartbeatDetails;
        return details?.payloads?.length ? true : undefined;
      },
      60_000,
      100,
    );
    first.kill('SIGKILL');
    await once(first, 'exit');
    const killedAt = Number(redisCli('dbsize'));
    // With no worker running the pending activity's heartbeat details are frozen: the cursor a resume must start at.
    const beat = (await settled(async () => {
      const pending = await client.workflow.getHandle(handle.workflowId).describe();
      return decodeFirstPayload(pending.raw.pendingActivities?.[0]?.heartbeatDetails);
    })) as MaterializeProgress;
    startWorkerProcess();
    const result = await handle.result();
    expect(result.rowsWritten + result.rowsSkippedOlder).toBeGreaterThanOrEqual(n);
    const online = await strata.getOnlineFeatures({
      features: ['all_users_agg_m:feature_1'],
      entities: { user_id: [1, 5, n / 2, n] },
    });
    expect(online.results[1]?.values).toEqual([0, -5, n / 2 - 1, n - 1]);
    expect(online.results[1]?.statuses).toEqual(['PRESENT', 'PRESENT', 'PRESENT', 'PRESENT']);
    expect(killedAt).toBeGreaterThan(0);
    // The run resumed, not restarted: the retried attempt (its result, from the history) began at the cursor the
    // killed attempt last heartbeated to the server, and wrote fewer rows than the partition holds.
    const history = await client.workflow.getHandle(handle.workflowId).fetchHistory();
    const [run] = activityRuns(history, 'materializeRange');
    expect(run?.attempt).toBeGreaterThan(1);
    const done = run?.result as MaterializeProgress;
    expect(beat.cursor).not.toBeNull();
    const began = done.starts?.at(-1);
    expect(began).toEqual({ attempt: run?.attempt, cursor: beat.cursor, written: beat.written, skipped: beat.skipped });
    const afterKill = done.written + done.skipped - beat.written - beat.skipped;
    expect(afterKill).toBeGreaterThan(0);
    expect(afterKill).toBeLessThan(n);
  });
});
