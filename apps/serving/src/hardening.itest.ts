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
