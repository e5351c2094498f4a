/**
 * Fixtures on real services for integration tests: a fresh Postgres schema per test file, a unique project per
 * test (which isolates Redis keys, since Feast's layout ends every key with the project), and the stack's addresses.
 * Nothing here mocks a service.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface ServiceUrls {
  postgres: string;
  redis: string;
  temporal: string;
  namespace: string;
}

/** Addresses of the stack that `infra/stack.sh up` starts, overridable by the usual env variables. */
export function serviceUrls(env: NodeJS.ProcessEnv = process.env): ServiceUrls {
  return {
    postgres: env.STRATA_POSTGRES_URL ?? 'postgres://strata@127.0.0.1:5433/strata',
    redis: env.STRATA_REDIS_URL ?? 'redis://127.0.0.1:6380',
    temporal: env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
  };
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export interface FreshSchema {
  schema: string;
  url: string;
  drop(): Promise<void>;
}

/** Creates an empty schema name to use as a registry/offline schema; drop() removes it and everything in it. */
export async function freshSchema(prefix = 'strata_t'): Promise<FreshSchema> {
  const url = serviceUrls().postgres;
  const schema = uniqueName(prefix);
  return {
    schema,
    url,
    async drop() {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Polls until check() returns a truthy value or the time is up. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
