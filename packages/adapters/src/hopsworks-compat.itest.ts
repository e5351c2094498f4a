/**
 * Strata's `export hopsworks` folder against the real hopsworks client (PyPI `hopsworks[python]` 5.2, hsfs inside),
 * offline: compat/hopsworks/check.py loads every DTO with hsfs's own classes (FeatureGroup / ExternalFeatureGroup /
 * FeatureView / TrainingDataset .from_response_json, the expectation suite through its feature group) and prints the
 * fields as those objects hold them; every one must equal the DTO Strata wrote. What the objects serialize (to_dict
 * through hsfs's JSON encoder) must import back into Strata without loss. Covered: cached, stream and external
 * (on-demand) feature groups, a feature view with nested joins and prefixes and a label, a training dataset, an
 * expectation suite; both an imported registry written back and a Strata-native one. Needs STRATA_HOPSWORKS_PYTHON
 * (infra/compat-peers.sh).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { RepoSpec } from '@strata/core';
import { requireOrSkip } from '@strata/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { exportHopsworks, importHopsworks } from './index.js';

const python = process.env.STRATA_HOPSWORKS_PYTHON;
const skip = requireOrSkip(
  'Hopsworks client compatibility',
  !python && 'STRATA_HOPSWORKS_PYTHON is not set (eval "$(bash infra/compat-peers.sh)" installs hopsworks in a venv)',
);
const check = fileURLToPath(new URL('../../../compat/hopsworks/check.py', import.meta.url));
const fixture = fileURLToPath(new URL('./__fixtures__/hopsworks/', import.meta.url));

type Dto = Record<string, unknown>;
const parseJson = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : (v ?? {}));

/** The fields hsfs reads from a feature group DTO, as check.py prints them from the loaded object. */
function expectedFeatureGroup(d: Dto) {
  const features = d.features as Dto[];
  const es = d.expectationSuite as Dto | undefined;
  return {
    class: d.type === 'onDemandFeaturegroupDTO' ? 'ExternalFeatureGroup' : 'FeatureGroup',
    name: d.name,
    version: d.version,
    description: d.description ?? '',
    featurestore_id: d.featurestoreId,
    online_enabled: d.onlineEnabled ?? false,
    event_time: d.eventTime ?? null,
    primary_key: features.filter((f) => f.primary).map((f) => f.name),
    stream: d.type === 'onDemandFeaturegroupDTO' ? null : d.type === 'streamFeatureGroupDTO',
    features: features.map((f) => ({
      name: f.name,
      type: f.type,
      primary: f.primary ?? false,
      online_type: f.onlineType ?? null,
    })),
    expectation_suite: es
      ? {
          id: es.id ?? null,
          name: es.expectationSuiteName,
          run_validation: es.runValidation ?? true,
          validation_ingestion_policy: String(es.validationIngestionPolicy ?? 'ALWAYS').toUpperCase(),
          expectations: (es.expectations as Dto[]).map((e) => ({
            type: e.expectationType,
            kwargs: parseJson(e.kwargs),
            meta: expect.objectContaining(parseJson(e.meta)),
          })),
          meta: parseJson(es.meta),
        }
      : null,
  };
}

function expectedQuery(q: Dto): unknown {
  return {
    left_feature_group: { name: (q.leftFeatureGroup as Dto).name, version: (q.leftFeatureGroup as Dto).version },
    left_features: (q.leftFeatures as Dto[]).map((f) => f.name),
    joins: ((q.joins as Dto[] | undefined) ?? []).map((j) => ({
      query: expectedQuery(j.query as Dto),
      on: j.on ?? [],
      left_on: j.leftOn ?? [],
      right_on: j.rightOn ?? [],
      type: j.type ?? 'INNER',
      prefix: j.prefix ?? null,
    })),
  };
}

function expectedFeatureView(d: Dto) {
  const features = d.features as Dto[];
  return {
    name: d.name,
    version: d.version,
    description: d.description ?? null,
    labels: features.filter((f) => f.label).map((f) => f.name),
    features: features.map((f) => ({ name: f.name, type: f.type, label: f.label ?? false })),
    query: expectedQuery(d.query as Dto),
  };
}

function expectedTrainingDataset(d: Dto) {
  return {
    name: d.name,
    version: d.version,
    description: d.description ?? null,
    data_format: d.dataFormat,
    seed: d.seed ?? null,
    splits: ((d.splits as Dto[] | undefined) ?? []).map((s) => ({
      name: s.name,
      split_type: s.splitType,
      percentage: s.percentage,
    })),
  };
}

/**
 * What a repo means to Strata (no extras): the objects an import must give back unchanged. Hopsworks has no entity
 * object (docs/adapters/hopsworks.md: a group's primary key becomes one entity named after its columns), so a view's
 * entities are compared as its join keys; order is by name.
 */
