/**
 * tieFree decides when a training set may use the event time alone as its ASOF key: it must never say "no ties" of
 * files whose rows hold two with the same keys and event time, whatever the files.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tieFree } from './engine.js';

type Row = { key: number; ts: number };

/** The facts a sink records of one file's rows (what factsOf computes in DuckDB). */
function fileOf(rows: Row[], known = true) {
  const seen = new Set(rows.map((r) => `${r.key}/${r.ts}`));
  const ts = rows.map((r) => r.ts);
  return {
    rows: rows.length,
    keyTimeUnique: known ? seen.size === rows.length : null,
    minEventUs: ts.length ? BigInt(Math.min(...ts)) : null,
    maxEventUs: ts.length ? BigInt(Math.max(...ts)) : null,
  };
}

describe('tieFree', () => {
  it('never claims no ties when two rows of the files share keys and event time', () => {
    const row = fc.record({ key: fc.integer({ min: 0, max: 3 }), ts: fc.integer({ min: 0, max: 12 }) });
    fc.assert(
      fc.property(fc.array(fc.array(row, { maxLength: 5 }), { maxLength: 5 }), (files) => {
        const all = files.flat();
        const hasTie = new Set(all.map((r) => `${r.key}/${r.ts}`)).size !== all.length;
        if (hasTie) expect(tieFree(files.map((f) => fileOf(f)))).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('says no ties for unique files with disjoint ranges, in any order, empty files aside', () => {
    const a = fileOf([
      { key: 1, ts: 10 },
      { key: 2, ts: 10 },
      { key: 1, ts: 20 },
    ]);
    const b = fileOf([{ key: 1, ts: 21 }]);
    const c = fileOf([
      { key: 1, ts: 30 },
      { key: 1, ts: 40 },
    ]);
    expect(tieFree([a, b, c])).toBe(true);
    expect(tieFree([c, a, fileOf([]), b])).toBe(true);
    expect(tieFree([])).toBe(true);
  });

  it('refuses ranges that touch or nest, a file with a tie inside, and files without facts', () => {
    const a = fileOf([
      { key: 1, ts: 10 },
      { key: 2, ts: 20 },
    ]);
    // Touching bounds: key 3 at 20 cannot tie with key 2 at 20, but the ranges alone cannot tell, so no.
    expect(tieFree([a, fileOf([{ key: 3, ts: 20 }])])).toBe(false);
    expect(
      tieFree([
        fileOf([
          { key: 1, ts: 0 },
          { key: 1, ts: 100 },
        ]),
        fileOf([{ key: 2, ts: 50 }]),
        fileOf([{ key: 2, ts: 200 }]),
      ]),
    ).toBe(false);
    expect(
      tieFree([
        fileOf([
          { key: 1, ts: 5 },
          { key: 1, ts: 5 },
        ]),
      ]),
    ).toBe(false);
    expect(tieFree([fileOf([{ key: 1, ts: 5 }], false)])).toBe(false);
    expect(tieFree([{ rows: 3, keyTimeUnique: true, minEventUs: null, maxEventUs: null }])).toBe(false);
  });
});
