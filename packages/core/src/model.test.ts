import { describe, expect, it } from 'vitest';
import { StrataError } from './errors.js';
import { inferFeatureView } from './infer.js';
import { validateRepo } from './model.js';
import { diffView, formatPlan } from './plan.js';
import { parseRepoDocuments } from './repo.js';
import { parseValueType, toPostgresType, ValueType } from './types.js';
import { tableFromRows } from './arrow-build.js';
import { coerceValue, parseTimestamp } from './coerce.js';
import { parseDurationSeconds } from './duration.js';
import { resolveFeatureRefs, resolveFeatureService } from './features.js';

const user = { name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' as const }] };

describe('value types', () => {
  it("uses Feast's names and numbers", () => {
    expect(ValueType.INT64).toBe(4);
    expect(ValueType.UNIX_TIMESTAMP_LIST).toBe(18);
    expect(parseValueType('timestamp')).toBe('UNIX_TIMESTAMP');
    expect(parseValueType(5)).toBe('DOUBLE');
    expect(toPostgresType('STRING_LIST')).toBe('text[]');
    expect(() => parseValueType('DECIMAL')).toThrow(/unknown value type/);
  });
});

describe('spec validation', () => {
  it('lists every problem with where it is', () => {
    try {
      validateRepo({
        entities: [user],
        featureViews: [
          {
            name: '1bad',
            entities: ['user'],
            timestampField: 'dt',
            ttlSeconds: -1,
            online: true,
            features: [
              { name: 'user_id', valueType: 'INT64' },
              { name: 'x', valueType: 'NOPE' as 'INT64' },
            ],
          },
        ],
        featureServices: [{ name: 's', features: [{ view: 'missing' }] }],
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(StrataError);
      const problems = ((err as StrataError).details.problems as string[]).join('\n');
      expect(problems).toMatch(/"1bad" is not valid/);
      expect(problems).toMatch(/feature 'user_id' has the name of a join key/);
      expect(problems).toMatch(/unknown value type "NOPE"/);
      expect(problems).toMatch(/ttlSeconds must be a number >= 0/);
      expect(problems).toMatch(/feature view 'missing' is not defined/);
    }
  });
});

describe('inference from an Arrow table', () => {
  it('takes keys from entities, detects the time column, types the rest', () => {
    const t = tableFromRows(
      [
        { name: 'user_id', valueType: 'INT64' },
        { name: 'dt', valueType: 'UNIX_TIMESTAMP' },
        { name: 'feature_1', valueType: 'DOUBLE' },
        { name: 'feature_n', valueType: 'STRING' },
      ],
      [{ user_id: 777, dt: new Date(), feature_1: 88.77, feature_n: 'x' }],
    );
    const v = inferFeatureView(t, { name: 'all_users_agg_m', entities: [user] });
    expect(v.timestampField).toBe('dt');
    expect(v.features).toEqual([
      { name: 'feature_1', valueType: 'DOUBLE' },
      { name: 'feature_n', valueType: 'STRING' },
    ]);
    expect(() =>
      inferFeatureView(t, { name: 'v', entities: [{ name: 'p', joinKeys: [{ name: 'promo_id', valueType: 'STRING' }] }] }),
    ).toThrow(/join key column 'promo_id' is not in the table/);
  });
});

describe('plan', () => {
  it('versions on breaking changes and updates in place otherwise', () => {
    const base = {
      name: 'v',
      entities: ['user'],
      timestampField: 'dt',
      ttlSeconds: 0,
      online: true,
      features: [{ name: 'a', valueType: 'INT64' as const }],
    };
    expect(diffView(base, { ...base, features: [{ name: 'a', valueType: 'STRING' }] }).action).toBe('new_version');
    expect(diffView(base, { ...base, features: [] }).action).toBe('new_version');
    const add = diffView(base, { ...base, features: [...base.features, { name: 'b', valueType: 'DOUBLE' }] });
    expect(add.action).toBe('update');
    expect(add.reasons).toContain("feature 'b' added (DOUBLE)");
    expect(diffView(base, { ...base, ttlSeconds: 60 }).reasons).toEqual(['ttlSeconds: 0 -> 60']);
    expect(formatPlan([add])).toContain('1 to update');
  });
});

describe('repo documents', () => {
  it("reads the talk's Feast 0.x FeatureSet", () => {
    const repo = parseRepoDocuments([
      {
        kind: 'feature_set',
        spec: {
          name: 'all_users_aggr_m',
          entities: [{ name: 'user_id', valueType: 'INT32' }],
          features: [
            { name: 'dt', valueType: 'TIMESTAMP' },
            { name: 'feature_1', valueType: 'DOUBLE' },
          ],
          maxAge: '3600s',
        },
      },
    ]);
    expect(repo.entities).toEqual([{ name: 'user_id', joinKeys: [{ name: 'user_id', valueType: 'INT32' }] }]);
    expect(repo.featureViews[0]).toMatchObject({
      name: 'all_users_aggr_m',
      timestampField: 'dt',
      ttlSeconds: 3600,
      features: [{ name: 'feature_1', valueType: 'DOUBLE' }],
    });
  });

  it('names the location of a bad value type', () => {
    expect(() =>
      parseRepoDocuments(
        [{ featureViews: [{ name: 'v', entities: [], features: [{ name: 'x', valueType: 'FLOT' }] }] }],
        'f.yaml',
      ),
    ).toThrow(/unknown value type "FLOT"/);
    try {
      parseRepoDocuments(
        [{ featureViews: [{ name: 'v', entities: [], features: [{ name: 'x', valueType: 'FLOT' }] }] }],
        'f.yaml',
      );
    } catch (err) {
      expect((err as StrataError).where).toBe('f.yaml.featureViews[0].features[0].valueType');
    }
  });
});

describe('coercion', () => {
  it('parses timestamps in UTC unless an offset is given', () => {
    expect(parseTimestamp('2020-12-07 00:00:00').toISOString()).toBe('2020-12-07T00:00:00.000Z');
    expect(parseTimestamp('2020-12-07T03:00:00+03:00').toISOString()).toBe('2020-12-07T00:00:00.000Z');
    expect(parseTimestamp('2020-12-07').toISOString()).toBe('2020-12-07T00:00:00.000Z');
    expect(() => parseTimestamp('07/12/2020')).toThrow(/cannot read/);
    expect(() => parseTimestamp('2020-13-07')).toThrow(/out of range/);
  });
  it('checks integer ranges and numbers', () => {
    expect(coerceValue('INT32', '42')).toBe(42);
    expect(() => coerceValue('INT32', 2 ** 31)).toThrow(/does not fit in INT32/);
    expect(coerceValue('INT64', '9223372036854775807')).toBe(9223372036854775807n);
    expect(() => coerceValue('INT64', '1.5')).toThrow(/not an integer/);
    expect(() => coerceValue('DOUBLE', 'abc')).toThrow(/not a number/);
    expect(coerceValue('DOUBLE_LIST', '[1, 2.5]')).toEqual([1, 2.5]);
    expect(coerceValue('BOOL', 'yes')).toBe(true);
  });
  it('parses durations', () => {
    expect(parseDurationSeconds('1h30m')).toBe(5400);
    expect(parseDurationSeconds('30d')).toBe(30 * 86400);
    expect(() => parseDurationSeconds('soon')).toThrow(/cannot read duration/);
  });
});

describe('feature references', () => {
  const repo = {
    entities: [user],
    featureViews: [
      {
        name: 'v',
        entities: ['user'],
        timestampField: 'dt',
        ttlSeconds: 0,
        online: true,
        features: [
          { name: 'a', valueType: 'INT64' as const },
          { name: 'b', valueType: 'INT64' as const },
        ],
      },
    ],
    featureServices: [{ name: 'svc', features: [{ view: 'v', features: ['b'] }] }],
  };
  it('resolves view:feature, whole views and services, and names what is unknown', () => {
    expect(resolveFeatureRefs(repo, ['v:a', 'v:b', 'v:a'])[0]?.features.map((f) => f.name)).toEqual(['a', 'b']);
    expect(resolveFeatureRefs(repo, ['v'])[0]?.features.length).toBe(2);
    expect(resolveFeatureService(repo, 'svc')[0]?.features.map((f) => f.name)).toEqual(['b']);
    expect(() => resolveFeatureRefs(repo, ['v:zzz'])).toThrow(/has no feature 'zzz'/);
    expect(() => resolveFeatureRefs(repo, ['w:a'])).toThrow(/unknown feature view 'w'/);
  });
});
