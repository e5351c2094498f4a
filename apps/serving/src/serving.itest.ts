/**
 * The serving app on real Postgres and a private, real redis-server: bad input, limits, timeouts, API keys, a Redis
 * outage under load (503s, then correct answers from the same server instance), graceful shutdown, registry updates
 * within a second of an apply, pushes online and offline, and the Hopsworks-shaped routes.
 */
import { type RepoSpec, resolveFeatureRefs } from '@strata/core';
import { createPool, OfflineStore, type Pool, PgRegistry } from '@strata/offline-postgres';
import { RedisOnlineStore } from '@strata/online-redis';
import { freshSchema, type FreshSchema, requireOrSkip, uniqueName } from '@strata/testkit';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOnline } from '@strata/sdk';
import { serveOnline } from './respond.js';
import { createServer } from './server.js';
import { findRedisServer, freePort, PrivateRedis } from './testing.itest-helpers.js';

const redisBin = findRedisServer();
const T = Date.parse('2024-05-01T00:00:00Z');

const repo: RepoSpec = {
  entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
  featureViews: [
    {
      name: 'stats',
      entities: ['user'],
      timestampField: 'event_timestamp',
      ttlSeconds: 0,
      online: true,
      features: [
        { name: 'clicks', valueType: 'INT64' },
        { name: 'score', valueType: 'DOUBLE' },
        { name: 'label', valueType: 'STRING' },
      ],
    },
  ],
  featureServices: [{ name: 'model_v1', features: [{ view: 'stats', features: ['clicks', 'score'] }] }],
};

const noRedis = requireOrSkip('serving app', !redisBin && 'redis-server is not on PATH (infra/stack.sh installs it)');

