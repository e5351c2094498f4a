import { tableFromRows } from '@strata/core';
import type { FreshSchema } from '@strata/testkit';
import type * as arrow from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { getHistoricalFeatures } from './historical.js';
import { arrowColumnBatch, type OfflineStore } from './offline.js';
import type { Pool } from './pool.js';
import type { PgRegistry, ViewVersion } from './registry.js';
import { openTestStore, type TestStore } from './store.itest-helpers.js';

const H = 3600_000;
const t0 = Date.parse('2020-12-07T00:00:00Z');

const cols = [
  { name: 'user_id', valueType: 'INT64' as const },
  { name: 'dt', valueType: 'UNIX_TIMESTAMP' as const },
  { name: 'feature_1', valueType: 'DOUBLE' as const },
  { name: 'feature_n', valueType: 'DOUBLE' as const },
];

function batches(rows: Record<string, unknown>[]) {
  return tableFromRows(cols, rows).batches.map(arrowColumnBatch);
}

describe('OfflineStore on real Postgres', () => {
  let fresh: FreshSchema;
  let pool: Pool;
  let reg: PgRegistry;
  let store: OfflineStore;
  let vv: ViewVersion;

  let test: TestStore;

  beforeAll(async () => {
    test = await openTestStore();
    ({ fresh, pool, registry: reg, store } = test);
    await reg.apply('p', {
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
      featureViews: [
        {
          name: 'agg',
          entities: ['user'],
          timestampField: 'dt',
          ttlSeconds: 2 * 3600,
          online: true,
          features: [
            { name: 'feature_1', valueType: 'DOUBLE' },
            { name: 'feature_n', valueType: 'DOUBLE' },
          ],
        },
      ],
      featureServices: [],
    });
    vv = await reg.getView('p', 'agg');
  });
  afterAll(async () => {
    await test.close();
  });

  it('stages, commits atomically, and a second commit of the same ingestion writes nothing', async () => {
    const staged = await store.stage(
      vv,
      'ing-1',
      batches([
        { user_id: 777, dt: new Date(t0), feature_1: 88.77, feature_n: 29.01 },
        { user_id: 778, dt: new Date(t0 + H), feature_1: 1, feature_n: null },
      ]),
    );
    expect(staged.rows).toBe(2);
    expect(staged.minEventTime?.getTime()).toBe(t0);
    // Staged rows are not visible in the view table before the commit.
    expect((await pool.query(`SELECT count(*)::int AS n FROM "${fresh.schema}"."${vv.tableName}"`)).rows[0].n).toBe(0);
    const c1 = await store.commit('ing-1');
    expect(c1).toMatchObject({ rows: 2, alreadyCommitted: false });
    const c2 = await store.commit('ing-1');
    expect(c2).toMatchObject({ rows: 2, alreadyCommitted: true, commitSeq: c1.commitSeq });
    expect((await pool.query(`SELECT count(*)::int AS n FROM "${fresh.schema}"."${vv.tableName}"`)).rows[0].n).toBe(2);
    expect((await store.getIngestion('ing-1'))?.status).toBe('committed');
  });

  it('refuses bad input with row and column, and leaves nothing half-written', async () => {
    const rows = [
      { user_id: 1, dt: new Date(t0), feature_1: 1, feature_n: 1 },
      { user_id: null, dt: new Date(t0), feature_1: 1, feature_n: 1 },
    ];
    const err = await store.stage(vv, 'ing-bad', batches(rows)).catch((e) => e);
    expect(err.code).toBe('INVALID_INPUT');
    expect(err.where).toContain('row 2');
    expect(err.where).toContain("column 'user_id'");
    const ing = await store.getIngestion('ing-bad');
    expect(ing?.status).toBe('failed');
    const { rows: tables } = await pool.query(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'stg_%'`,
      [fresh.schema],
    );
    expect(tables[0].n).toBe(0);
  });

  it('refuses an empty input and a missing column', async () => {
    const empty = await store.stage(vv, 'ing-empty', []).catch((e) => e);
    expect(empty.code).toBe('INVALID_INPUT');
    const missing = tableFromRows(cols.slice(0, 3), [{ user_id: 1, dt: new Date(t0), feature_1: 1 }]);
    const err = await store.stage(vv, 'ing-missing', missing.batches.map(arrowColumnBatch)).catch((e) => e);
    expect(err.code).toBe('SCHEMA_MISMATCH');
    expect(err.message).toContain("'feature_n'");
  });

  it('joins point in time: latest row <= entity time, within TTL, nulls otherwise, labels kept', async () => {
    await store.stage(
      vv,
      'ing-2',
      batches([
        { user_id: 777, dt: new Date(t0 + 2 * H), feature_1: 90, feature_n: 30 },
        { user_id: 777, dt: new Date(t0 + 5 * H), feature_1: 91, feature_n: 31 },
      ]),
    );
    await store.commit('ing-2');
    const entities: arrow.Table = tableFromRows(
      [
        { name: 'user_id', valueType: 'INT64' },
        { name: 'event_timestamp', valueType: 'UNIX_TIMESTAMP' },
        { name: 'label', valueType: 'BOOL' },
      ],
      [
        { user_id: 777, event_timestamp: new Date(t0 - 1), label: true }, // before any data -> null
        { user_id: 777, event_timestamp: new Date(t0), label: false }, // exactly at the first row
        { user_id: 777, event_timestamp: new Date(t0 + 3 * H), label: true }, // latest is +2h
        { user_id: 777, event_timestamp: new Date(t0 + 4 * H), label: true }, // +2h row exactly at the TTL boundary
        { user_id: 777, event_timestamp: new Date(t0 + 4 * H + 1000), label: true }, // outside TTL -> null
        { user_id: 999, event_timestamp: new Date(t0 + 3 * H), label: false }, // unknown entity -> null
      ],
    );
    const out = await getHistoricalFeatures(pool, fresh.schema, {
      entityTable: entities,
      timestampColumn: 'event_timestamp',
      selections: [{ view: vv, features: vv.spec.features }],
      fullFeatureNames: false,
    });
    expect(out.numRows).toBe(6);
    expect(out.getChild('label')?.toArray().map(Boolean)).toEqual([true, false, true, true, true, false]);
    expect([...(out.getChild('feature_1') ?? [])]).toEqual([null, 88.77, 90, 90, null, null]);
  });

  it('loads a big first commit into a plain table without indexes and rebuilds the same indexes, in the same transaction', async () => {
    // A plain table (viewPartitions 1): a commit-partitioned one attaches a big commit instead (attach.itest.ts).
    const plainTest = await openTestStore({ viewPartitions: 1 });
    onTestFinished(() => plainTest.close());
    const { fresh, pool, registry: reg, store } = plainTest;
    await reg.apply('p', {
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
      featureViews: [
        {
          name: 'bulk',
          entities: ['user'],
          timestampField: 'dt',
          ttlSeconds: 0,
          online: true,
          features: [
            { name: 'feature_1', valueType: 'DOUBLE' },
            { name: 'feature_n', valueType: 'DOUBLE' },
          ],
        },
      ],
      featureServices: [],
    });
    const bulk = await reg.getView('p', 'bulk');
    const indexDefs = async () =>
      (
        await pool.query('SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname', [
          fresh.schema,
          bulk.tableName,
        ])
      ).rows.map((r) => r.indexdef);
    const indexOids = async () =>
      (
        await pool.query('SELECT indexrelid::int AS oid FROM pg_index WHERE indrelid = $1::regclass ORDER BY 1', [
          `"${fresh.schema}"."${bulk.tableName}"`,
        ])
      ).rows.map((r) => r.oid);
    const before = await indexDefs();
    const oidsBefore = await indexOids();
    expect(before.length).toBe(2);
    const n = 120_000;
    const rows = Array.from({ length: n }, (_, i) => ({
      user_id: n - i,
      dt: new Date(t0 + (i % 7) * H),
      feature_1: i,
      feature_n: null,
    }));
    await store.stage(bulk, 'bulk-1', batches(rows));
    expect((await store.commit('bulk-1')).rows).toBe(n);
    expect(await indexDefs()).toEqual(before);
    const oidsAfterBulk = await indexOids();
    expect(oidsAfterBulk).not.toEqual(oidsBefore); // rebuilt after the load
    // A second commit into the now non-empty table takes the ordinary path; both are readable point in time.
    await store.stage(bulk, 'bulk-2', batches([{ user_id: 1, dt: new Date(t0 + 9 * H), feature_1: -1, feature_n: 1 }]));
    await store.commit('bulk-2');
    expect(await indexDefs()).toEqual(before);
    expect(await indexOids()).toEqual(oidsAfterBulk); // maintained, not rebuilt
    const out = await getHistoricalFeatures(pool, fresh.schema, {
      entityTable: tableFromRows(
        [
          { name: 'user_id', valueType: 'INT64' },
          { name: 'event_timestamp', valueType: 'UNIX_TIMESTAMP' },
        ],
        [
          { user_id: 1, event_timestamp: new Date(t0 + 8 * H) },
          { user_id: 1, event_timestamp: new Date(t0 + 10 * H) },
          { user_id: n, event_timestamp: new Date(t0 + 10 * H) },
        ],
      ),
      timestampColumn: 'event_timestamp',
      selections: [{ view: bulk, features: bulk.spec.features }],
      fullFeatureNames: false,
    });
    expect([...(out.getChild('feature_1') ?? [])]).toEqual([n - 1, -1, 0]);
  });
});
