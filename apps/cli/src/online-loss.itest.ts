/**
 * Losing the online store, for real: a private redis-server (AOF on, as the stack runs it) is killed and started
 * again without its files. /health then reports the materialized view as lost (degraded, and a Prometheus gauge),
 * and the next incremental materialization notices the missing marker and refills the view in full. A restart that
 * keeps the files (AOF) keeps the data and nothing is reported.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool, OfflineStore, PgRegistry } from '@strata/offline-postgres';
import { RedisOnlineStore } from '@strata/online-redis';
import { connect, loadConfig, type Strata, tableFromRows } from '@strata/sdk';
import { createServer } from '@strata/serving';
import { freshSchema, type FreshSchema, strataEnv, testScope } from '@strata/testkit';
import { createStrataWorker } from '@strata/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const redisBin = (() => {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
})();

async function freePort(): Promise<number> {
  const srv = netServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

class AofRedis {
  child: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'strata-aof-'));
  constructor(readonly port: number) {}
  async start(): Promise<void> {
    this.child = spawn(
      redisBin as string,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
      ],
      { stdio: 'ignore' },
    );
    const probe = RedisOnlineStore.connect(`redis://127.0.0.1:${this.port}`, { failFast: true });
    try {
      for (let i = 0; i < 100; i++) {
        if (
          await probe.ping().then(
            () => true,
            () => false,
          )
        )
          return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('redis-server did not start');
    } finally {
      await probe.close();
    }
  }
  /** A crash: SIGKILL, no shutdown save. */
  async kill(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    const exited = once(c, 'exit');
    c.kill('SIGKILL');
    await exited;
  }
  wipe(): void {
    for (const f of readdirSync(this.dir)) rmSync(join(this.dir, f), { recursive: true, force: true });
  }
}

describe.skipIf(!redisBin)('a lost online store is noticed and refilled', () => {
  let fresh: FreshSchema;
  let redis: AofRedis;
  let strata: Strata;
  let worker: Awaited<ReturnType<typeof createStrataWorker>>;
  let running: Promise<void>;
  let serving: Awaited<ReturnType<typeof createServer>>;
  let online: RedisOnlineStore;
  let pool: ReturnType<typeof createPool>;

  beforeAll(async () => {
    fresh = await freshSchema();
    redis = new AofRedis(await freePort());
    await redis.start();
    const env = { ...strataEnv(testScope(fresh.schema, 'loss')), STRATA_REDIS_URL: `redis://127.0.0.1:${redis.port}` };
    const config = loadConfig({ env });
    strata = await connect({ config });
    worker = await createStrataWorker(config, { logLevel: 'ERROR' });
    running = worker.worker.run();
    pool = createPool(fresh.url);
    const registry = new PgRegistry(pool, fresh.schema);
    online = RedisOnlineStore.connect(config.redis.url, { failFast: true });
    serving = await createServer({
      project: config.project,
      registry,
      pool,
      online,
      offline: new OfflineStore(pool, registry),
      log: () => {},
    });
  });

  afterAll(async () => {
    await serving?.app.close();
    await online?.close();
    await pool?.end();
    worker?.worker.shutdown();
    await running?.catch(() => {});
    await worker?.close();
    await strata?.close();
    await redis?.kill();
    if (redis) rmSync(redis.dir, { recursive: true, force: true });
    await fresh?.drop();
  });

  const health = async () => {
    const res = await serving.app.inject({ method: 'GET', url: '/health' });
    return {
      status: res.statusCode,
      body: res.json() as { status: string; checks: Record<string, string>; lostViews?: unknown[] },
    };
  };
  const lostGauge = async () => {
    const text = (await serving.app.inject({ method: 'GET', url: '/metrics' })).body;
    return Number(/^strata_online_views_lost (\d+)/m.exec(text)?.[1]);
  };
  const clicks = async (ids: number[]) =>
    (await strata.getOnlineFeatures({ features: ['clicks:n'], entities: { user_id: ids } })).results[1]?.values;

  it('reports the lost view, refills it in full on the next incremental run, and survives an AOF restart', async () => {
    await strata.apply({
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
      featureViews: [
        {
          name: 'clicks',
          entities: ['user'],
          timestampField: 'ts',
          ttlSeconds: 0,
          online: true,
          features: [{ name: 'n', valueType: 'INT64' }],
        },
      ],
    });
    const rows = (from: number, n: number) =>
      tableFromRows(
        [
          { name: 'user_id', valueType: 'INT64' },
          { name: 'ts', valueType: 'UNIX_TIMESTAMP' },
          { name: 'n', valueType: 'INT64' },
        ],
        Array.from({ length: n }, (_, i) => ({
          user_id: BigInt(from + i),
          ts: new Date('2024-01-01T00:00:00Z'),
          n: BigInt(from + i),
        })),
      );
    await (await strata.ingest('clicks', rows(1, 100), { materialize: true })).result();
    expect(await clicks([1, 100])).toEqual([1, 100]);
    expect((await health()).body.status).toBe('ok');
    expect(await lostGauge()).toBe(0);

    // A crash with the AOF kept: the data (and the marker) come back.
    await new Promise((r) => setTimeout(r, 1500)); // appendfsync everysec
    await redis.kill();
    await redis.start();
    expect(await clicks([1, 100])).toEqual([1, 100]);
    expect((await health()).body.status).toBe('ok');

    // A crash that loses the files: everything is NOT_FOUND, and /health says which view was lost.
    await redis.kill();
    redis.wipe();
    await redis.start();
    expect(await clicks([1, 100])).toEqual([null, null]);
    const h = await health();
    expect(h.status).toBe(200);
    expect(h.body.status).toBe('degraded');
    expect(h.body.checks.online_data).toBe('lost');
    expect(h.body.lostViews).toEqual([{ project: strata.project, view: 'clicks' }]);
    expect(await lostGauge()).toBe(1);

    // One more commit, then an incremental run: it refills all 101 entities, not just the new one.
    await (await strata.ingest('clicks', rows(101, 1))).result();
    const m = await (await strata.materialize('clicks')).result();
    expect(m.refill).toBe(true);
    expect(m.rowsWritten).toBe(101);
    expect(await clicks([1, 100, 101])).toEqual([1, 100, 101]);
    expect((await health()).body.status).toBe('ok');
    expect(await lostGauge()).toBe(0);
  });
});
