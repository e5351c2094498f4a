import { describe, expect, it } from 'vitest';
import type { StrataError } from './errors.js';
import { parseRepoDocuments } from './repo.js';
import { checkKeys, closest, didYouMean, levenshtein, oneOf } from './suggest.js';

const err = (fn: () => unknown): StrataError => {
  try {
    fn();
  } catch (e) {
    return e as StrataError;
  }
  throw new Error('expected an error');
};

describe('did you mean', () => {
  it('measures edit distance', () => {
    expect(levenshtein('STRICTT', 'STRICT')).toBe(1);
    expect(levenshtein('featurViews', 'featureViews')).toBe(1);
    expect(levenshtein('', 'abc')).toBe(3);
    expect(levenshtein('kitten', 'sitting')).toBe(3);
    expect(levenshtein('nmae', 'name')).toBe(1);
  });
  it('suggests only close words', () => {
    expect(closest('STRICTT', ['NONE', 'ALWAYS', 'STRICT'])).toBe('STRICT');
    expect(closest('strict', ['NONE', 'ALWAYS', 'STRICT'])).toBe('STRICT');
    expect(closest('banana', ['NONE', 'ALWAYS', 'STRICT'])).toBeUndefined();
    expect(closest('materialise', ['materialize', 'ingest'])).toBe('materialize');
    expect(didYouMean('xyz', ['ingest'])).toBe('');
  });
  it('oneOf returns the canonical value or names the valid ones', () => {
    expect(oneOf('strict', ['NONE', 'ALWAYS', 'STRICT'] as const, 'validation policy')).toBe('STRICT');
    const e = err(() => oneOf('STRICTT', ['NONE', 'ALWAYS', 'STRICT'] as const, 'validation policy'));
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.message).toBe("validation policy 'STRICTT' is not valid (did you mean STRICT?)");
    expect(e.hint).toBe('use one of NONE, ALWAYS, STRICT');
  });
  it('checkKeys names the unknown key and the close one', () => {
    const e = err(() => checkKeys({ nmae: 'x' }, ['name', 'tags'], 'entity'));
    expect(e.message).toBe("entity: unknown key 'nmae' (did you mean name?)");
    expect(e.where).toBe('entity.nmae');
  });
});

describe('spec parsing rejects unknown keys and empty specs', () => {
  it('an unknown top-level key', () => {
    const e = err(() => parseRepoDocuments([{ featurViews: [] }], 'f.yaml'));
    expect(e.code).toBe('INVALID_SPEC');
    expect(e.message).toContain("unknown key 'featurViews' (did you mean featureViews?)");
  });
  it('an empty file or only empty documents', () => {
    expect(err(() => parseRepoDocuments([], 'f.yaml')).message).toMatch(/f\.yaml is empty/);
    expect(err(() => parseRepoDocuments([null, undefined], 'f.yaml')).code).toBe('INVALID_SPEC');
  });
  it('unknown keys inside entities, views, features, monitoring and services', () => {
    const view = { name: 'v', entities: ['u'], features: [{ name: 'a', valueType: 'INT64' }] };
    expect(err(() => parseRepoDocuments([{ entities: [{ name: 'u', joinKey: ['u'] }] }])).message).toContain(
      "unknown key 'joinKey' (did you mean joinKeys?)",
    );
    expect(err(() => parseRepoDocuments([{ featureViews: [{ ...view, timestampFeld: 'ts' }] }])).message).toContain(
      "unknown key 'timestampFeld' (did you mean timestampField?)",
    );
    expect(
      err(() => parseRepoDocuments([{ featureViews: [{ ...view, features: [{ name: 'a', valueTyp: 'INT64' }] }] }])).where,
    ).toBe('spec.featureViews[0].features[0].valueTyp');
    expect(
      err(() => parseRepoDocuments([{ featureViews: [{ ...view, monitoring: { alertWebhok: 'http://x' } }] }])).message,
    ).toContain('did you mean alertWebhook?');
    expect(
      err(() => parseRepoDocuments([{ featureServices: [{ name: 's', features: ['v'], descripton: 'x' }] }])).message,
    ).toContain('did you mean description?');
    expect(err(() => parseRepoDocuments([{ kind: 'feature_veiw', name: 'v' }])).message).toContain('did you mean feature_view?');
  });
  it('still reads every documented spelling', () => {
    const repo = parseRepoDocuments([
      {
        project: 'p',
        entities: [{ name: 'u', join_keys: ['u'], value_type: 'INT64', description: 'd', owner: 'o', tags: { a: 1 } }],
        feature_views: [
          {
            name: 'v',
            entities: ['u'],
            schema: [{ name: 'a', dtype: 'INT64' }],
            timestamp_field: 'ts',
            created_timestamp_column: 'c',
            ttl: '1h',
            online: true,
            validation_policy: 'STRICT',
            monitoring: { drift: { psi: 0.3 }, alertWebhook: 'http://x' },
          },
        ],
        feature_services: [{ name: 's', features: [{ view: 'v', features: ['a'], alias: 'x' }] }],
      },
      { kind: 'entity', name: 'w', joinKeys: [{ name: 'w', valueType: 'STRING' }] },
      { kind: 'feature_view', spec: { ...{ name: 'v2', entities: ['w'], features: [] } } },
    ]);
    expect(repo.entities.map((e) => e.name)).toEqual(['u', 'w']);
    expect(repo.featureViews.map((v) => v.name)).toEqual(['v', 'v2']);
  });

  it("keeps a view's stream source, pipeline parts and extras (what the server re-parses from a client's JSON)", () => {
    const repo = parseRepoDocuments([
      {
        entities: [{ name: 'u', joinKeys: [{ name: 'u', valueType: 'INT64' }] }],
        featureViews: [
          {
            name: 'v',
            entities: ['u'],
            features: [{ name: 'a', valueType: 'INT64' }],
            timestampField: 'ts',
            source: { kind: 'sql', query: 'SELECT u, ts, a FROM t', timestampField: 'ts' },
            transformation: { kind: 'sql', query: 'SELECT * FROM source' },
            pipeline: { window: '1d', start: '2024-01-01T00:00:00Z' },
            extras: { source: 'feast-0.x-feature-set' },
          },
        ],
      },
    ]);
    const v = repo.featureViews[0];
    expect(v?.source?.kind).toBe('sql');
    expect(v?.transformation?.kind).toBe('sql');
    expect(v?.pipeline).toBeDefined();
    expect(v?.extras).toEqual({ source: 'feast-0.x-feature-set' });
  });
});
