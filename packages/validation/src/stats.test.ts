import { StrataError } from '@strata/core';
import { requireBuilt } from '@strata/testkit';
import * as arrow from 'apache-arrow';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderDataDocs } from './docs.js';
import { BatchView, isAscii } from './columns.js';
import { drift } from './drift.js';
import { HeavyHitters, mergeProfiles, Profiler, toHopsworksStatistics } from './profile.js';
import { validateAndProfile } from './run.js';
import { countingSort, H, HyperLogLog, hashInto, KllSketch, quantileSorted, sortFloat64 } from './sketch.js';
import { suggestSuite } from './suggest.js';
import { parseSuite, resolveParameters, suiteToGx1, suiteToHopsworks } from './suite.js';
import { f64, str, table } from './testing/data.js';
import { SuiteValidator } from './validator.js';

function rng(seed: number) {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const normal = (r: () => number) => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());

describe('suite formats', () => {
  const gx0 = {
    expectation_suite_name: 'users',
    expectations: [
      { expectation_type: 'expect_column_values_to_not_be_null', kwargs: { column: 'id', custom_kw: 1 }, meta: { notes: 'x' } },
    ],
    meta: { great_expectations_version: '0.18.8' },
  };
  it('reads GX 0.x and writes GX 1.x, keeping unknown kwargs', () => {
    const s = parseSuite(gx0);
    expect(s.sourceFormat).toBe('gx0');
    expect(suiteToGx1(s)).toMatchObject({
      name: 'users',
      expectations: [
        { type: 'expect_column_values_to_not_be_null', kwargs: { column: 'id', custom_kw: 1 }, meta: { notes: 'x' } },
      ],
    });
  });
  it('reads GX 1.x with ids, and round-trips through Hopsworks DTOs with JSON-string kwargs', () => {
    const s = parseSuite({
      name: 'n',
      id: 'abc',
      expectations: [{ type: 'expect_table_row_count_to_equal', kwargs: { value: 3 }, id: '1' }],
    });
    expect(s.sourceFormat).toBe('gx1');
    const dto = suiteToHopsworks(s) as { expectations: { kwargs: string; expectationType: string }[] };
    expect(typeof dto.expectations[0]!.kwargs).toBe('string');
    const back = parseSuite(dto);
    expect(back.sourceFormat).toBe('hopsworks');
    expect(back.expectations[0]).toMatchObject({ type: 'expect_table_row_count_to_equal', kwargs: { value: 3 } });
  });
  it('gives clear errors for malformed suites', () => {
    expect(() => parseSuite('{nope', { source: 'suite.json' })).toThrow(StrataError);
    try {
      parseSuite({ name: 'x', expectations: [{ kwargs: {} }] }, { source: 'suite.json' });
    } catch (err) {
      expect((err as StrataError).where).toBe('suite.json.expectations[0]');
      expect((err as StrataError).hint).toMatch(/type/);
    }
    expect(() => parseSuite({ expectationSuiteName: 'x', expectations: [{ expectationType: 't', kwargs: '{bad' }] })).toThrow(
      /kwargs is not valid JSON/,
    );
    expect(() => parseSuite([1, 2])).toThrow(/JSON object/);
  });
  it('resolves $PARAMETER references', () => {
    const s = parseSuite({
      name: 'x',
      expectations: [{ type: 't', kwargs: { value_set: { $PARAMETER: 'vs' }, nested: [{ $PARAMETER: 'n' }] } }],
    });
    expect(resolveParameters(s, { vs: ['a'], n: 3 }).expectations[0]!.kwargs).toEqual({ value_set: ['a'], nested: [3] });
  });
});

