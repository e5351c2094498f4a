// The serving app refuses a non-loopback address when no API key exists anywhere (config or the control plane's
// keys in Postgres): it has to read the key table to know, so this runs against the real Postgres.
import { loadConfig } from '@strata/sdk';
import { freshSchema, type FreshSchema } from '@strata/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve } from './index.js';

describe('serve()', () => {
  let fresh: FreshSchema;
  beforeAll(async () => {
    fresh = await freshSchema();
  });
  afterAll(async () => {
    await fresh?.drop();
  });

  it('refuses to listen beyond loopback without API keys', async () => {
    const config = loadConfig({
      env: { STRATA_CONFIG: '', STRATA_POSTGRES_URL: fresh.url, STRATA_POSTGRES_SCHEMA: fresh.schema },
    });
    await expect(serve(config, { host: '0.0.0.0', port: 0 })).rejects.toMatchObject({
      code: 'CONFIG',
      message: expect.stringMatching(/without API keys/),
    });
  });
});
