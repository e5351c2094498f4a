/**
 * A real Redis restart in the middle of use. The test runs its own redis-server on a free loopback port (so other
 * suites sharing the stack's Redis are not disturbed), stops it, checks that calls fail fast with UNAVAILABLE, starts
 * it again on the same port and checks that the same store object works again (reconnect, script re-load).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { FeatureViewSpec, JoinKey } from '@strata/core';
import { StrataError } from '@strata/core';
import { Redis } from 'ioredis';
import { requireOrSkip } from '@strata/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisOnlineStore } from './store.js';

function findRedisServer(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const redisServer = findRedisServer();

async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    redisServer as string,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    for (let i = 0; i < 100; i++) {
      try {
        if (probe.status !== 'ready') await probe.connect();
        await probe.ping();
        return child;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(`redis-server did not start on port ${port}`);
  } finally {
    probe.disconnect();
  }
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

const userKey: JoinKey[] = [{ name: 'user_id', valueType: 'INT64' }];
const clicks: FeatureViewSpec = {
  name: 'clicks',
  entities: ['user'],
  features: [{ name: 'n', valueType: 'INT64' }],
  timestampField: 'event_timestamp',
  ttlSeconds: 0,
  online: true,
};

let server: ChildProcess | undefined;
afterAll(async () => {
  if (server) await stopRedis(server);
});

const noRedis = requireOrSkip('Redis restart', !redisServer && 'redis-server is not on PATH (infra/stack.sh installs it)');

describe.skipIf(noRedis)('RedisOnlineStore across a real Redis restart (needs redis-server on PATH)', () => {
  it('fails fast with UNAVAILABLE while Redis is down and works again after it restarts', async () => {
    const port = await freePort();
    server = await startRedis(port);
    const store = RedisOnlineStore.connect(`redis://127.0.0.1:${port}`, { commandTimeoutMs: 2000 });
    const ref = { project: 'restart', view: clicks, joinKeys: userKey };
    const sel = [{ view: clicks, joinKeys: userKey, features: ['n'] }];
    try {
      await store.writeRows(ref, [{ entityKey: { user_id: 1 }, eventTime: new Date('2024-01-01T00:00:00Z'), values: { n: 1 } }]);
      expect((await store.readFeatures('restart', [{ user_id: 1 }], sel))[0]!['clicks:n']!.value).toBe(1);

      await stopRedis(server);
      const started = Date.now();
      const err = await store.readFeatures('restart', [{ user_id: 1 }], sel).catch((e: unknown) => e);
      expect(StrataError.is(err, 'UNAVAILABLE')).toBe(true);
      expect((err as StrataError).retryable).toBe(true);
      expect((err as StrataError).message).toContain(`127.0.0.1:${port}`);
      expect(Date.now() - started).toBeLessThan(10_000);
      await expect(store.ping()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      await expect(
        store.writeRows(ref, [{ entityKey: { user_id: 1 }, eventTime: new Date('2024-01-02T00:00:00Z'), values: { n: 2 } }]),
      ).rejects.toMatchObject({ code: 'UNAVAILABLE' });

      // Same port, empty data set, no scripts: the store must reconnect and re-load its script by itself.
      server = await startRedis(port);
      let ok = false;
      for (let i = 0; i < 50 && !ok; i++) {
        try {
          await store.ping();
          ok = true;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      expect(ok).toBe(true);
      expect(
        await store.writeRows(ref, [
          { entityKey: { user_id: 1 }, eventTime: new Date('2024-01-03T00:00:00Z'), values: { n: 3 } },
        ]),
      ).toEqual({ written: 1, skippedOlder: 0 });
      const [row] = await store.readFeatures('restart', [{ user_id: 1 }], sel);
      expect(row!['clicks:n']).toMatchObject({ value: 3, status: 'PRESENT' });
    } finally {
      await store.close();
    }
  });
});