function meaning(repo: RepoSpec) {
  const keysOf = new Map(repo.entities.map((e) => [e.name, e.joinKeys.map((k) => `${k.name}:${k.valueType}`).join(',')]));
  const byName = <T extends { name: string }>(xs: T[]) => [...xs].sort((a, b) => a.name.localeCompare(b.name));
  return {
    featureViews: byName(repo.featureViews).map((v) => ({
      name: v.name,
      joinKeys: v.entities.flatMap((e) => keysOf.get(e)?.split(',') ?? []),
      timestampField: v.timestampField,
      online: v.online,
      features: v.features.map((f) => ({ name: f.name, valueType: f.valueType })),
      description: v.description,
      expectationSuite: v.expectationSuite,
      validationPolicy: v.validationPolicy,
    })),
    featureServices: byName(repo.featureServices).map((s) => ({
      name: s.name,
      features: s.features,
      description: s.description,
    })),
  };
}

const native: RepoSpec = {
  entities: [
    { name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] },
    { name: 'merchant', joinKeys: [{ name: 'merchant_id', valueType: 'STRING' }] },
  ],
  featureViews: [
    {
      name: 'user_stats',
      entities: ['user'],
      timestampField: 'event_timestamp',
      ttlSeconds: 0,
      online: true,
      description: 'per user',
      features: [
        { name: 'clicks', valueType: 'INT64' },
        { name: 'score', valueType: 'DOUBLE' },
      ],
      validationPolicy: 'STRICT',
      expectationSuite: {
        expectation_suite_name: 'user_stats_suite',
        expectations: [{ expectation_type: 'expect_column_values_to_not_be_null', kwargs: { column: 'clicks' }, meta: {} }],
        meta: {},
      },
    },
    {
      name: 'user_merchant',
      entities: ['user', 'merchant'],
      timestampField: 'ts',
      ttlSeconds: 0,
      online: false,
      features: [{ name: 'spend', valueType: 'FLOAT' }],
    },
  ],
  featureServices: [
    {
      name: 'model',
      features: [
        { view: 'user_stats', features: ['clicks', 'score'] },
        { view: 'user_merchant', features: ['spend'], alias: 'um_' },
      ],
    },
  ],
};

describe.skipIf(skip)('Strata <-> the real hopsworks client', () => {
  const work = mkdtempSync(join(tmpdir(), 'strata-hopsworks-compat-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  async function loadWithHsfs(dir: string, back: string): Promise<Record<string, unknown>> {
    const { stdout } = await promisify(execFile)(python as string, [check, dir, back], { maxBuffer: 64 * 1024 * 1024 });
    return JSON.parse(stdout).loaded;
  }

  function expectLoadedEqual(dir: string, files: string[], loaded: Record<string, unknown>) {
    for (const file of files) {
      const rel = file.slice(dir.length + 1);
      const dto = JSON.parse(readFileSync(file, 'utf8')) as Dto;
      const expected = rel.startsWith('feature_groups/')
        ? expectedFeatureGroup(dto)
        : rel.startsWith('feature_views/')
          ? expectedFeatureView(dto)
          : rel.startsWith('training_datasets/')
            ? expectedTrainingDataset(dto)
            : null;
      expect({ file: rel, fields: loaded[rel] }).toEqual({ file: rel, fields: expected });
    }
  }

  it('an imported registry written back loads in hsfs with every field equal, and comes back without loss', async () => {
    const imported = await importHopsworks(fixture);
    const dir = join(work, 'roundtrip');
    const { files } = await exportHopsworks(imported.project, imported.repo, dir);
    const back = join(work, 'roundtrip-hsfs');
    const loaded = await loadWithHsfs(dir, back);
    const kinds = Object.values(loaded).map((f) => (f as { class?: string; stream?: boolean } | null) ?? {});
    // cached, stream and external feature groups, a feature view with nested joins and a training dataset
    expect(kinds.filter((k) => k.class === 'FeatureGroup' && k.stream === false).length).toBeGreaterThan(0);
    expect(kinds.filter((k) => k.class === 'FeatureGroup' && k.stream === true).length).toBeGreaterThan(0);
    expect(kinds.filter((k) => k.class === 'ExternalFeatureGroup').length).toBeGreaterThan(0);
    expect(Object.keys(loaded).filter((f) => f.startsWith('feature_views/')).length).toBeGreaterThan(0);
    expect(Object.keys(loaded).filter((f) => f.startsWith('training_datasets/')).length).toBeGreaterThan(0);
    expectLoadedEqual(dir, files, loaded);
    const again = await importHopsworks(back);
    expect(meaning(again.repo)).toEqual(meaning(imported.repo));
  });

  it('a Strata-native registry exports DTOs hsfs loads with every field equal, and comes back without loss', async () => {
    const dir = join(work, 'native');
    const { files } = await exportHopsworks('p', native, dir, { featurestoreId: 99 });
    const back = join(work, 'native-hsfs');
    const loaded = await loadWithHsfs(dir, back);
    expectLoadedEqual(dir, files, loaded);
    const again = await importHopsworks(back);
    expect(meaning(again.repo)).toEqual(meaning(native));
  });
});
