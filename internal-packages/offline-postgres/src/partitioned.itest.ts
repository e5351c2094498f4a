/**
 * Hash-partitioned view tables (PgRegistry viewPartitions > 1) on real Postgres: the layout is really partitioned,
 * a big first commit (the bulk path that drops and rebuilds the indexes) leaves every partition indexed and every row
 * in place, and a bad partition count is refused. The point-in-time and time-travel suites run on this layout too.
 */
import { tableFromRows } from '@strata/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arrowColumnBatch, BULK_LOAD_MIN_ROWS } from './offline.js';
import { PgRegistry } from './registry.js';
import { openTestStore, type TestStore } from './store.itest-helpers.js';

describe('hash-partitioned view tables', () => {
  let test: TestStore;
  beforeAll(async () => {
    test = await openTestStore({ viewPartitions: 4 });
    await test.registry.apply('p', {
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
      featureViews: [
        {
          name: 'big',
          entities: ['user'],
          timestampField: 'ts',
          ttlSeconds: 0,
          online: false,
          features: [{ name: 'x', valueType: 'DOUBLE' }],
        },
      ],
      featureServices: [],
    });
  });
  afterAll(async () => {
    await test?.close();
  });

  it('a bulk first commit lands every row in 4 indexed partitions', async () => {
    const vv = await test.registry.getView('p', 'big');
    const { pool, store, fresh } = test;
    const kind = await pool.query(
      `SELECT c.relkind, (SELECT count(*)::int FROM pg_inherits i WHERE i.inhparent = c.oid) AS parts
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
      [fresh.schema, vv.tableName],
    );
    expect(kind.rows[0]).toEqual({ relkind: 'p', parts: 4 });

    const n = BULK_LOAD_MIN_ROWS;
    const t0 = Date.parse('2024-01-01T00:00:00Z');
    const cols = [
      { name: 'user_id', valueType: 'INT64' as const },
      { name: 'ts', valueType: 'UNIX_TIMESTAMP' as const },
      { name: 'x', valueType: 'DOUBLE' as const },
    ];
    const rows = Array.from({ length: n }, (_, i) => ({ user_id: i, ts: new Date(t0 + (i % 1000) * 1000), x: i / 2 }));
    await store.stage(vv, 'bulk', tableFromRows(cols, rows).batches.map(arrowColumnBatch));
    await store.commit('bulk');

    const perPart = await pool.query<{ part: string; n: number; indexes: number }>(
      `SELECT c.relname AS part,
              (SELECT count(*)::int FROM pg_index x WHERE x.indrelid = c.oid AND x.indisvalid) AS indexes
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
         JOIN pg_namespace s ON s.oid = p.relnamespace WHERE s.nspname = $1 AND p.relname = $2 ORDER BY 1`,
      [fresh.schema, vv.tableName],
    );
    expect(perPart.rows).toHaveLength(4);
    // Both indexes (point-in-time order, commit sequence) on every partition, valid after the rebuild.
    for (const r of perPart.rows) expect(r.indexes).toBe(2);
    const parent = await pool.query<{ valid: boolean }>(
      `SELECT bool_and(x.indisvalid) AS valid FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid
         JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = $1 AND c.relname = $2`,
      [fresh.schema, vv.tableName],
    );
    expect(parent.rows[0]?.valid).toBe(true);
    const t = `"${fresh.schema}"."${vv.tableName}"`;
    const counts = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t} GROUP BY tableoid`);
    expect(counts.rows).toHaveLength(4);
    expect(counts.rows.reduce((a, r) => a + r.n, 0)).toBe(n);
    // An entity's lookup is pruned to one partition.
    const plan = await pool.query(`EXPLAIN SELECT * FROM ${t} WHERE user_id = 42`);
    const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(new Set(text.match(/_p\d+/g)).size).toBe(1);
  });

  it('refuses a bad partition count', () => {
    expect(() => new PgRegistry(test.pool, test.fresh.schema, { viewPartitions: -1 })).toThrow(
      expect.objectContaining({ code: 'INVALID_SPEC' }),
    );
  });
});
