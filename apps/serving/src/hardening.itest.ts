/**
 * Serving when things break, on real Postgres and real redis-servers: Redis unreachable at startup answers a fast
 * 503 (not a 504 after the request timeout); INTERNAL errors and failed health checks answer a generic message
 * with an error id while the details go to the server log; a registry listener whose LISTEN fails gives its pool
 * client back and is reported.
 */
import type { RepoSpec } from '@strata/core';
import { createPool, OfflineStore, type Pool, PgRegistry } from '@strata/offline-postgres';
import { RedisOnlineStore } from '@strata/online-redis';
import { loadConfig } from '@strata/sdk';
import { freshSchema, type FreshSchema, uniqueName } from '@strata/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve } from './index.js';
import { RegistryCache } from './registry-cache.js';
import { createServer } from './server.js';
import { findRedisServer, freePort, PrivateRedis } from './testing.itest-helpers.js';

const redisBin = findRedisServer();

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
    {
      name: 'strict_push',
      entities: ['user'],
      timestampField: 'event_timestamp',
      ttlSeconds: 0,
      online: true,
      features: [{ name: 'clicks', valueType: 'INT64' }],
      validationPolicy: 'STRICT',
      expectationSuite: {
        name: 'clicks_range',
        expectations: [
          { type: 'expect_column_values_to_be_between', kwargs: { column: 'clicks', min_value: 0, max_value: 100 } },
        ],
      },
    },
  ],
  featureServices: [],
};

