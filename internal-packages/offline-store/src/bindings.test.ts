import { createPool, PgRegistry } from '@strata/offline-postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { ColumnarOfflineStore, openOfflineStore, PostgresOfflineStore } from './bindings.js';

// No query runs here: a pool connects on first use only.
const pool = createPool('postgres://nobody@127.0.0.1:1/none');
const registry = new PgRegistry(pool, 'unused');

describe('openOfflineStore', () => {
  afterAll(async () => {
    await pool.end();
  });

  it('refuses the columnar engine without a root, with what to set', () => {
    expect(() => openOfflineStore(pool, registry, { engine: 'columnar' })).toThrow(
      expect.objectContaining({ code: 'CONFIG', hint: expect.stringContaining('STRATA_COLUMNAR_ROOT') }),
    );
  });

  it('writes Parquet copies whenever a root is set, and picks the engine that reads', async () => {
    const plain = openOfflineStore(pool, registry);
    expect(plain).toBeInstanceOf(PostgresOfflineStore);
    expect(plain.postgres.options.commitFiles).toBeUndefined();
    expect(() => plain.backfill('p')).toThrow(expect.objectContaining({ code: 'CONFIG' }));
    const pg = openOfflineStore(pool, registry, { columnarRoot: '/nonexistent/root' });
    expect(pg.engine).toBe('postgres');
    expect(pg.postgres.options.commitFiles).toBeDefined();
    const col = openOfflineStore(pool, registry, { engine: 'columnar', columnarRoot: '/nonexistent/root' });
    expect(col).toBeInstanceOf(ColumnarOfflineStore);
    expect(col.engine).toBe('columnar');
    await col.close();
  });
});