describe('sketches', () => {
  it('pandas quantile interpolations', () => {
    const v = [1, 2, 3, 4];
    expect(quantileSorted(v, 0.5)).toBe(2.5);
    expect(quantileSorted(v, 0.5, 'nearest')).toBe(3); // numpy rounds half to even: index 1.5 -> 2
    expect(quantileSorted(v, 0.5, 'lower')).toBe(2);
    expect(quantileSorted(v, 0.5, 'higher')).toBe(3);
    expect(quantileSorted(v, 0.5, 'midpoint')).toBe(2.5);
  });
  it('sortFloat64 (radix on the IEEE bits) orders exactly as Float64Array.prototype.sort', () => {
    const r = rng(5);
    const special = [
      0,
      -0,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.MIN_VALUE,
      -Number.MIN_VALUE,
      1e308,
      -1e308,
    ];
    for (const n of [0, 1, 100, 4095, 4096, 5000, 70_000]) {
      const a = Float64Array.from({ length: n }, (_, i) =>
        i % 17 === 0
          ? special[i % special.length]!
          : i % 3 === 0
            ? Math.floor(r() * 50) - 25
            : (r() - 0.5) * 10 ** (r() * 40 - 20),
      );
      const want = Float64Array.from(a).sort();
      const got = sortFloat64(Float64Array.from(a));
      expect(Array.from(got).every((x, i) => Object.is(x, want[i]))).toBe(true);
    }
    // inputs already in order (an id column) or nearly so: -0 after +0, NaN anywhere, equal runs
    for (const a of [
      [1, 2, 3, 4],
      [1, 1, 2, 2],
      [-1, -0, 0, 1],
      [-1, 0, -0, 1],
      [1, Number.NaN, 2],
      [Number.NaN, 1, 2],
      [1, 2, Number.NaN],
      Array.from({ length: 70_000 }, (_, i) => i),
      Array.from({ length: 70_000 }, (_, i) => (i === 69_999 ? -1 : i)),
    ]) {
      const want = Float64Array.from(a).sort();
      const got = sortFloat64(Float64Array.from(a));
      expect(
        Array.from(got).every((x, i) => Object.is(x, want[i])),
        JSON.stringify(a.slice(0, 5)),
      ).toBe(true);
    }
    // a subarray is sorted in place without touching its neighbours
    const whole = Float64Array.from({ length: 10_000 }, () => r());
    const copy = Float64Array.from(whole);
    sortFloat64(whole.subarray(1000, 9000));
    expect(whole[999]).toBe(copy[999]);
    expect(whole[9000]).toBe(copy[9000]);
    expect(Array.from(whole.subarray(1000, 9000))).toEqual(Array.from(copy.subarray(1000, 9000).sort()));
  });
  it('KLL stays within 2% rank error on 200k values and merges', () => {
    const r = rng(1);
    const a = new KllSketch();
    const b = new KllSketch();
    for (let i = 0; i < 100_000; i++) a.add(r());
    for (let i = 0; i < 100_000; i++) b.add(r());
    a.merge(b);
    expect(a.n).toBe(200_000);
    for (const q of [0.01, 0.25, 0.5, 0.75, 0.99]) expect(Math.abs(a.quantile(q) - q)).toBeLessThan(0.02);
    expect(JSON.stringify(a.toJSON()).length).toBeLessThan(20_000);
  });
  it('KLL fed sorted runs (whole batches) keeps every weight and stays within 2% rank error, merged or not', () => {
    const r = rng(3);
    const a = new KllSketch();
    const b = new KllSketch();
    for (let batch = 0; batch < 20; batch++) {
      const run = Float64Array.from({ length: 10_000 + batch * 777 }, () => r() ** 2).sort();
      (batch % 2 ? b : a).addSorted(run);
    }
    const total = Array.from({ length: 20 }, (_, i) => 10_000 + i * 777).reduce((x, y) => x + y, 0);
    a.merge(b);
    expect(a.n).toBe(total);
    // the weights held add up to n: nothing lost or counted twice by the halvings
    expect(a.levels.reduce((sum, l, h) => sum + l.length * 2 ** h, 0)).toBe(total);
    // x = u^2, so P(x <= q^2) = q
    for (const q of [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99]) expect(Math.abs(a.cdf(q * q) - q)).toBeLessThan(0.02);
    // a run of at most k values goes in value by value: the same sketch as add()
    const one = new KllSketch();
    const byOne = new KllSketch();
    const small = Float64Array.from({ length: 150 }, () => r()).sort();
    one.addSorted(small);
    for (const x of small) byOne.add(x);
    expect(one.toJSON()).toEqual(byOne.toJSON());
  });
  it('HyperLogLog within 3% on 100k distinct values', () => {
    const h = new HyperLogLog();
    for (let i = 0; i < 100_000; i++) h.add(`user-${i}`);
    expect(Math.abs(h.estimate() / 100_000 - 1)).toBeLessThan(0.03);
    const small = new HyperLogLog();
    for (let i = 0; i < 1000; i++) small.add(i);
    expect(Math.abs(small.estimate() - 1000)).toBeLessThan(20);
  });
});

