import { readFileSync } from 'node:fs';
import { StrataError, validateRepo } from '@strata/core';
import { describe, expect, it } from 'vitest';
import type { RepoWithExtras } from '../report.js';
import { buildRegistry, decodeFeastRegistry, encodeFeastRegistry, sameRegistry } from './registry.js';
import { T } from './schema.js';
import { decodeMessage, encodeToBytes } from './wire.js';

const fixture = new Uint8Array(readFileSync(new URL('../__fixtures__/feast-0.67-registry.db', import.meta.url)));

function catchErr(fn: () => unknown): StrataError {
  try {
    fn();
  } catch (e) {
    if (e instanceof StrataError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('decodeFeastRegistry (registry written by feast 0.67 apply)', () => {
  const [imported] = decodeFeastRegistry(fixture);
  it('maps entities, views, TTLs, timestamps and the service', () => {
    expect(imported?.project).toBe('strata_compat');
    const repo = imported!.repo;
    expect(repo.entities.map((e) => [e.name, e.joinKeys])).toEqual([
      ['user', [{ name: 'user_id', valueType: 'INT64' }]],
      ['merchant', [{ name: 'merchant_id', valueType: 'STRING' }]],
    ]);
    expect(repo.entities[0]).toMatchObject({ description: 'a customer', owner: 'ml@example.com', tags: { team: 'growth' } });
    const um = repo.featureViews.find((v) => v.name === 'user_merchant')!;
    expect(um).toMatchObject({
      entities: ['user', 'merchant'],
      ttlSeconds: 30 * 86400,
      online: false,
      timestampField: 'event_timestamp',
    });
    const us = repo.featureViews.find((v) => v.name === 'user_stats')!;
    expect(us).toMatchObject({ ttlSeconds: 172800, online: true, createdTimestampField: 'created', tags: { tier: 'gold' } });
    expect(us.features).toEqual([
      { name: 'orders_7d', valueType: 'INT64', description: 'orders in the last 7 days' },
      { name: 'spend_7d', valueType: 'DOUBLE' },
      { name: 'segment', valueType: 'STRING', tags: { pii: 'false' } },
    ]);
    expect(repo.featureServices).toMatchObject([
      {
        name: 'checkout_model',
        features: [
          { view: 'user_stats', features: ['orders_7d', 'spend_7d'] },
          { view: 'merchant_stats' },
          { view: 'user_merchant' },
        ],
        tags: { model: 'checkout-v1' },
      },
    ]);
    expect(() => validateRepo(repo)).not.toThrow();
  });

  it('reports what it kept as extras', () => {
    const r = imported!.report;
    expect(r.created).toContain('feature view user_stats');
    expect(r.extras.find((e) => e.object === 'entity __dummy')).toBeTruthy();
    expect(r.extras.find((e) => e.object === 'feature view user_stats')?.fields).toEqual(
      expect.arrayContaining(['meta', 'batch_source', 'entity_columns', 'version']),
    );
    expect(r.impossible).toEqual([]);
  });

  it('export(import(x)) == x byte for byte', () => {
    const out = encodeFeastRegistry([{ project: imported!.project, repo: imported!.repo }]);
    expect(Buffer.compare(Buffer.from(out), Buffer.from(fixture))).toBe(0);
  });

  it('survives a JSON round trip of the repo (as the Strata registry stores it)', () => {
    const repo = JSON.parse(JSON.stringify(imported!.repo));
    const out = encodeFeastRegistry([{ project: 'strata_compat', repo }]);
    expect(Buffer.compare(Buffer.from(out), Buffer.from(fixture))).toBe(0);
  });
});

describe('encodeFeastRegistry from a Strata-native repo', () => {
  const repo = {
    entities: [
      { name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' as const }] },
      {
        name: 'store_item',
        joinKeys: [
          { name: 'store_id', valueType: 'INT32' as const },
          { name: 'item_id', valueType: 'STRING' as const },
        ],
      },
    ],
    featureViews: [
      {
        name: 'sales',
        entities: ['store_item'],
        features: [{ name: 'units', valueType: 'INT64' as const }],
        timestampField: 'ts',
        ttlSeconds: 3600,
        online: true,
      },
    ],
    featureServices: [{ name: 'svc', features: [{ view: 'sales' }] }],
  };
  const now = new Date('2024-01-01T00:00:00Z');
  it('splits a composite entity into tagged Feast entities and joins them back on import', () => {
    const bytes = encodeFeastRegistry([{ project: 'p', repo }], { now });
    const reg = decodeMessage(T.Registry, bytes);
    const names = (reg.entities as { spec: { name: string } }[]).map((e) => e.spec.name);
    expect(names).toEqual(['user', 'store_item__store_id', 'store_item__item_id']);
    const [back] = decodeFeastRegistry(bytes);
    expect(back!.repo.entities.map((e) => [e.name, e.joinKeys.map((k) => k.name)])).toEqual([
      ['user', ['user_id']],
      ['store_item', ['store_id', 'item_id']],
    ]);
    expect(back!.repo.featureViews[0]).toMatchObject({ entities: ['store_item'], ttlSeconds: 3600, timestampField: 'ts' });
    expect(back!.repo.featureServices[0]?.features).toEqual([{ view: 'sales' }]);
    // and a second export is identical
    expect(sameRegistry(encodeFeastRegistry([{ project: 'p', repo: back!.repo }], { now }), bytes)).toBe(true);
  });
});

describe('bad input', () => {
  it('rejects an empty, truncated or foreign file with INVALID_INPUT', () => {
    expect(catchErr(() => decodeFeastRegistry(new Uint8Array()))).toMatchObject({ code: 'INVALID_INPUT' });
    const truncated = catchErr(() => decodeFeastRegistry(fixture.subarray(0, fixture.length - 7), { source: 'x/registry.db' }));
    expect(truncated.code).toBe('INVALID_INPUT');
    expect(truncated.where).toBe('x/registry.db');
    expect(truncated.hint).toMatch(/truncated/);
    const text = catchErr(() => decodeFeastRegistry(new TextEncoder().encode('project: foo\nregistry: data/registry.db\n')));
    expect(text.code).toBe('INVALID_INPUT');
  });

  it('names the supported versions for an unknown registry_schema_version', () => {
    const bytes = encodeToBytes(T.Registry, { ...decodeMessage(T.Registry, fixture), registry_schema_version: '7' });
    const err = catchErr(() => decodeFeastRegistry(bytes));
    expect(err.message).toMatch(/"7"/);
    expect(err.hint).toMatch(/supported versions: 1/);
  });

  it('rejects duplicate names in a project', () => {
    const reg = decodeMessage(T.Registry, fixture);
    const views = reg.feature_views as unknown[];
    const bytes = encodeToBytes(T.Registry, { ...reg, feature_views: [...views, views[0]] });
    expect(catchErr(() => decodeFeastRegistry(bytes)).message).toMatch(/feature view 'user_stats' appears twice/);
  });

  it('lists features whose Feast type has no Strata type, keeps them, and writes them back', () => {
    const reg = decodeMessage(T.Registry, fixture) as { feature_views: { spec: { features: unknown[] } }[] };
    reg.feature_views[0]!.spec.features.push({ name: 'attrs', value_type: 20 });
    const bytes = encodeToBytes(T.Registry, reg as never);
    const [imp] = decodeFeastRegistry(bytes);
    expect(imp!.report.impossible).toEqual([
      expect.objectContaining({ object: 'feature view user_stats.attrs', reason: expect.stringMatching(/MAP/) }),
    ]);
    expect(imp!.repo.featureViews[0]!.features.map((f) => f.name)).not.toContain('attrs');
    expect(
      Buffer.compare(Buffer.from(encodeFeastRegistry([{ project: imp!.project, repo: imp!.repo }])), Buffer.from(bytes)),
    ).toBe(0);
  });
});

describe('through the Strata registry (objects only, keys reordered as jsonb does)', () => {
  const sortKeys = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sortKeys)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort((a, b) => a.length - b.length || (a < b ? -1 : 1))
              .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
          )
        : v;
  it('keeps every entity, view, service and registered data source (object-wise)', () => {
    const [imp] = decodeFeastRegistry(fixture);
    const stored = sortKeys(JSON.parse(JSON.stringify(imp!.repo))) as RepoWithExtras;
    const repo = {
      entities: [...stored.entities].reverse(),
      featureViews: [...stored.featureViews].sort((a, b) => a.name.localeCompare(b.name)),
      featureServices: stored.featureServices,
    };
    const out = decodeMessage(T.Registry, encodeFeastRegistry([{ project: 'strata_compat', repo }]));
    const orig = decodeMessage(T.Registry, fixture);
    const norm = (list: unknown) => JSON.stringify(sortKeys(list));
    const realEntities = (orig.entities as { spec: { name: string } }[]).filter((e) => e.spec.name !== '__dummy');
    expect(norm(out.entities)).toBe(norm(realEntities));
    expect(norm(out.feature_views)).toBe(norm(orig.feature_views));
    expect(norm(out.feature_services)).toBe(norm(orig.feature_services));
    expect(norm(out.data_sources)).toBe(norm(orig.data_sources));
  });
});

describe('Feast on-demand feature views', () => {
  it('are kept opaque and reported as needing a TypeScript port', () => {
    const reg = decodeMessage(T.Registry, fixture);
    const odfv = Buffer.from(encodeToBytes(T.Peek2, { spec: { name: 'risk_score', project: 'strata_compat' } })).toString(
      'base64',
    );
    reg.on_demand_feature_views = [odfv];
    const [imported] = decodeFeastRegistry(encodeToBytes(T.Registry, reg));
    expect(imported?.report.impossible).toContainEqual({
      object: 'on-demand feature view risk_score',
      reason: expect.stringMatching(/needs a TypeScript port/),
    });
    expect(imported?.report.extras).toContainEqual({ object: 'on_demand_feature_views (1)', fields: [expect.any(String)] });
  });

  it("Strata's own (TypeScript) on-demand views are reported as not exportable to Feast", () => {
    const { report } = buildRegistry([
      {
        project: 'p',
        repo: {
          entities: [],
          featureViews: [],
          featureServices: [],
          onDemandFeatureViews: [{ name: 'ratio', sources: [], features: [], transformation: { kind: 'typescript', code: '' } }],
        },
      },
    ]);
    expect(report.impossible).toContainEqual({
      object: 'on-demand feature view ratio',
      reason: expect.stringMatching(/TypeScript/),
    });
  });
});
