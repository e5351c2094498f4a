import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StrataError } from './errors.js';
import { validateRepo } from './model.js';
import { applyTransform, fitTransform, percentile, transformColumns } from './transformers.js';

// Expected figures are scikit-learn 1.x's defaults worked by hand (numpy.percentile linear interpolation).
describe('scalers', () => {
  const xs = [1, 2, 3, 4, 100, null];

  it('min-max scales to [0, 1] over the fitted range (nulls skipped, stay null)', () => {
    const { stats, count } = fitTransform('min_max_scaler', xs);
    expect(count).toBe(5);
    expect(stats).toEqual({ kind: 'min_max_scaler', min: 1, max: 100 });
    expect(applyTransform(stats, 1)).toBe(0);
    expect(applyTransform(stats, 100)).toBe(1);
    expect(applyTransform(stats, 50.5)).toBe(0.5);
    expect(applyTransform(stats, null)).toBeNull();
    // A value outside the fitted range is not clipped (MinMaxScaler(clip=False)).
    expect(applyTransform(stats, 199)).toBe(2);
  });

  it('standard scales by the population standard deviation (ddof 0)', () => {
    const { stats } = fitTransform('standard_scaler', [2, 4, 4, 4, 5, 5, 7, 9]);
    expect(stats).toEqual({ kind: 'standard_scaler', mean: 5, std: 2 });
    expect(applyTransform(stats, 9)).toBe(2);
    expect(applyTransform(stats, 1)).toBe(-2);
  });

  it('robust scales by the median and the 25th..75th percentile range, as RobustScaler', () => {
    const { stats } = fitTransform('robust_scaler', xs);
    expect(stats).toEqual({ kind: 'robust_scaler', median: 3, q1: 2, q3: 4 });
    expect(applyTransform(stats, 100)).toBe(48.5);
    // Even count: numpy's linear interpolation between the middle values.
    const even = fitTransform('robust_scaler', [10, 1, 4, 7]).stats;
    expect(even).toEqual({ kind: 'robust_scaler', median: 5.5, q1: 3.25, q3: 7.75 });
  });

  it('a constant column scales by 1 (scikit-learn keeps zero ranges from dividing by zero)', () => {
    for (const kind of ['min_max_scaler', 'standard_scaler', 'robust_scaler'] as const) {
      const { stats } = fitTransform(kind, [3, 3, 3]);
      expect(applyTransform(stats, 5)).toBe(2);
    }
  });

  it('a range below 10 machine epsilons counts as zero (subnormal values never scale to Infinity)', () => {
    for (const kind of ['min_max_scaler', 'standard_scaler', 'robust_scaler'] as const) {
      const { stats } = fitTransform(kind, [8.4e-323, -2e-323, 5e-324, 0]);
      const out = applyTransform(stats, 3.25) as number;
      expect(Number.isFinite(out)).toBe(true);
      expect(out).toBeCloseTo(3.25, 12);
    }
  });

  it('a column with no values cannot be fitted', () => {
    expect(() => fitTransform('standard_scaler', [null, null])).toThrow(StrataError);
  });

  it('percentile matches numpy.percentile (linear) on random data', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.double({ noNaN: true, min: -1e6, max: 1e6 }).map((x) => x + 0),
          { minLength: 1, maxLength: 50 },
        ),
        (arr) => {
          const s = Float64Array.from(arr).sort();
          expect(percentile(s, 0)).toBe(s[0]);
          expect(percentile(s, 100)).toBe(s[s.length - 1]);
          const m = percentile(s, 50);
          const n = s.length;
          const mid = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] as number) + ((s[n / 2] as number) - (s[n / 2 - 1] as number)) * 0.5;
          expect(m).toBe(mid);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('encoders', () => {
  it('label-encodes sorted categories; an unknown category is -1, null stays null', () => {
    const { stats } = fitTransform('label_encoder', ['b', 'a', 'c', 'a', null]);
    expect(stats).toEqual({ kind: 'label_encoder', categories: ['a', 'b', 'c'] });
    expect(['a', 'b', 'c', 'z', null].map((v) => applyTransform(stats, v))).toEqual([0, 1, 2, -1, null]);
    expect(transformColumns({ column: 'city', stats })).toEqual([{ name: 'city', valueType: 'INT32' }]);
  });

  it('one-hot encodes into one 0/1 column per category; unknown and null are all zeros', () => {
    const { stats } = fitTransform('one_hot_encoder', [3n, 1n, 2n, 3n]);
    expect(stats).toEqual({ kind: 'one_hot_encoder', categories: [1, 2, 3] });
    expect(applyTransform(stats, 2n)).toEqual([0, 1, 0]);
    expect(applyTransform(stats, 9)).toEqual([0, 0, 0]);
    expect(applyTransform(stats, null)).toEqual([0, 0, 0]);
    expect(transformColumns({ column: 'tier', stats }).map((c) => c.name)).toEqual(['tier__1', 'tier__2', 'tier__3']);
  });
});

describe('feature service transformations in the spec', () => {
  const repo = (transformations: unknown) => ({
    entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' as const }] }],
    featureViews: [
      {
        name: 'stats',
        entities: ['user'],
        timestampField: 'ts',
        ttlSeconds: 0,
        online: true,
        features: [
          { name: 'amount', valueType: 'DOUBLE' as const },
          { name: 'city', valueType: 'STRING' as const },
        ],
      },
    ],
    featureServices: [{ name: 'model', features: [{ view: 'stats' }], transformations: transformations as never }],
  });
  const problems = (t: unknown) => {
    try {
      validateRepo(repo(t));
      return [];
    } catch (err) {
      return (err as StrataError).details.problems as string[];
    }
  };

  it('accepts scalers on numbers and encoders on categories', () => {
    expect(
      problems([
        { feature: 'stats:amount', kind: 'robust_scaler' },
        { feature: 'stats:city', kind: 'one_hot_encoder' },
      ]),
    ).toEqual([]);
  });

  it('refuses a scaler on a string, an unknown kind and a feature outside the service, each with its place', () => {
    const p = problems([
      { feature: 'stats:city', kind: 'standard_scaler' },
      { feature: 'stats:amount', kind: 'quantile' },
      { feature: 'other:x', kind: 'label_encoder' },
    ]);
    expect(p).toHaveLength(3);
    expect(p[0]).toMatch(/transformations\[0\].*needs a numeric feature; 'stats:city' is STRING/);
    expect(p[1]).toMatch(/transformations\[1\].*kind "quantile" is not one of/);
    expect(p[2]).toMatch(/transformations\[2\].*'other:x' is not a feature of this service/);
  });
});
