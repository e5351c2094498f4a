import { readdirSync, readFileSync } from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateRepo } from '@strata/core';
import { afterAll, describe, expect, it } from 'vitest';
import { emptyReport } from '../report.js';
import { decodeHopsworksFeatureGroup, encodeHopsworksFeatureGroup, suiteFromHopsworks, suiteToHopsworks } from './dto.js';
import { buildHopsworksFiles, exportHopsworks, importHopsworks } from './folder.js';
import { fromHiveType, fromOnlineType, toHiveType } from './types.js';

const fixtures = fileURLToPath(new URL('../__fixtures__/hopsworks', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'strata-hops-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function readTree(dir: string, base = dir): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) Object.assign(out, readTree(p, base));
    else out[p.slice(base.length + 1)] = JSON.parse(readFileSync(p, 'utf8'));
  }
  return out;
}

describe('Hopsworks types', () => {
  it('maps Hive and online types both ways, flags lossy ones, refuses complex ones', () => {
    expect(fromHiveType('bigint')).toEqual({ type: 'INT64' });
    expect(fromHiveType('array<double>')).toEqual({ type: 'DOUBLE_LIST' });
    expect(fromHiveType('decimal(12,2)')).toMatchObject({ type: 'DOUBLE', lossy: expect.any(String) });
    expect(fromHiveType('struct<a:int>')).toEqual({});
    expect(fromHiveType('array<array<int>>')).toEqual({});
    expect(fromOnlineType('varchar(100)')).toEqual({ type: 'STRING' });
    expect(fromOnlineType('tinyint(1)')).toEqual({ type: 'BOOL' });
    for (const t of ['INT64', 'INT32', 'FLOAT', 'DOUBLE', 'STRING', 'BOOL', 'BYTES', 'UNIX_TIMESTAMP', 'STRING_LIST'] as const)
      expect(fromHiveType(toHiveType(t)).type).toBe(t);
  });
});

describe('importHopsworks', async () => {
  const imp = await importHopsworks(fixtures);
  it('maps feature groups to views keyed by their primary key', () => {
    const { repo } = imp;
    expect(imp.project).toBe('fraud');
    expect(repo.entities.map((e) => [e.name, e.joinKeys])).toEqual([
      ['cc_num', [{ name: 'cc_num', valueType: 'INT64' }]],
      [
        'cc_num__tid',
        [
          { name: 'cc_num', valueType: 'INT64' },
          { name: 'tid', valueType: 'STRING' },
        ],
      ],
    ]);
    const tx = repo.featureViews.find((v) => v.name === 'transactions')!;
    expect(tx).toMatchObject({ entities: ['cc_num__tid'], timestampField: 'datetime', online: true, validationPolicy: 'STRICT' });
    expect(tx.features.map((f) => [f.name, f.valueType])).toEqual([
      ['amount', 'DOUBLE'],
      ['loc_delta', 'DOUBLE_LIST'],
    ]);
    expect(tx.expectationSuite).toMatchObject({
      expectation_suite_name: 'transactions_suite',
      expectations: [
        { expectation_type: 'expect_column_values_to_be_between', kwargs: { column: 'amount', min_value: 0, max_value: 100000 } },
        { expectation_type: 'expect_column_values_to_not_be_null', kwargs: { column: 'cc_num' }, meta: {} },
      ],
    });
    expect(repo.featureViews.map((v) => v.name).sort()).toEqual(['profile', 'transactions', 'transactions_v1']);
    expect(() => validateRepo(repo)).not.toThrow();
  });

  it('maps the feature view query (nested joins with prefixes) to a service and keeps labels', () => {
    expect(imp.repo.featureServices).toMatchObject([
      {
        name: 'fraud_model',
        features: [
          { view: 'transactions', features: ['amount', 'loc_delta'] },
          { view: 'profile', features: ['age', 'country'], alias: 'p_' },
          { view: 'transactions_v1', features: ['amount'], alias: 'p_old_' },
        ],
      },
    ]);
    const hops = imp.repo.featureServices[0]?.extras?.hopsworks as { labels: string[] } | undefined;
    expect(hops?.labels).toEqual(['p_country']);
  });

  it('lists what it cannot map and what it keeps', () => {
    const r = imp.report;
    expect(r.impossible.map((i) => i.object)).toEqual(['feature group fx_rates v1', 'feature group transactions v2.merchant']);
    expect(r.impossible[1]?.reason).toMatch(/struct<name:string,mcc:int>/);
    expect(r.warnings.join('\n')).toMatch(/decimal\(12,2\) is read as DOUBLE/);
    expect(r.extras.find((e) => e.object.startsWith('training dataset'))?.fields[0]).toMatch(/train 0.8, test 0.2/);
  });

  it('export(import(x)) gives the same DTOs', async () => {
    const out = join(work, 'hops-out');
    await exportHopsworks(imp.project, JSON.parse(JSON.stringify(imp.repo)), out);
    expect(readTree(out)).toEqual(readTree(fixtures));
  });
});

