export { arrowIpcStream } from './arrow-stream.js';
export { redactSecrets } from './redact.js';
export { createServer, HttpError, type ServerOptions } from './server.js';
export { spoolUpload, UPLOAD_TYPES, uploadFormat } from './uploads.js';

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, Identity, StrataError, type StrataConfig } from '@strata/sdk';
import { createServer } from './server.js';

const LOOPBACK = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

/**
 * Starts the control plane on the configured host and port. With no key configured (no bootstrap admin key and no
 * key in the registry) it refuses any host but loopback. Returns its address and a graceful stop().
 */
export async function startServer(
  config: StrataConfig,
  opts: { port?: number; host?: string; logger?: boolean } = {},
): Promise<{ address: string; stop: () => Promise<void> }> {
  const host = opts.host ?? config.server.host;
  const strata = await connect({ config });
  try {
    const identity = new Identity(strata.pool, config.postgres.schema, { adminKey: config.server.adminKey });
    if (!LOOPBACK(host) && !(await identity.enabled())) {
      throw new StrataError('CONFIG', `refusing to listen on ${host} with no API keys configured`, {
        hint: 'set server.adminKey (STRATA_ADMIN_KEY) or create a key with `strata keys create`, or listen on 127.0.0.1',
      });
    }
    const app = await createServer({
      strata,
      identity,
      dataDir: config.server.dataDir ?? join(tmpdir(), 'strata-server'),
      uploadLimitBytes: config.server.uploadLimitBytes,
      bodyLimitBytes: config.server.bodyLimitBytes,
      logger: opts.logger ?? false,
    });
    const address = await app.listen({ port: opts.port ?? config.server.port, host });
    return {
      address,
      stop: async () => {
        await app.close();
        await strata.close();
      },
    };
  } catch (err) {
    await strata.close();
    throw err;
  }
}