describe.skipIf(noRedis)('serving app on real Postgres and a private Redis', () => {
  let fresh: FreshSchema;
  let pool: Pool;
  let registry: PgRegistry;
  let offline: OfflineStore;
  let redis: PrivateRedis;
  let online: RedisOnlineStore;
  let project: string;
  const apps: FastifyInstance[] = [];

  async function app(extra: Partial<Parameters<typeof createServer>[0]> = {}) {
    const { app: a, cache } = await createServer({ project, registry, pool, online, offline, ...extra });
    apps.push(a);
    return { app: a, cache };
  }

  const post = (a: FastifyInstance, url: string, payload: unknown, headers: Record<string, string> = {}) =>
    a.inject({ method: 'POST', url, payload: payload as object, headers });

  beforeAll(async () => {
    fresh = await freshSchema();
    pool = createPool(fresh.url, { max: 20 }); // every app instance holds one connection for LISTEN
    registry = new PgRegistry(pool, fresh.schema);
    await registry.init();
    offline = new OfflineStore(pool, registry);
    project = uniqueName('srv');
    await registry.apply(project, repo);
    redis = new PrivateRedis(await freePort(), redisBin as string);
    await redis.start();
    online = RedisOnlineStore.connect(redis.url, { commandTimeoutMs: 1000 });
    const vv = await registry.getView(project, 'stats');
    await online.writeRows(
      { project, view: vv.spec, joinKeys: vv.joinKeys },
      Array.from({ length: 100 }, (_, i) => ({
        entityKey: { user_id: i + 1 },
        eventTime: new Date(T),
        values: { clicks: (i + 1) * 10, score: i + 0.5, label: i === 1 ? null : `u${i + 1}` },
      })),
    );
  });

  afterAll(async () => {
    for (const a of apps) await a.close().catch(() => {});
    await online?.close();
    await redis?.destroy();
    await pool?.end();
    await fresh?.drop();
  });

  it('serves features and a feature service with statuses', async () => {
    const { app: a } = await app();
    const res = await post(a, '/get-online-features', {
      features: ['stats:clicks', 'stats:label'],
      entities: { user_id: [1, 2, 999] },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.metadata.feature_names).toEqual(['user_id', 'clicks', 'label']);
    expect(body.results[1].values).toEqual([10, 20, null]);
    expect(body.results[2].statuses).toEqual(['PRESENT', 'NULL_VALUE', 'NOT_FOUND']);
    const svc = await post(a, '/get-online-features', { feature_service: 'model_v1', entities: { user_id: [3] } });
    expect(svc.json().results.map((r: { values: unknown[] }) => r.values[0])).toEqual([3, 30, 2.5]);

    // The server's column builder gives exactly what the SDK's readOnline gives, including OUTSIDE_MAX_AGE.
    const { repo: current } = { repo: await registry.loadRepo(project) };
    const vv = await registry.getView(project, 'stats');
    const sel = resolveFeatureRefs(current, ['stats:clicks', 'stats:score', 'stats:label']).map((r) => ({
      ...r,
      joinKeys: vv.joinKeys,
    }));
    const rows = [{ user_id: 1 }, { user_id: 2 }, { user_id: 999 }];
    const full = await post(a, '/get-online-features', {
      features: ['stats:clicks', 'stats:score', 'stats:label'],
      entities: { user_id: [1, 2, 999] },
      full_feature_names: true,
    });
    expect(full.json()).toEqual(
      JSON.parse(JSON.stringify(await readOnline(online, project, sel, rows, { fullFeatureNames: true }))),
    );
    const ttlSel = sel.map((r) => ({ ...r, view: { ...r.view, ttlSeconds: 60 } }));
    const now = new Date(T + 3600_000);
    expect(await serveOnline(online, project, ttlSel, rows, { now })).toEqual(
      await readOnline(online, project, ttlSel, rows, { now }),
    );
    expect((await serveOnline(online, project, ttlSel, rows, { now })).results[1]?.statuses).toEqual([
      'OUTSIDE_MAX_AGE',
      'OUTSIDE_MAX_AGE',
      'NOT_FOUND',
    ]);
  });

  it('refuses bad input with clear errors', async () => {
    const { app: a } = await app({ maxEntities: 5, bodyLimit: 2048 });
    const cases: [unknown, number, string, RegExp][] = [
      [{ features: ['stats:nope'], entities: { user_id: [1] } }, 404, 'UNKNOWN_FEATURE', /nope/],
      [{ features: ['ghost:x'], entities: { user_id: [1] } }, 404, 'UNKNOWN_OBJECT', /ghost/],
      [{ feature_service: 'no_svc', entities: { user_id: [1] } }, 404, 'UNKNOWN_OBJECT', /no_svc/],
      [{ features: ['stats:clicks'], entities: { user_id: [1, 2], other: [1] } }, 400, 'INVALID_INPUT', /unequal lengths/],
      [{ features: ['stats:clicks'], entities: { user_id: ['seven'] } }, 400, 'INVALID_INPUT', /user_id/],
      [{ features: ['stats:clicks'], entities: { user_id: [1, 2, 3, 4, 5, 6] } }, 400, 'INVALID_INPUT', /limit of 5/],
      [{ features: ['stats:clicks'], entities: { other_id: [1] } }, 400, 'INVALID_INPUT', /user_id/],
      [{ features: 'stats:clicks', entities: { user_id: [1] } }, 400, 'INVALID_INPUT', /list/],
      [[1, 2], 400, 'INVALID_INPUT', /JSON object/],
    ];
    for (const [payload, status, code, message] of cases) {
      const res = await post(a, '/get-online-features', payload);
      expect({ payload, status: res.statusCode }).toEqual({ payload, status });
      expect(res.json().error.code).toBe(code);
      expect(res.json().error.message).toMatch(message);
    }
    const malformed = await a.inject({
      method: 'POST',
      url: '/get-online-features',
      payload: '{"features": [',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.code).toBe('INVALID_INPUT');
    const big = await post(a, '/get-online-features', {
      features: ['stats:clicks'],
      entities: { user_id: [1] },
      pad: 'x'.repeat(4096),
    });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.message).toMatch(/larger than 2048 bytes/);
    const route = await post(a, '/nope', {});
    expect(route.statusCode).toBe(404);
    expect(route.json().error.code).toBe('UNKNOWN_OBJECT');
  });

  it('answers 504 when Redis does not answer in time, then serves again', async () => {
    const { app: a } = await app({ requestTimeoutMs: 300 });
    redis.pause();
    try {
      const started = Date.now();
      const res = await post(a, '/get-online-features', { features: ['stats:clicks'], entities: { user_id: [1] } });
      expect(res.statusCode).toBe(504);
      expect(res.json().error).toMatchObject({ code: 'UNAVAILABLE', details: { timeoutMs: 300 } });
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      redis.resume();
    }
    const ok = await post(a, '/get-online-features', { features: ['stats:clicks'], entities: { user_id: [1] } });
    expect(ok.json().results[1].values).toEqual([10]);
  });

  it('answers 503 while Redis is down under load and recovers without a restart', async () => {
    const { app: a } = await app({ requestTimeoutMs: 3000 });
    const address = await a.listen({ port: 0, host: '127.0.0.1' });
    type Seen = { phase: string; status: number; body: { results?: { values: unknown[] }[]; error?: { code: string } } };
    const seen: Seen[] = [];
    let phase = 'before';
    let stopLoad = false;
    const ids = [1, 50, 100];
    const load = async () => {
      for (let i = 0; i < 5000 && !stopLoad; i++) {
        const res = await fetch(`${address}/get-online-features`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ features: ['stats:clicks'], entities: { user_id: ids } }),
        });
        seen.push({ phase, status: res.status, body: (await res.json()) as Seen['body'] });
      }
    };
    const workers = Array.from({ length: 4 }, load);
    try {
      await new Promise((r) => setTimeout(r, 1000));
      phase = 'outage';
      await redis.stop();
      const outageStart = seen.length;
      for (let i = 0; i < 100 && !seen.slice(outageStart).some((s) => s.status === 503); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 500));
      phase = 'restarting';
      await redis.start();
      const restartAt = seen.length;
      for (let i = 0; i < 100 && !seen.slice(restartAt).some((s) => s.status === 200); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      phase = 'after';
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      stopLoad = true;
      await Promise.all(workers);
    }
    const before = seen.filter((s) => s.phase === 'before');
    const outage = seen.filter((s) => s.phase === 'outage' && s.status !== 200);
    const after = seen.filter((s) => s.phase === 'after');
    expect(before.length).toBeGreaterThan(10);
    expect(before.every((s) => s.status === 200)).toBe(true);
    expect(outage.length).toBeGreaterThan(0);
    expect(outage.every((s) => s.status === 503 && s.body.error?.code === 'UNAVAILABLE')).toBe(true);
    // Only 200 or 503 at any time: never a 500, never a wrong answer.
    expect(seen.every((s) => s.status === 200 || s.status === 503)).toBe(true);
    for (const s of seen.filter((x) => x.status === 200)) expect(s.body.results?.[1]?.values).toEqual([10, 500, 1000]);
    expect(after.length).toBeGreaterThan(10);
    expect(after.every((s) => s.status === 200)).toBe(true);

    const metrics = await (await fetch(`${address}/metrics`)).text();
    const errors = metrics.match(/^strata_online_store_errors_total\{kind="unavailable"\} (\d+)/m);
    expect(Number(errors?.[1])).toBeGreaterThan(0);
    expect(metrics).toMatch(
      /strata_http_request_duration_seconds_bucket\{le="0.005",route="\/get-online-features",method="POST",status="200"\} \d+/,
    );
    expect(metrics).toMatch(
      /strata_http_request_duration_seconds_count\{route="\/get-online-features",method="POST",status="503"\} [1-9]/,
    );
  });

  it('shuts down gracefully: an in-flight request finishes, new ones are refused', async () => {
    const { app: a } = await app({ requestTimeoutMs: 5000 });
    const address = await a.listen({ port: 0, host: '127.0.0.1' });
    redis.pause();
    let closed = false;
    try {
      const inflight = fetch(`${address}/get-online-features`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ features: ['stats:clicks'], entities: { user_id: [7] } }),
      });
      await new Promise((r) => setTimeout(r, 200));
      const closing = a.close().then(() => {
        closed = true;
      });
      await new Promise((r) => setTimeout(r, 200));
      expect(closed).toBe(false);
      const late = await fetch(`${address}/health`).then(
        (r) => r.status,
        () => 'refused',
      );
      expect([503, 'refused']).toContain(late);
      redis.resume();
      const res = await inflight;
      expect(res.status).toBe(200);
      expect(((await res.json()) as { results: { values: unknown[] }[] }).results[1]?.values).toEqual([70]);
      await closing;
      expect(closed).toBe(true);
    } finally {
      redis.resume();
    }
  });

  it('checks API keys per project and scope', async () => {
    const readKey = 'r'.repeat(24);
    const writeKey = 'w'.repeat(24);
    const otherKey = 'o'.repeat(24);
    const { app: a } = await app({
      apiKeys: [
        { key: readKey, project, scopes: ['read'] },
        { key: writeKey, project, scopes: ['read', 'write'] },
        { key: otherKey, project: 'someone_else', scopes: ['read', 'write'] },
      ],
    });
    const q = { features: ['stats:clicks'], entities: { user_id: [1] } };
    expect((await post(a, '/get-online-features', q)).statusCode).toBe(401);
    expect((await post(a, '/get-online-features', q, { authorization: 'Bearer nope-nope-nope-nope' })).statusCode).toBe(401);
    expect((await post(a, '/get-online-features', q, { authorization: `Bearer ${readKey}` })).statusCode).toBe(200);
    expect((await post(a, '/get-online-features', q, { 'x-api-key': writeKey })).statusCode).toBe(200);
    const other = await post(a, '/get-online-features', { ...q, project }, { 'x-api-key': otherKey });
    expect(other.statusCode).toBe(403);
    expect(other.json().error.code).toBe('FORBIDDEN');
    const push = {
      feature_view: 'stats',
      to: 'online',
      df: { user_id: [1], event_timestamp: [new Date(T - 1000).toISOString()], clicks: [1], score: [1], label: ['x'] },
    };
    const denied = await post(a, '/push', push, { 'x-api-key': readKey });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.message).toMatch(/no 'write' scope/);
    expect((await post(a, '/push', push, { 'x-api-key': writeKey })).statusCode).toBe(200);
    expect((await a.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it('serves a newly applied feature within a second, without a restart', async () => {
    const { app: a, cache } = await app();
    const before = await post(a, '/get-online-features', { features: ['stats:clicks'], entities: { user_id: [1] } });
    expect(before.statusCode).toBe(200);
    const next: RepoSpec = {
      ...repo,
      featureViews: [
        ...repo.featureViews,
        {
          name: 'fresh_view',
          entities: ['user'],
          timestampField: 'event_timestamp',
          ttlSeconds: 0,
          online: true,
          features: [{ name: 'f', valueType: 'INT64' }],
        },
      ],
    };
    const missing = await post(a, '/get-online-features', { features: ['fresh_view:f'], entities: { user_id: [1] } });
    expect(missing.statusCode).toBe(404);
    const reloadsBefore = cache.reloads;
    await registry.apply(project, next);
    const applied = Date.now();
    let served = -1;
    while (Date.now() - applied < 1000) {
      const res = await post(a, '/get-online-features', { features: ['fresh_view:f'], entities: { user_id: [1] } });
      if (res.statusCode === 200) {
        expect(res.json().results[1].statuses).toEqual(['NOT_FOUND']);
        served = Date.now() - applied;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(served).toBeGreaterThanOrEqual(0);
    expect(served).toBeLessThan(1000);
    expect(cache.reloads).toBeGreaterThan(reloadsBefore);
  });

  it('pushes online (newer wins) and offline as micro-batched commits; a bad push writes nothing', async () => {
    const { app: a } = await app({ push: { maxDelayMs: 150, maxRows: 1000 } });
    const row = (id: number, t: number, clicks: number) => ({
      user_id: [id],
      event_timestamp: [new Date(t).toISOString()],
      clicks: [clicks],
      score: [0.25],
      label: ['pushed'],
    });
    const newer = await post(a, '/push', { push_source_name: 'stats', to: 'online', df: row(1, T + 1000, 11) });
    expect(newer.statusCode).toBe(200);
    expect(newer.json().online).toEqual({ written: 1, skippedOlder: 0 });
    const older = await post(a, '/push', { feature_view: 'stats', to: 'online', df: row(1, T - 5000, 999) });
    expect(older.json().online).toEqual({ written: 0, skippedOlder: 1 });
    const read = await post(a, '/get-online-features', { features: ['stats:clicks'], entities: { user_id: [1] } });
    expect(read.json().results[1].values).toEqual([11]);

    // Five concurrent offline pushes become one commit.
    const seqBefore = await offline.maxCommitSeq(project, 'stats');
    const pushes = await Promise.all(
      [201, 202, 203, 204, 205].map((id) =>
        post(a, '/push', { feature_view: 'stats', to: 'online_and_offline', df: row(id, T + 2000, id) }),
      ),
    );
    for (const p of pushes) expect(p.statusCode).toBe(200);
    const seqs = new Set(pushes.map((p) => p.json().offline.commit_seq));
    expect(seqs.size).toBe(1);
    expect(pushes[0]?.json().offline.commit_rows).toBe(5);
    expect(await offline.maxCommitSeq(project, 'stats')).toBeGreaterThan(seqBefore);
    const vv = await registry.getView(project, 'stats');
    const { rows } = await pool.query(
      `SELECT user_id, clicks FROM "${fresh.schema}"."${vv.tableName}" WHERE user_id > 200 ORDER BY user_id`,
    );
    expect(rows.map((r) => [Number(r.user_id), Number(r.clicks)])).toEqual([201, 202, 203, 204, 205].map((i) => [i, i]));
    const both = await post(a, '/get-online-features', { features: ['stats:clicks'], entities: { user_id: [203] } });
    expect(both.json().results[1].values).toEqual([203]);

    const countOffline = async () =>
      Number((await pool.query(`SELECT count(*) AS n FROM "${fresh.schema}"."${vv.tableName}"`)).rows[0].n);
    const ingestionsBefore = (await offline.listIngestions(project, 'stats')).length;
    const offlineBefore = await countOffline();
    const bad: [unknown, RegExp][] = [
      [{ ...row(301, T + 3000, 1), extra: [1] }, /not in the view: extra/],
      [(({ score: _s, ...r }) => r)(row(302, T + 3000, 1)), /missing: score/],
      [{ ...row(303, T + 3000, 1), clicks: ['many'] }, /clicks/],
      [{ ...row(304, T + 3000, 1), user_id: [304, 305] }, /unequal lengths/],
      [{ ...row(306, T + 3000, 1), event_timestamp: ['not a time'] }, /not a timestamp/],
    ];
    for (const [df, message] of bad) {
      const res = await post(a, '/push', { feature_view: 'stats', to: 'online_and_offline', df });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.message).toMatch(message);
    }
    const unknownView = await post(a, '/push', { feature_view: 'nope', to: 'online', df: row(1, T, 1) });
    expect(unknownView.statusCode).toBe(404);
    await new Promise((r) => setTimeout(r, 300));
    expect((await offline.listIngestions(project, 'stats')).length).toBe(ingestionsBefore);
    expect(await countOffline()).toBe(offlineBefore);
    const none = await post(a, '/get-online-features', {
      features: ['stats:clicks'],
      entities: { user_id: [301, 302, 303, 304, 306] },
    });
    expect(none.json().results[1].statuses).toEqual(Array(5).fill('NOT_FOUND'));
  });

  it('answers Hopsworks-shaped single and batch requests', async () => {
    const { app: a } = await app();
    const single = await post(a, '/0.1.0/feature_store', {
      featureStoreName: `${project}_featurestore`,
      featureViewName: 'model_v1',
      featureViewVersion: 1,
      entries: { user_id: 4 },
      passedFeatures: {},
      metadataOptions: { featureName: true, featureType: true },
    });
    expect(single.statusCode).toBe(200);
    expect(single.json()).toEqual({
      features: [4, 40, 3.5],
      metadata: [
        { featureName: 'user_id', featureType: 'bigint' },
        { featureName: 'clicks', featureType: 'bigint' },
        { featureName: 'score', featureType: 'double' },
      ],
      status: 'COMPLETE',
    });
    const batch = await post(a, '/0.1.0/batch_feature_store', {
      featureStoreName: project,
      featureViewName: 'stats',
      featureViewVersion: 1,
      entries: [{ user_id: 5 }, { user_id: 9999 }, { user_id: 'bad' }, { wrong_key: 1 }],
      passedFeatures: [{ score: -1 }, null, null, null],
      options: { includeDetailedStatus: true },
    });
    expect(batch.statusCode).toBe(200);
    const b = batch.json();
    expect(b.features).toEqual([[5, 50, -1, 'u5'], [9999, null, null, null], null, null]);
    expect(b.status).toEqual(['COMPLETE', 'MISSING', 'ERROR', 'ERROR']);
    expect(b.metadata).toBeNull();
    expect(b.detailedStatus[1]).toEqual([{ featureGroupId: 1, httpStatus: 404 }]);
    const unknown = await post(a, '/0.1.0/feature_store', {
      featureStoreName: project,
      featureViewName: 'nope',
      featureViewVersion: 1,
      entries: { user_id: 1 },
    });
    expect(unknown.statusCode).toBe(404);
    const badKey = await post(a, '/0.1.0/feature_store', {
      featureStoreName: project,
      featureViewName: 'stats',
      featureViewVersion: 1,
      entries: { ts: 1 },
    });
    expect(badKey.statusCode).toBe(400);
    expect(badKey.json().error.message).toMatch(/missing serving key/);
  });
});