describe('Strata-native export to Hopsworks', () => {
  it('writes feature groups and a feature view, and reads them back', async () => {
    const repo = {
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' as const }] }],
      featureViews: [
        {
          name: 'user_stats',
          entities: ['user'],
          features: [{ name: 'orders', valueType: 'INT32' as const }],
          timestampField: 'ts',
          ttlSeconds: 86400,
          online: true,
          expectationSuite: {
            expectation_suite_name: 's',
            expectations: [{ expectation_type: 'expect_x', kwargs: { column: 'orders' }, meta: {} }],
            meta: {},
          },
          validationPolicy: 'ALWAYS' as const,
        },
        {
          name: 'user_geo',
          entities: ['user'],
          features: [{ name: 'city', valueType: 'STRING' as const }],
          timestampField: 'ts',
          ttlSeconds: 0,
          online: false,
        },
      ],
      featureServices: [{ name: 'svc', features: [{ view: 'user_stats' }, { view: 'user_geo', alias: 'g_' }] }],
    };
    const { files, report } = buildHopsworksFiles('p', repo, { featurestoreId: 5 });
    const fg = JSON.parse(files['feature_groups/user_stats_1.json'] as string);
    expect(fg).toMatchObject({ type: 'cachedFeaturegroupDTO', eventTime: 'ts', featurestoreId: 5, onlineEnabled: true });
    expect(fg.features.map((f: { name: string; primary: boolean; type: string }) => [f.name, f.primary, f.type])).toEqual([
      ['user_id', true, 'bigint'],
      ['orders', false, 'int'],
      ['ts', false, 'timestamp'],
    ]);
    expect(fg.expectationSuite).toMatchObject({
      validationIngestionPolicy: 'ALWAYS',
      expectations: [{ kwargs: '{"column":"orders"}' }],
    });
    const fv = JSON.parse(files['feature_views/svc_1.json'] as string);
    expect(fv.query.joins[0]).toMatchObject({ on: ['user_id'], prefix: 'g_', query: { leftFeatureGroup: { name: 'user_geo' } } });
    expect(report.impossible).toEqual([expect.objectContaining({ reason: expect.stringMatching(/no TTL/) })]);
    const dir = join(work, 'native');
    mkdirSync(dir);
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    const back = await importHopsworks(dir);
    expect(back.repo.featureViews.map((v) => [v.name, v.entities, v.features.length])).toEqual([
      ['user_geo', ['user_id'], 1],
      ['user_stats', ['user_id'], 1],
    ]);
    expect(back.repo.featureServices[0]?.features).toEqual([
      { view: 'user_stats', features: ['orders'] },
      { view: 'user_geo', features: ['city'], alias: 'g_' },
    ]);
  });
});

describe('DTO edge cases', () => {
  it('round-trips a suite keeping the JSON-string spelling', () => {
    const s = { expectationSuiteName: 'x', expectations: [{ expectationType: 't', kwargs: '{"a": 1}', meta: '{}' }], meta: '{}' };
    const { suite, rest } = suiteFromHopsworks(s, 'x');
    expect(suiteToHopsworks(suite, rest)).toEqual(s);
  });
  it('rejects a feature group with an unknown type or bad kwargs', () => {
    expect(() => decodeHopsworksFeatureGroup({ name: 'x', type: 'weirdDTO', features: [] }, emptyReport())).toThrow(
      /unknown type/,
    );
    expect(() =>
      decodeHopsworksFeatureGroup(
        { name: 'x', eventTime: 't', features: [], expectationSuite: { expectations: [{ kwargs: '{oops' }] } },
        emptyReport(),
      ),
    ).toThrow(/kwargs is not valid JSON/);
  });
  it('refuses duplicate name:version files', async () => {
    const dir = join(work, 'dup');
    mkdirSync(dir);
    const fg = readFileSync(join(fixtures, 'feature_groups/profile_1.json'), 'utf8');
    writeFileSync(join(dir, 'a.json'), fg);
    writeFileSync(join(dir, 'b.json'), fg);
    await expect(importHopsworks(dir)).rejects.toMatchObject({ code: 'INVALID_INPUT', message: /profile:1 is defined twice/ });
  });
  it('encodes a view without extras as a cached group', () => {
    const dto = encodeHopsworksFeatureGroup(
      {
        name: 'v',
        entities: [],
        features: [{ name: 'f', valueType: 'BOOL' }],
        timestampField: 't',
        ttlSeconds: 0,
        online: false,
      },
      [],
      emptyReport(),
    );
    expect(dto).toMatchObject({
      type: 'cachedFeaturegroupDTO',
      version: 1,
      features: [{ name: 'f', type: 'boolean', onlineType: 'tinyint(1)' }, { name: 't' }],
    });
  });
});