describe('HeavyHitters', () => {
  // the weighted Misra-Gries step on a Map, updated in place: what HeavyHitters must hold, in the same order
  function reference(h: Map<unknown, number>, k: unknown, c: number, capacity: number) {
    const have = h.get(k);
    if (have !== undefined) return void h.set(k, have + c);
    if (h.size < capacity) return void h.set(k, c);
    let least = c;
    for (const v of h.values()) if (v < least) least = v;
    for (const [kk, cc] of h) {
      if (cc <= least) h.delete(kk);
      else h.set(kk, cc - least);
    }
    if (c > least) h.set(k, c - least);
  }
  it('holds the same counters in the same order as the Map version, on skewed and unique streams', () => {
    const r = rng(11);
    for (const [capacity, distinct, skew] of [
      [10, 1_000_000, 0],
      [10, 30, 2],
      [200, 5000, 1.5],
      [3, 8, 1],
    ] as const) {
      const mine = new HeavyHitters(capacity);
      const ref = new Map<unknown, number>();
      for (let i = 0; i < 20_000; i++) {
        const u = Math.floor(distinct * r() ** (skew + 1));
        const k = i % 3 === 0 ? u : i % 3 === 1 ? `s${u}` : u === 0 ? -0 : u + 0.5;
        const c = i % 7 === 0 ? 1 + Math.floor(r() * 5) : 1;
        hashInto(k === 0 ? 0 : k);
        expect(H.h1).toBeTypeOf('number');
        mine.add(k === 0 ? 0 : k, c);
        reference(ref, k, c, capacity);
        if (i % 997 === 0) expect(mine.entries()).toEqual([...ref.entries()]);
      }
      expect(mine.entries()).toEqual([...ref.entries()]);
      expect(mine.size).toBe(ref.size);
      for (const [k, c] of ref) expect(mine.get(k)).toBe(c);
      expect(mine.get('absent')).toBeUndefined();
    }
  });
  it('grows past its capacity when a merge sets more counters', () => {
    const entries = Array.from({ length: 100 }, (_, i): [unknown, number] => [`k${i}`, 100 - i]);
    const h = HeavyHitters.from(entries, 10);
    expect(h.entries()).toEqual(entries);
    h.set('k5', 1);
    expect(h.get('k5')).toBe(1);
  });
});

