import type { RepoSpec } from '@strata/core';
import { StrataError } from '@strata/core';
import type { FreshSchema } from '@strata/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from './pool.js';
import type { PgRegistry } from './registry.js';
import { openTestStore, type TestStore } from './store.itest-helpers.js';

const repo = (featureType = 'DOUBLE'): RepoSpec => ({
  entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
  featureViews: [
    {
      name: 'all_users_agg_m',
      entities: ['user'],
      timestampField: 'dt',
      ttlSeconds: 0,
      online: true,
      features: [
        { name: 'feature_1', valueType: featureType as 'DOUBLE' },
        { name: 'feature_n', valueType: 'DOUBLE' },
      ],
    },
  ],
  featureServices: [{ name: 'model_v1', features: [{ view: 'all_users_agg_m' }] }],
});

describe('PgRegistry on real Postgres', () => {
  let fresh: FreshSchema;
  let pool: Pool;
  let reg: PgRegistry;
  let test: TestStore;
  beforeAll(async () => {
    test = await openTestStore();
    ({ fresh, pool, registry: reg } = test);
    await reg.init(); // a second migration is a no-op
  });
  afterAll(async () => {
    await test.close();
  });

  it('creates, then reports nothing to do, then versions on a type change', async () => {
    const first = await reg.apply('p1', repo());
    expect(first.changes.map((c) => c.action)).toEqual(['create', 'create', 'create']);
    expect(first.views[0]?.version).toBe(1);
    const again = await reg.plan('p1', repo());
    expect(again.every((c) => c.action === 'unchanged')).toBe(true);
    const plan = await reg.plan('p1', repo('INT64'));
    const viewChange = plan.find((c) => c.kind === 'feature_view');
    expect(viewChange?.action).toBe('new_version');
    expect(viewChange?.reasons.join()).toContain("feature 'feature_1' type changed: DOUBLE -> INT64");
    const applied = await reg.apply('p1', repo('INT64'));
    expect(applied.views[0]?.version).toBe(2);
    expect((await reg.getView('p1', 'all_users_agg_m')).version).toBe(2);
    expect((await reg.getView('p1', 'all_users_agg_m', 1)).spec.features[0]?.valueType).toBe('DOUBLE');
  });

  it('adds a feature in place (same version) and keeps old rows readable', async () => {
    const r = repo('INT64');
    r.featureViews[0]?.features.push({ name: 'feature_2', valueType: 'STRING' });
    const out = await reg.apply('p1', r);
    expect(out.changes.find((c) => c.kind === 'feature_view')?.action).toBe('update');
    const vv = await reg.getView('p1', 'all_users_agg_m');
    expect(vv.version).toBe(2);
    const { rows } = await pool.query(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2`,
      [fresh.schema, vv.tableName],
    );
    expect(rows.map((x) => x.column_name)).toContain('feature_2');
  });

  it('rejects a bad spec with every problem listed, and changes nothing', async () => {
    const bad: RepoSpec = {
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
      featureViews: [
        {
          name: 'bad-name',
          entities: ['user', 'ghost'],
          timestampField: '',
          ttlSeconds: 0,
          online: true,
          features: [
            { name: 'a', valueType: 'WHATEVER' as 'INT64' },
            { name: 'a', valueType: 'INT64' },
          ],
        },
      ],
      featureServices: [],
    };
    const before = await reg.loadRepo('p1');
    const err = await reg.apply('p1', bad).catch((e) => e);
    expect(err).toBeInstanceOf(StrataError);
    expect(err.code).toBe('INVALID_SPEC');
    const problems = (err.details.problems as string[]).join('\n');
    expect(problems).toContain("entity 'ghost' is not defined");
    expect(problems).toContain('timestampField');
    expect(problems).toContain("feature 'a' appears twice");
    expect(problems).toContain('unknown value type "WHATEVER"');
    expect(problems).toContain('"bad-name" is not valid');
    expect(await reg.loadRepo('p1')).toEqual(before);
  });

  it('serializes concurrent applies: none is lost', async () => {
    const applies = Array.from({ length: 8 }, (_, i) =>
      reg.apply('p2', {
        entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
        featureViews: [
          {
            name: `v${i}`,
            entities: ['user'],
            timestampField: 'ts',
            ttlSeconds: 0,
            online: true,
            features: [{ name: 'x', valueType: 'DOUBLE' }],
          },
        ],
        featureServices: [],
      }),
    );
    await Promise.all(applies);
    const loaded = await reg.loadRepo('p2');
    expect(loaded.featureViews.map((v) => v.name).sort()).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7']);
  });

  it('refuses to delete a view a service uses, then deletes it and its tables', async () => {
    const err = await reg.delete('p1', 'feature_view', 'all_users_agg_m').catch((e) => e);
    expect(err.code).toBe('CONFLICT');
    await reg.delete('p1', 'feature_service', 'model_v1');
    const vv = await reg.getView('p1', 'all_users_agg_m');
    await reg.delete('p1', 'feature_view', 'all_users_agg_m');
    const { rows } = await pool.query('SELECT to_regclass($1) AS t', [`"${fresh.schema}"."${vv.tableName}"`]);
    expect(rows[0].t).toBeNull();
    const unknown = await reg.getView('p1', 'all_users_agg_m').catch((e) => e);
    expect(unknown.code).toBe('UNKNOWN_OBJECT');
  });
});
