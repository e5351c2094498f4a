/** For this package's integration tests: a registry and offline store in a fresh Postgres schema, and its teardown. */
import { freshSchema, type FreshSchema } from '@strata/testkit';
import { OfflineStore } from './offline.js';
import { createPool, type Pool } from './pool.js';
import { PgRegistry } from './registry.js';

export interface TestStore {
  fresh: FreshSchema;
  pool: Pool;
  registry: PgRegistry;
  store: OfflineStore;
  close(): Promise<void>;
}

/** View table layouts the suites run on: partitioned by commit (the default; small test commits insert into its shared partition), and hash-partitioned by entity key. attach.itest.ts compares the attach path with plain tables. */
export const VIEW_LAYOUTS = [0, 4] as const;

export async function openTestStore(opts: { viewPartitions?: number; prefix?: string } = {}): Promise<TestStore> {
  const fresh = await freshSchema(opts.prefix);
  const pool = createPool(fresh.url);
  const registry = new PgRegistry(pool, fresh.schema, opts);
  await registry.init();
  return {
    fresh,
    pool,
    registry,
    store: new OfflineStore(pool, registry),
    async close() {
      await pool.end();
      await fresh.drop();
    },
  };
}