describe.skipIf(!redisBin)('serving hardening', () => {
  let fresh: FreshSchema;
  let pool: Pool;
  let registry: PgRegistry;
  let project: string;

  beforeAll(async () => {
    fresh = await freshSchema();
    pool = createPool(fresh.url, { max: 10 });
    registry = new PgRegistry(pool, fresh.schema);
    await registry.init();
    project = uniqueName('hard');
    await registry.apply(project, repo);
  });

  afterAll(async () => {
    await pool?.end();
    await fresh?.drop();
  });

  it('answers 503 at once when Redis is unreachable from the start, and /health names no address', async () => {
    const deadPort = await freePort();
    const config = loadConfig({
      env: {
        STRATA_CONFIG: '',
        STRATA_PROJECT: project,
        STRATA_POSTGRES_URL: fresh.url,
        STRATA_POSTGRES_SCHEMA: fresh.schema,
        STRATA_REDIS_URL: `redis://127.0.0.1:${deadPort}`,
      },
    });
    const { address, stop } = await serve({ ...config, serving: { ...config.serving, port: 0, requestTimeoutMs: 2000 } });
    try {
      const res = await fetch(`${address}/get-online-features`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ features: ['stats:clicks'], entities: { user_id: [1] } }),
      });
      // 503 (failed at once), not 504 (waited out the 2 s request timeout in the offline queue).
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAVAILABLE');
      const health = await fetch(`${address}/health`);
      expect(health.status).toBe(503);
      const body = (await health.json()) as { status: string; checks: Record<string, string>; errorIds: Record<string, string> };
      expect(body.status).toBe('degraded');
      expect(body.checks.online_store).toBe('unavailable');
      expect(body.errorIds.online_store).toMatch(/^[0-9a-f-]{36}$/);
      expect(JSON.stringify(body)).not.toContain(String(deadPort));
      expect(JSON.stringify(body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    } finally {
      await stop();
    }
  });

  it('an INTERNAL error answers a generic message with an id; the details go to the log', async () => {
    const redis = new PrivateRedis(await freePort(), redisBin as string);
    await redis.start();
    const online = RedisOnlineStore.connect(redis.url);
    const logged: Record<string, unknown>[] = [];
    const { app } = await createServer({
      project,
      registry,
      pool,
      online,
      offline: new OfflineStore(pool, registry),
      log: (e) => logged.push(e),
    });
    try {
      const vv = await registry.getView(project, 'stats');
      await online.writeRows({ project, view: vv.spec, joinKeys: vv.joinKeys }, [
        { entityKey: { user_id: 1 }, eventTime: new Date(), values: { clicks: 1 } },
      ]);
      // The entity's hash becomes a string: HMGET answers WRONGTYPE, which no retry fixes.
      const keys = await online.redis.keys('*');
      expect(keys.length).toBe(1);
      await online.redis.del(keys[0] as string);
      await online.redis.set(keys[0] as string, 'not a hash');
      const res = await app.inject({
        method: 'POST',
        url: '/get-online-features',
        payload: { features: ['stats:clicks'], entities: { user_id: [1] } },
      });
      expect(res.statusCode).toBe(500);
      const err = res.json().error as { code: string; message: string; details: { errorId: string } };
      expect(err.code).toBe('INTERNAL');
      expect(err.message).toMatch(/^internal error \(id [0-9a-f-]{36}\)/);
      expect(JSON.stringify(err)).not.toMatch(/WRONGTYPE|HMGET|127\.0\.0\.1/);
      const entry = logged.find((l) => l.errorId === err.details.errorId);
      expect(entry).toMatchObject({ level: 'error', event: 'internal_error', code: 'INTERNAL' });
      expect(String(entry?.message)).toMatch(/WRONGTYPE/);
    } finally {
      await app.close();
      await online.close();
      await redis.destroy();
    }
  });

  describe('offline pushes take the validated commit path', () => {
    let redis: PrivateRedis;
    let online: RedisOnlineStore;
    let app: Awaited<ReturnType<typeof createServer>>['app'];
    const rowsIn = async (view: string) => {
      const vv = await registry.getView(project, view);
      return Number((await pool.query(`SELECT count(*) AS n FROM "${fresh.schema}"."${vv.tableName}"`)).rows[0].n);
    };
    const push = (payload: Record<string, unknown>, key?: string) =>
      app.inject({ method: 'POST', url: '/push', payload, headers: key ? { 'idempotency-key': key } : {} });
    const df = (ids: number[], clicks: number[]) => ({
      user_id: ids,
      event_timestamp: ids.map(() => '2024-05-01T00:00:00Z'),
      clicks,
    });

    beforeAll(async () => {
      redis = new PrivateRedis(await freePort(), redisBin as string);
      await redis.start();
      online = RedisOnlineStore.connect(redis.url, { failFast: true });
      ({ app } = await createServer({
        project,
        registry,
        pool,
        online,
        offline: new OfflineStore(pool, registry),
        log: () => {},
      }));
    });
    afterAll(async () => {
      await app?.close();
      await online?.close();
      await redis?.destroy();
    });

    it('a push that fails the STRICT suite is rejected and commits nothing', async () => {
      const res = await push({ feature_view: 'strict_push', to: 'offline', df: df([1, 2], [5, 500]) });
      expect(res.statusCode).toBe(422);
      expect(res.json().error.code).toBe('VALIDATION_FAILED');
      expect(await rowsIn('strict_push')).toBe(0);
      const ok = await push({ feature_view: 'strict_push', to: 'offline', df: df([1, 2], [5, 50]) });
      expect(ok.statusCode, ok.body).toBe(200);
      expect(ok.json().offline.validation).toMatchObject({ validated: true, success: true, policy: 'STRICT' });
      expect(await rowsIn('strict_push')).toBe(2);
    });

    it('a retried push with the same idempotency key commits once', async () => {
      const before = await rowsIn('stats');
      const a = await push({ feature_view: 'stats', to: 'offline', df: df([7, 8, 9], [1, 2, 3]) }, 'order-42');
      const b = await push({ feature_view: 'stats', to: 'offline', df: df([7, 8, 9], [1, 2, 3]) }, 'order-42');
      expect(a.statusCode, a.body).toBe(200);
      expect(b.statusCode, b.body).toBe(200);
      expect(b.json().offline).toMatchObject({ commit_seq: a.json().offline.commit_seq, already_committed: true });
      expect(await rowsIn('stats')).toBe(before + 3);
      const bad = await push({ feature_view: 'stats', to: 'offline', df: df([1], [1]) }, 'not a key!');
      expect(bad.statusCode).toBe(400);
    });

    it('online_and_offline is acknowledged only when both stores have it; a retry completes it', async () => {
      const before = await rowsIn('stats');
      await redis.stop();
      const failed = await push({ feature_view: 'stats', to: 'online_and_offline', df: df([21], [77]) }, 'both-1');
      expect(failed.statusCode).toBe(503);
      // Offline went first and is durable; the push was not acknowledged.
      expect(await rowsIn('stats')).toBe(before + 1);
      await redis.start();
      await online.waitUntilReady(5000);
      const retried = await push({ feature_view: 'stats', to: 'online_and_offline', df: df([21], [77]) }, 'both-1');
      expect(retried.statusCode, retried.body).toBe(200);
      expect(retried.json().offline.already_committed).toBe(true);
      expect(retried.json().online.written).toBe(1);
      expect(await rowsIn('stats')).toBe(before + 1);
      const read = await app.inject({
        method: 'POST',
        url: '/get-online-features',
        payload: { features: ['stats:clicks'], entities: { user_id: [21] } },
      });
      expect(read.json().results[1].values).toEqual([77]);
    });
  });

  it('a registry listener whose LISTEN fails gives its client back, is reported, and listens again', async () => {
    // A real failure: the first connection of this pool is terminated by the server before LISTEN runs.
    const small = createPool(fresh.url, { max: 2 });
    let first = true;
    small.on('connect', (c) => {
      if (!first) return;
      first = false;
      c.query('SELECT pg_terminate_backend(pg_backend_pid())').catch(() => {});
    });
    const errors: Error[] = [];
    const cache = new RegistryCache(new PgRegistry(small, fresh.schema), small, 60_000, (e) => errors.push(e));
    try {
      await cache.start();
      await new Promise((r) => setTimeout(r, 2500));
      expect(errors.length).toBe(1);
      expect(cache.listenFailures).toBe(1);
      expect(cache.listenError).toBeNull();
      // One client listens again, the failed one was destroyed: the other slot is free for queries.
      expect(small.totalCount).toBe(1);
      const { rows } = await small.query('SELECT 1 AS one');
      expect(rows[0].one).toBe(1);
    } finally {
      await cache.stop();
      await small.end();
    }
  });
});
