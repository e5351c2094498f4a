export { type ApiKey, ApiKeys, AuthError, isLoopback } from './auth.js';
export { checkPush, OfflinePushBuffer } from './push.js';
export { RegistryCache } from './registry-cache.js';
export { createServer, errorBody, type ServerOptions } from './server.js';

import { createPool, OfflineStore, PgRegistry } from '@strata/offline-postgres';
import { openOnlineStore } from '@strata/online-redis';
import { StrataError, type StrataConfig } from '@strata/sdk';
import { isLoopback } from './auth.js';
import { createServer } from './server.js';

/**
 * Starts the serving app on the configured host and port; returns a function that stops it gracefully: no new
 * requests (503), in-flight requests finish, buffered pushes are committed, then the connections close.
 */
export async function serve(config: StrataConfig, opts: { port?: number; host?: string; logger?: boolean } = {}) {
  const host = opts.host ?? config.serving.host;
  if (!config.serving.apiKeys.length && !isLoopback(host)) {
    throw new StrataError('CONFIG', `refusing to serve on ${host} without API keys`, {
      hint: 'configure serving.apiKeys (or STRATA_API_KEYS), or listen on 127.0.0.1',
    });
  }
  const pool = createPool(config.postgres.url, { max: 8, applicationName: 'strata-serving' });
  const registry = new PgRegistry(pool, config.postgres.schema, { viewPartitions: config.postgres.viewPartitions });
  await registry.init();
  // A store command gives up (UNAVAILABLE, 503) before the request deadline would, e.g. during a cluster failover.
  const online = openOnlineStore(config.redis, {
    commandTimeoutMs: Math.max(100, Math.floor(config.serving.requestTimeoutMs * 0.8)),
  });
  const { app, cache } = await createServer({
    project: config.project,
    registry,
    pool,
    online,
    offline: new OfflineStore(pool, registry),
    apiKeys: config.serving.apiKeys,
    requestTimeoutMs: config.serving.requestTimeoutMs,
    maxEntities: config.serving.maxEntities,
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
