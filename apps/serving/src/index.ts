export { type ApiKey, ApiKeys, AuthError, isLoopback, type KeyLookup } from './auth.js';
export { checkPush, OfflinePushBuffer } from './push.js';
export { RegistryCache } from './registry-cache.js';
export { createServer, errorBody, type ServerOptions } from './server.js';

import { createPool, PgRegistry } from '@strata/offline-postgres';
import { openOfflineStore } from '@strata/offline-store';
import { openOnlineStore } from '@strata/online-redis';
import { Identity, offlineOptions, StrataError, type StrataConfig } from '@strata/sdk';
import { isLoopback } from './auth.js';
import { createServer } from './server.js';

/**
 * Starts the serving app on the configured host and port; returns a function that stops it gracefully: no new
 * requests (503), in-flight requests finish, buffered pushes are committed, then the connections close.
 */
export async function serve(config: StrataConfig, opts: { port?: number; host?: string; logger?: boolean } = {}) {
  const host = opts.host ?? config.serving.host;
  const pool = createPool(config.postgres.url, { max: 8, applicationName: 'strata-serving' });
  const registry = new PgRegistry(pool, config.postgres.schema, { viewPartitions: config.postgres.viewPartitions });
  await registry.init();
  // One identity model: the keys the control plane manages (and its bootstrap admin key) work here too.
  const keyLookup = new Identity(pool, config.postgres.schema, { adminKey: config.server.adminKey });
  if (!config.serving.apiKeys.length && !isLoopback(host) && !(await keyLookup.enabled())) {
    await pool.end().catch(() => {});
    throw new StrataError('CONFIG', `refusing to serve on ${host} without API keys`, {
      hint: 'create keys with `strata keys create` (or configure serving.apiKeys / STRATA_API_KEYS), or listen on 127.0.0.1',
    });
  }
  // Fail fast while Redis is unreachable (an immediate 503 instead of waiting out the timeout), and a store command
  // gives up (UNAVAILABLE, 503) before the request deadline would, e.g. during a cluster failover.
  const online = openOnlineStore(config.redis, {
    failFast: true,
    commandTimeoutMs: Math.max(100, Math.floor(config.serving.requestTimeoutMs * 0.8)),
  });
  await online.waitUntilReady(3000);
  const { app, cache } = await createServer({
    project: config.project,
    registry,
    pool,
    online,
    // Pushed commits also write their Parquet file when a columnar root is configured (ADR 0006).
    offline: openOfflineStore(pool, registry, offlineOptions(config)).postgres,
    apiKeys: config.serving.apiKeys,
    keyLookup,
    requestTimeoutMs: config.serving.requestTimeoutMs,
    maxEntities: config.serving.maxEntities,
    statuses: config.serving.statuses,
    bodyLimit: config.serving.bodyLimitBytes,
    ...(config.redis.keyTtlSeconds ? { push: { keyTtlSeconds: config.redis.keyTtlSeconds } } : {}),
    logger: opts.logger ?? false,
  });
  const address = await app.listen({ port: opts.port ?? config.serving.port, host });
  const stop = async () => {
    await app.close();
    await online.close().catch(() => {});
    await pool.end().catch(() => {});
  };
  return { app, cache, address, stop };
}
