export { createServer, errorBody, type ServerOptions } from './server.js';
export { RegistryCache } from './registry-cache.js';

import { createPool, PgRegistry } from '@strata/offline-postgres';
import { RedisOnlineStore } from '@strata/online-redis';
import type { StrataConfig } from '@strata/sdk';
import { createServer } from './server.js';

/** Starts the serving app on the configured host and port; returns a function that stops it gracefully. */
export async function serve(config: StrataConfig, opts: { port?: number; host?: string; logger?: boolean } = {}) {
  const pool = createPool(config.postgres.url, { max: 4, applicationName: 'strata-serving' });
  const registry = new PgRegistry(pool, config.postgres.schema);
  await registry.init();
  const online = RedisOnlineStore.connect(config.redis.url);
  const { app, cache } = await createServer({ project: config.project, registry, pool, online, logger: opts.logger ?? false });
  const address = await app.listen({ port: opts.port ?? config.serving.port, host: opts.host ?? config.serving.host });
  const stop = async () => {
    await app.close();
    await online.close().catch(() => {});
    await pool.end().catch(() => {});
  };
  return { app, cache, address, stop };
}
