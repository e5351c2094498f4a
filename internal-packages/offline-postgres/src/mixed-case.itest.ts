/**
 * A registry and offline store in a schema whose name has capitals: every statement quotes it, so stage, commit
 * (the commit sequence included), read and the janitor all work (an unquoted name would be folded to lower case).
 */
import { tableFromRows } from '@strata/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arrowColumnBatch } from './offline.js';
import { openTestStore, type TestStore } from './store.itest-helpers.js';

describe('a mixed-case schema', () => {
  let t: TestStore;
  beforeAll(async () => {
    t = await openTestStore({ prefix: 'Strata_MiXed' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('stages, commits with the commit sequence and sweeps staging', async () => {
    expect(t.fresh.schema).toMatch(/[A-Z]/);
    await t.registry.apply('p', {
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
      featureViews: [
        {
          name: 'v',
          entities: ['user'],
          timestampField: 'ts',
          ttlSeconds: 0,
          online: false,
          features: [{ name: 'x', valueType: 'DOUBLE' }],
        },
      ],
      featureServices: [],
    });
    const vv = await t.registry.getView('p', 'v');
    const table = tableFromRows(
      [
        { name: 'user_id', valueType: 'INT64' },
        { name: 'ts', valueType: 'UNIX_TIMESTAMP' },
        { name: 'x', valueType: 'DOUBLE' },
      ],
      [{ user_id: 1n, ts: new Date('2024-01-01T00:00:00Z'), x: 1.5 }],
    );
    await t.store.stage(vv, 'mixed-1', table.batches.map(arrowColumnBatch));
    const c1 = await t.store.commit('mixed-1');
    await t.store.stage(vv, 'mixed-2', table.batches.map(arrowColumnBatch));
    const c2 = await t.store.commit('mixed-2');
    expect(c2.commitSeq).toBe(c1.commitSeq + 1);
    expect(await t.store.maxCommitSeq('p', 'v')).toBe(c2.commitSeq);
    await t.store.stage(vv, 'mixed-3', table.batches.map(arrowColumnBatch));
    expect(await t.store.abandon('mixed-3', { code: 'TEST' })).toBe(true);
    const report = await t.store.cleanAbandoned(0);
    expect(report.orphanTables).toEqual([]);
  });
});
