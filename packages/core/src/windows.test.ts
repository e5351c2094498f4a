import { describe, expect, it } from 'vitest';
import { type AggregateFunction, WindowAggregator, windowStarts } from './windows.js';

/** Brute force: every window of every event, then the function over the events inside it. */
function reference(events: { key: string; t: number; v: number | null }[], f: AggregateFunction, w: number, s: number) {
  const out = new Map<string, number | null>();
  const starts = new Set<string>();
  for (const e of events) for (const st of windowStarts(e.t, w, s)) starts.add(`${e.key}|${st}`);
  for (const ks of starts) {
    const [key, st] = ks.split('|') as [string, string];
    const inside = events.filter((e) => e.key === key && e.t >= Number(st) && e.t < Number(st) + w);
    const vals = inside.map((e) => e.v).filter((v): v is number => v !== null);
    const value =
      f === 'count'
        ? inside.length
        : !vals.length
          ? null
          : f === 'sum'
            ? vals.reduce((a, b) => a + b, 0)
            : f === 'mean'
              ? vals.reduce((a, b) => a + b, 0) / vals.length
              : f === 'min'
                ? Math.min(...vals)
                : Math.max(...vals);
    out.set(ks, value);
  }
  return out;
}

function run(agg: WindowAggregator, events: { key: string; t: number; v: number | null }[]) {
  const got = new Map<string, number | null>();
  let late = 0;
  for (const e of events) {
    const r = agg.add(e.key, e.t, e.v);
    if (r === 'late') late++;
    else for (const x of r) got.set(`${x.key}|${x.start}`, x.value);
  }
  for (const x of agg.drainClosed()) got.set(`${x.key}|${x.start}`, x.value);
  return { got, late };
}

describe('window aggregations', () => {
  it('finds the windows of an event (tumbling and sliding, negative times too)', () => {
    expect(windowStarts(3500, 1000, 1000)).toEqual([3000]);
    expect(windowStarts(3000, 1000, 1000)).toEqual([3000]);
    expect(windowStarts(3500, 2000, 500)).toEqual([2000, 2500, 3000, 3500]);
    expect(windowStarts(-1, 1000, 1000)).toEqual([-1000]);
  });

  it('equals a brute-force reference for every function, tumbling and sliding, with out-of-order events', () => {
    // A seeded sequence: events arrive up to 3 s out of order; the lateness (5 s) covers all of them.
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const events = Array.from({ length: 2000 }, (_, i) => ({
      key: `u${Math.floor(rnd() * 7)}`,
      t: i * 97 - Math.floor(rnd() * 3000),
      v: rnd() < 0.1 ? null : Math.round(rnd() * 1000) / 10,
    }));
    for (const f of ['count', 'sum', 'mean', 'min', 'max'] as const) {
      for (const [w, s] of [
        [10, 10],
        [30, 10],
      ] as const) {
        const agg = new WindowAggregator({
          name: 'x',
          function: f,
          column: 'v',
          windowSeconds: w,
          slideSeconds: s,
          latenessSeconds: 5,
        });
        const { got, late } = run(agg, events);
        expect(late).toBe(0);
        const want = reference(events, f, w * 1000, s * 1000);
        expect(got.size).toBe(want.size);
        for (const [k, v] of want) {
          if (v === null) expect(got.get(k)).toBeNull();
          else expect(got.get(k)).toBeCloseTo(v, 9);
        }
        expect(agg.openWindows().length).toBeGreaterThan(0);
      }
    }
  });

  it('folds in an event up to the lateness and rejects one that comes after its windows closed', () => {
    const agg = new WindowAggregator({ name: 'n', function: 'count', windowSeconds: 10, latenessSeconds: 5 });
    expect(agg.add('a', 1_000, null)).toEqual([{ key: 'a', start: 0, end: 10_000, value: 1 }]);
    agg.add('a', 14_000, null); // watermark 14 s: window [0, 10) closes at 15 s
    expect(agg.add('a', 9_000, null)).toEqual([{ key: 'a', start: 0, end: 10_000, value: 2 }]);
    agg.add('a', 15_000, null);
    expect(agg.drainClosed()).toEqual([{ key: 'a', start: 0, end: 10_000, value: 2 }]);
    expect(agg.add('a', 9_500, null)).toBe('late');
    expect(agg.late).toBe(1);
    expect(() => new WindowAggregator({ name: 'bad', function: 'sum', windowSeconds: 10, slideSeconds: 3 })).toThrow(
      /needs a column.*slideSeconds must be/,
    );
  });

  it('resumes from a snapshot exactly where it left off', () => {
    const spec = { name: 's', function: 'sum' as const, column: 'v', windowSeconds: 60, slideSeconds: 30, latenessSeconds: 10 };
    const events = Array.from({ length: 300 }, (_, i) => ({
      key: `k${i % 3}`,
      t: i * 1000 - (i % 7) * 1000,
      v: i % 5 === 0 ? null : i,
    }));
    const whole = run(new WindowAggregator(spec), events).got;
    const a = new WindowAggregator(spec);
    const firstPart = run(a, events.slice(0, 140)).got;
    const b = WindowAggregator.restore(spec, JSON.parse(JSON.stringify(a.snapshot())));
    const rest = run(b, events.slice(140)).got;
    for (const [k, v] of rest) firstPart.set(k, v);
    for (const x of b.openWindows()) firstPart.set(`${x.key}|${x.start}`, x.value);
    expect(firstPart).toEqual(whole);
  });
});