describe('Profiler', () => {
  const t = table({ x: f64([1, 2, 3, null, 5, 5]), s: str(['a', 'b', 'a', null, null, 'c']) });
  it('computes counts, completeness, moments, exact histograms and top values', () => {
    const p = new Profiler();
    p.update(t);
    const prof = p.finish();
    const x = prof.columns.x!;
    expect(x).toMatchObject({
      count: 6,
      nullCount: 1,
      completeness: 5 / 6,
      distinctCount: 4,
      distinctExact: true,
      min: 1,
      max: 5,
      mean: 3.2,
      sum: 16,
    });
    expect(x.stddev).toBeCloseTo(Math.sqrt(3.2), 12);
    expect(x.histogram).toEqual({ kind: 'categorical', values: [1, 2, 3, 5], counts: [1, 1, 1, 2], exact: true });
    expect(prof.columns.s!.topValues![0]).toEqual({ value: 'a', count: 2 });
    expect(JSON.parse(JSON.stringify(prof))).toEqual(prof);
  });
  it('bins numeric histograms beyond 20 distinct values, switches to HLL beyond the exact limit, and merges', () => {
    const r = rng(7);
    const mk = (n: number, shift: number) =>
      new arrow.Table({
        v: arrow.vectorFromArray(
          Array.from({ length: n }, () => normal(r) + shift),
          new arrow.Float64(),
        ),
      });
    const pa = new Profiler({ exactDistinctLimit: 1000 });
    pa.update(mk(5000, 0));
    const a = pa.finish();
    expect(a.columns.v!.histogram!.kind).toBe('bins');
    expect(a.columns.v!.histogram!.counts.length).toBe(20);
    expect(a.columns.v!.histogram!.counts.reduce((x, y) => x + y, 0)).toBeCloseTo(5000, -1);
    expect(a.columns.v!.distinctExact).toBe(false);
    expect(Math.abs(a.columns.v!.distinctCount / 5000 - 1)).toBeLessThan(0.03);
    const pb = new Profiler({ exactDistinctLimit: 1000 });
    pb.update(mk(5000, 0));
    const m = mergeProfiles(a, JSON.parse(JSON.stringify(pb.finish())));
    expect(m.columns.v!.count).toBe(10_000);
    expect(Math.abs(m.columns.v!.mean!)).toBeLessThan(0.1);
    expect(Math.abs(m.columns.v!.quantiles!.p50!)).toBeLessThan(0.1);
  });
  it('gives the same exact statistics whether numbers come in one big batch (sorted run) or many small ones', () => {
    const r = rng(11);
    const n = 30_000;
    const xs = Array.from({ length: n }, (_, i) => (i % 13 === 0 ? null : i % 5 === 0 ? 7 : Math.floor(r() * 500)));
    const big = new Profiler();
    big.update(table({ x: f64(xs) }));
    const small = new Profiler();
    for (let i = 0; i < n; i += 500) small.update(table({ x: f64(xs.slice(i, i + 500)) }));
    const a = big.finish().columns.x!;
    const b = small.finish().columns.x!;
    for (const k of ['count', 'nullCount', 'distinctCount', 'distinctExact', 'uniqueness', 'min', 'max'] as const)
      expect(a[k]).toEqual(b[k]);
    expect(a.entropy).toBeCloseTo(b.entropy!, 12);
    expect(a.mean).toBeCloseTo(b.mean!, 9);
    expect(a.histogram).toEqual(b.histogram);
    expect(a.topValues).toEqual(b.topValues);
    expect(a.topValues![0]).toEqual({ value: 7, count: xs.filter((x) => x === 7).length });
    // approximate parts stay close: medians within 2% of the range
    expect(Math.abs(a.quantiles!.p50! - b.quantiles!.p50!)).toBeLessThan(10);
  });
  it('still finds the heavy hitter of a high-cardinality column fed in big batches (weighted Misra-Gries)', () => {
    const n = 50_000;
    const xs = Array.from({ length: n }, (_, i) => (i % 4 === 0 ? -1 : i));
    const p = new Profiler({ exactDistinctLimit: 1000 });
    p.update(table({ x: f64(xs) }));
    const c = p.finish().columns.x!;
    expect(c.distinctExact).toBe(false);
    expect(c.topValues![0]!.value).toBe(-1);
    expect(c.topValues![0]!.count).toBeGreaterThan(n / 4 - n / 200);
    expect(c.topValues![0]!.count).toBeLessThanOrEqual(n / 4);
  });
  it('exports Hopsworks FeatureDescriptiveStatistics', () => {
    const p = new Profiler({ correlations: true });
    p.update(table({ x: f64([1, 2, 3, 4]), y: f64([2, 4, 6, 8.5]) }));
    const prof = p.finish();
    expect(prof.correlations!.x!.y).toBeGreaterThan(0.99);
    const [x] = toHopsworksStatistics(prof);
    expect(x).toMatchObject({
      featureName: 'x',
      featureType: 'Fractional',
      count: 4,
      numNonNullValues: 4,
      numNullValues: 0,
      completeness: 1,
      min: 1,
      max: 4,
      mean: 2.5,
      exactNumDistinctValues: 4,
    });
    expect((x!.percentiles as number[]).length).toBe(101);
    expect(JSON.parse(x!.extendedStatistics as string).histogram).toHaveLength(4);
  });
});

describe('drift', () => {
  const r = rng(3);
  const profileOf = (values: number[], cats: string[]) => {
    const p = new Profiler();
    p.update(
      new arrow.Table({
        v: arrow.vectorFromArray(values, new arrow.Float64()),
        c: arrow.vectorFromArray(cats, new arrow.Utf8()),
      }),
    );
    return p.finish();
  };
  const n = 20_000;
  const ref = profileOf(
    Array.from({ length: n }, () => normal(r)),
    Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 'a' : 'b')),
  );
  it('no drift between samples of one distribution', () => {
    const same = profileOf(
      Array.from({ length: n }, () => normal(r)),
      Array.from({ length: n }, (_, i) => (i % 3 === 1 ? 'a' : 'b')),
    );
    const d = drift(ref, same);
    expect(d.drifted).toBe(false);
    expect(d.columns.find((c) => c.column === 'v')!.psi!).toBeLessThan(0.05);
  });
  it('flags a shifted mean and a changed category mix', () => {
    const shifted = profileOf(
      Array.from({ length: n }, () => normal(r) + 1),
      Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 'b' : 'c')),
    );
    const d = drift(ref, shifted);
    const v = d.columns.find((c) => c.column === 'v')!;
    expect(v.kind).toBe('numeric');
    expect(v.drifted).toBe(true);
    expect(v.ks!).toBeGreaterThan(0.3);
    expect(v.ks!).toBeLessThan(0.45); // true KS for N(0,1) vs N(1,1) is 0.383
    const c = d.columns.find((x) => x.column === 'c')!;
    expect(c.kind).toBe('categorical');
    expect(c.drifted).toBe(true);
    expect(drift(ref, shifted, { psi: 100, ks: 1, js: 1 }).drifted).toBe(false);
  });
});

