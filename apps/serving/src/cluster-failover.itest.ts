/**
 * The serving app on a real Redis Cluster (`infra/stack.sh cluster-up`, STRATA_REDIS_CLUSTER_URL) while one master is
 * killed for real (SIGKILL) under load: its replica takes over, the app answers 503 (UNAVAILABLE) at most for the
 * failover window and correct values before and after it, without a restart. Under CI=true the cluster is required.
 */
import type { RepoSpec } from '@strata/core';
import { createPool, OfflineStore, type Pool, PgRegistry } from '@strata/offline-postgres';
import { RedisClusterOnlineStore } from '@strata/online-redis';
import { clusterNodeRole, freshSchema, type FreshSchema, killClusterMaster, restoreCluster, uniqueName } from '@strata/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from './server.js';

const CLUSTER_URL = process.env.STRATA_REDIS_CLUSTER_URL ?? (process.env.CI === 'true' ? 'redis://127.0.0.1:1' : undefined);
const T = Date.parse('2024-05-01T00:00:00Z');
const N = 300;

const repo: RepoSpec = {
  entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
  featureViews: [
    {
      name: 'stats',
      entities: ['user'],
      timestampField: 'event_timestamp',
      ttlSeconds: 0,
      online: true,
      features: [{ name: 'clicks', valueType: 'INT64' }],
    },
  ],
  featureServices: [],
};

describe.skipIf(!CLUSTER_URL)('serving on a Redis Cluster while a master is killed', () => {
  let fresh: FreshSchema;
  let pool: Pool;
  let online: RedisClusterOnlineStore;
  let registry: PgRegistry;
  let project: string;

  beforeAll(async () => {
    fresh = await freshSchema();
    pool = createPool(fresh.url, { max: 4 });
    registry = new PgRegistry(pool, fresh.schema);
    await registry.init();
    project = uniqueName('clsrv');
    await registry.apply(project, repo);
    // As serve() configures it: a command gives up (UNAVAILABLE, 503) before the request deadline would.
    online = RedisClusterOnlineStore.connect(CLUSTER_URL as string, { commandTimeoutMs: 1600 });
    const vv = await registry.getView(project, 'stats');
    await online.writeRows(
      { project, view: vv.spec, joinKeys: vv.joinKeys },
      Array.from({ length: N }, (_, i) => ({
        entityKey: { user_id: i + 1 },
        eventTime: new Date(T),
        values: { clicks: (i + 1) * 10 },
      })),
    );
  });

  afterAll(async () => {
    await online
      ?.deleteView({ project, view: repo.featureViews[0] as never, joinKeys: repo.entities[0]?.joinKeys as never })
      .catch(() => {});
    await online?.close();
    await pool?.end();
    await fresh?.drop();
  });

  it('answers 503 at most during the failover, correct values before and after, and the replica is master', async () => {
    const { app } = await createServer({
      project,
      registry,
      pool,
      online,
      offline: new OfflineStore(pool, registry),
      requestTimeoutMs: 2000,
    });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    type Seen = { at: number; status: number; ok: boolean; code?: string };
    const seen: Seen[] = [];
    let stop = false;
    // Every request reads entities on all three masters.
    const ids = Array.from({ length: 30 }, (_, i) => 1 + i * 10);
    const want = ids.map((id) => id * 10);
    const load = async () => {
      while (!stop) {
        const res = await fetch(`${address}/get-online-features`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ features: ['stats:clicks'], entities: { user_id: ids } }),
        });
        const body = (await res.json()) as { results?: { values: unknown[] }[]; error?: { code: string } };
        const ok = res.status === 200 && JSON.stringify(body.results?.[1]?.values) === JSON.stringify(want);
        seen.push({ at: Date.now(), status: res.status, ok, ...(body.error ? { code: body.error.code } : {}) });
      }
    };
    const loops = Array.from({ length: 4 }, load);
    let killedAt = 0;
    let killed: Awaited<ReturnType<typeof killClusterMaster>> | undefined;
    try {
      // Some correct answers first (however slow the machine is), then the kill.
      for (let i = 0; i < 300 && seen.length < 20; i++) await new Promise((r) => setTimeout(r, 100));
      killedAt = Date.now();
      killed = await killClusterMaster(CLUSTER_URL as string);
      // Run until 3 s of uninterrupted correct answers after the kill, or 40 s.
      for (;;) {
        await new Promise((r) => setTimeout(r, 200));
        const since = seen.filter((s) => s.at > killedAt);
        const lastBad = since.filter((s) => !s.ok).pop();
        const calm = Date.now() - (lastBad?.at ?? killedAt);
        if ((since.some((s) => !s.ok) || Date.now() - killedAt > 8000) && calm > 3000) break;
        if (Date.now() - killedAt > 40_000) break;
      }
    } finally {
      stop = true;
      await Promise.all(loops);
      await app.close();
    }
    try {
      const before = seen.filter((s) => s.at < killedAt);
      const bad = seen.filter((s) => !s.ok);
      expect(before.length).toBeGreaterThan(10);
      expect(before.every((s) => s.ok)).toBe(true);
      // Never a wrong answer or a 500: only correct 200s, or 503 UNAVAILABLE.
      const odd = seen.filter((s) => !s.ok && !(s.status === 503 && s.code === 'UNAVAILABLE'));
      expect(odd, JSON.stringify(odd.slice(0, 5))).toEqual([]);
      // The 503s fall inside one failover window after the kill.
      if (bad.length) {
        expect((bad[0] as Seen).at).toBeGreaterThanOrEqual(killedAt);
        expect((bad[bad.length - 1] as Seen).at - killedAt).toBeLessThan(20_000);
      }
      const last = bad.length ? (bad[bad.length - 1] as Seen).at : killedAt;
      const after = seen.filter((s) => s.at > last);
      expect(after.length).toBeGreaterThan(10);
      expect(after.every((s) => s.ok)).toBe(true);
      // The killed master's replica is a master now.
      expect(killed?.replicaId).toBeDefined();
      expect(await clusterNodeRole(CLUSTER_URL as string, killed?.replicaId as string)).toBe('master');
      console.log(
        `failover: ${bad.length} of ${seen.length} answers were 503, window ${bad.length ? (bad[bad.length - 1] as Seen).at - (bad[0] as Seen).at : 0} ms`,
      );
    } finally {
      await restoreCluster(CLUSTER_URL as string);
    }
  });
});
