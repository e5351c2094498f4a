/**
 * A materialization into a real Redis Cluster (`infra/stack.sh cluster-up`, STRATA_REDIS_CLUSTER_URL) while one of its
 * masters is killed for real (SIGKILL): the replica takes over and the run completes with every row online, correct.
 * Under CI=true the cluster is required.
 */
import { connect, loadConfig, type Strata, type StrataConfig, tableFromRows } from '@strata/sdk';
import {
  clusterNodeRole,
  eventually,
  freshSchema,
  type FreshSchema,
  killClusterMaster,
  restoreCluster,
  strataEnv,
  testScope,
} from '@strata/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStrataWorker } from './index.js';

const CLUSTER_URL = process.env.STRATA_REDIS_CLUSTER_URL ?? (process.env.CI === 'true' ? 'redis://127.0.0.1:1' : undefined);
const t0 = Date.parse('2020-12-07T00:00:00Z');
const N = 40_000;

const repo = {
  entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' as const }] }],
  featureViews: [
    {
      name: 'agg',
      entities: ['user'],
      timestampField: 'dt',
      ttlSeconds: 0,
      online: true,
      features: [{ name: 'f1', valueType: 'DOUBLE' as const }],
    },
  ],
  featureServices: [],
};
const cols = [
  { name: 'user_id', valueType: 'INT64' as const },
  { name: 'dt', valueType: 'UNIX_TIMESTAMP' as const },
  { name: 'f1', valueType: 'DOUBLE' as const },
];

describe.skipIf(!CLUSTER_URL)('materialization into a Redis Cluster while a master is killed', () => {
  let fresh: FreshSchema;
  let config: StrataConfig;
  let strata: Strata;
  let worker: Awaited<ReturnType<typeof createStrataWorker>>;
  let running: Promise<void>;

  beforeAll(async () => {
    fresh = await freshSchema();
    config = loadConfig({
      env: {
        ...strataEnv(testScope(fresh.schema, 'clmat')),
        STRATA_REDIS_TYPE: 'redis_cluster',
        STRATA_REDIS_URL: CLUSTER_URL as string,
      },
    });
    expect(config.redis.type).toBe('redis_cluster');
    strata = await connect({ config });
    await strata.apply(repo);
    worker = await createStrataWorker(config, { logLevel: 'WARN' });
    running = worker.worker.run();
  });

  afterAll(async () => {
    worker?.worker.shutdown();
    await running?.catch(() => {});
    await worker?.close();
    const vv = await strata?.getView('agg').catch(() => undefined);
    if (vv) await strata.online.deleteView({ project: config.project, view: vv.spec, joinKeys: vv.joinKeys }).catch(() => {});
    await strata?.close();
    await fresh?.drop();
  });

  it('completes with every row after the replica takes over', async () => {
    const rows = Array.from({ length: N }, (_, i) => ({ user_id: i + 1, dt: new Date(t0), f1: i + 0.5 }));
    await (await strata.ingest('agg', tableFromRows(cols, rows))).result();
    const handle = await strata.materialize('agg', { batchSize: 250 });
    const client = await strata.workflowClient();
    // Kill a master once the run is writing (its first cursor heartbeat).
    await eventually(
      async () => {
        const d = await client.workflow.getHandle(handle.workflowId).describe();
        return d.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.length ? true : undefined;
      },
      60_000,
      50,
    );
    const killed = await killClusterMaster(CLUSTER_URL as string);
    try {
      const result = await handle.result();
      expect(result.rowsWritten + result.rowsSkippedOlder).toBe(N);
      // Every row is online with its value, read through the store after the failover.
      const vv = await strata.getView('agg');
      const [read] = await strata.online.readColumns(
        config.project,
        [{ view: vv.spec, joinKeys: vv.joinKeys, features: ['f1'] }],
        rows.map((r) => ({ user_id: r.user_id })),
      );
      const col = read?.columns[0];
      expect(col?.statuses.filter((s) => s !== 'PRESENT').length).toBe(0);
      expect(col?.values.every((v, i) => v === i + 0.5)).toBe(true);
      expect(await clusterNodeRole(CLUSTER_URL as string, killed.replicaId as string)).toBe('master');
    } finally {
      await restoreCluster(CLUSTER_URL as string);
    }
  });
});