describe('counting sort and the ASCII check', () => {
  it('sorts small integers in the order of sortFloat64', () => {
    const r = rng(9);
    for (const [n, lo, span] of [
      [5000, 0, 100],
      [70000, -300, 600],
      [10000, 1e9, 65535],
      [4097, 7, 0],
    ] as const) {
      const a = Float64Array.from({ length: n }, () => lo + Math.floor(r() * (span + 1)));
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      for (const x of a) {
        min = Math.min(min, x);
        max = Math.max(max, x);
      }
      expect(Array.from(countingSort(a.slice(), min, max))).toEqual(Array.from(sortFloat64(a.slice())));
    }
  });
  it('finds a byte >= 0x80 wherever it is, at any alignment', () => {
    const buf = new Uint8Array(64).fill(0x61);
    for (let start = 0; start < 8; start++)
      for (let end = start; end <= 40; end++) {
        expect(isAscii(buf, start, end)).toBe(true);
        for (let at = start; at < end; at++) {
          buf[at] = 0x80 + (at % 0x7f);
          expect(isAscii(buf, start, end), `${start} ${end} ${at}`).toBe(false);
          expect(isAscii(buf.subarray(1), start, Math.min(end, 63)), 'shifted view').toBe(
            at - 1 < start || at - 1 >= Math.min(end, 63),
          );
          buf[at] = 0x61;
        }
      }
  });
});

describe('the profile of ASCII string columns on their bytes', () => {
  it('is the profile made from their strings: lengths, min/max, distinct counts and top values, across the exact limit', () => {
    const r = rng(5);
    const letters = 'abcxyzAZ09@. -_';
    const word = (n: number) => Array.from({ length: n }, () => letters[Math.floor(r() * letters.length)]).join('');
    // few distinct values, many (past the exact limit of 10,000, so the heavy hitters and the HyperLogLog run), empty
    // strings, nulls, long values, prefixes of each other
    const batches = Array.from({ length: 6 }, (_, k) =>
      table({
        low: str(
          Array.from({ length: 5000 }, (_, i) => (i % 9 === 0 ? null : ['', 'a', 'ab', 'abc', 'b', 'Z'][(i * (k + 1)) % 6]!)),
        ),
        high: str(
          Array.from({ length: 5000 }, (_, i) => (i % 13 === 0 ? null : i % 50 === 0 ? 'hot' : `${word(1 + (i % 7))}${k}-${i}`)),
        ),
        long: str(Array.from({ length: 5000 }, (_, i) => (i % 3 === 0 ? word(40) : word(i % 4)))),
      }),
    );
    const onBytes = new Profiler({ correlations: false });
    const onStrings = new Profiler({ correlations: false });
    let row = 0;
    for (const [seq, t] of batches.entries()) {
      for (const b of t.batches) {
        const bytesView = new BatchView(b, row, seq);
        for (const name of ['low', 'high', 'long']) expect(bytesView.col(name).utf8?.ascii).toBe(true);
        onBytes.update(bytesView);
        const stringsView = new BatchView(b, row, seq);
        for (const name of ['low', 'high', 'long']) expect(stringsView.col(name).vals).not.toBeNull(); // makes the strings
        onStrings.update(stringsView);
        row += b.numRows;
      }
    }
    const a = onBytes.finish();
    const want = onStrings.finish();
    expect(a).toEqual(want);
    expect(want.columns.high!.distinctCount).toBeGreaterThan(10_000);
    expect(want.columns.low!.min).toBe('');
  });
});

const builtWorker = new URL('../dist/profile-worker.js', import.meta.url);
describe.skipIf(requireBuilt('validateAndProfile on a worker thread', fileURLToPath(builtWorker)))(
  'validateAndProfile with the profiler on a worker thread',
  () => {
    it('gives the same profile and verdicts as profiling on this thread, batch for batch', async () => {
      const r = rng(21);
      const batches = Array.from({ length: 4 }, (_, k) =>
        table({
          x: f64(Array.from({ length: 3000 }, (_, i) => (i % 11 === 0 ? null : Math.floor(normal(r) * 1000) / 10))),
          s: str(Array.from({ length: 3000 }, (_, i) => (i % 7 === 0 ? null : `v${(i * (k + 1)) % 1500}`))),
        }),
      );
      const suite = parseSuite({
        name: 't',
        expectations: [
          { type: 'expect_column_values_to_be_between', kwargs: { column: 'x', min_value: -200, max_value: 200 } },
          { type: 'expect_column_values_to_be_unique', kwargs: { column: 's' } },
        ],
      });
      const here = await validateAndProfile(batches, suite, { profileWorker: false, profile: { correlations: true } });
      const there = await validateAndProfile(batches, suite, { profileWorker: builtWorker, profile: { correlations: true } });
      expect(there.profile).toEqual(here.profile);
      const strip = (v: typeof here.result) => ({ ...v!, meta: { ...v!.meta, validation_time: null } });
      expect(strip(there.result)).toEqual(strip(here.result));
    });
    it('starts every profile afresh on the thread it keeps between calls', async () => {
      const first = [table({ x: f64([1, 2, 3, 1000]), s: str(['a', 'b', null, 'zz']) })];
      const second = [table({ x: f64([5, 6, null]), s: str(['q', 'q', 'r']) })];
      await validateAndProfile(first, undefined, { profileWorker: builtWorker });
      const again = await validateAndProfile(second, undefined, { profileWorker: builtWorker });
      const here = await validateAndProfile(second, undefined, { profileWorker: false });
      expect(again.profile).toEqual(here.profile);
      expect(again.profile.columns.x!.count).toBe(3);
    });
    it("rejects with the worker's error when the profiling worker fails, instead of hanging", async () => {
      const dir = mkdtempSync(join(tmpdir(), 'strata-profile-worker-'));
      const script = join(dir, 'broken-worker.mjs');
      writeFileSync(script, 'throw new Error("worker broke on purpose");\n');
      const batches = [table({ x: f64([1, 2, 3]) }), table({ x: f64([4]) })];
      await expect(validateAndProfile(batches, undefined, { profileWorker: pathToFileURL(script) })).rejects.toThrow(
        /worker broke on purpose/,
      );
      // a non-file URL is never loaded as a worker script: the profile is made on this thread
      const { profile } = await validateAndProfile(batches, undefined, { profileWorker: new URL('data:text/javascript,1') });
      expect(profile.columns.x!.count).toBe(4);
    });
  },
);

describe('suggestSuite, validateAndProfile and data docs', () => {
  it('suggests a suite the same data passes', async () => {
    const t = table({ id: f64([1, 2, 3, 4]), g: str(['a', 'b', 'a', 'b']), v: f64([0.5, null, 2, 3]) });
    const { profile } = await validateAndProfile([t]);
    const suite = suggestSuite(profile);
    const types = suite.expectations.map((e) => e.type);
    expect(types).toContain('expect_column_values_to_be_unique');
    expect(types).toContain('expect_column_values_to_be_in_set');
    const v = new SuiteValidator(parseSuite(suiteToGx1(suite)));
    v.update(t);
    const res = v.finish();
    expect(res.results.filter((x) => !x.success).map((x) => x.expectation_config.type)).toEqual([]);
  });
  it('validates and profiles async batches in one pass and renders escaped HTML', async () => {
    async function* gen() {
      yield table({ x: f64([1, 2]), s: str(['<b>', 'ok']) });
      yield table({ x: f64([3, null]), s: str(['ok', null]) });
    }
    const suite = parseSuite({
      name: 's',
      expectations: [{ type: 'expect_column_values_to_not_be_null', kwargs: { column: 'x' } }],
    });
    const { result, profile } = await validateAndProfile(gen(), suite);
    expect(result!.success).toBe(false);
    expect(result!.results[0]!.result.partial_unexpected_index_list).toEqual([3]);
    expect(profile.rowCount).toBe(4);
    const html = renderDataDocs({
      suites: [suite],
      results: [{ label: 'commit 1', result: result! }],
      profiles: [profile],
      drift: [drift(profile, profile)],
    });
    expect(html).toContain('<!doctype html>');
    expect(html).toContain('&lt;b&gt;');
    expect(html).not.toContain('<b>&lt;');
    expect(html).not.toMatch(/<script/);
  });
});
