/**
 * Window aggregations over a key: tumbling (slide = window) or sliding (hopping: slide divides window) windows of
 * count / sum / mean / min / max, with an allowed lateness. One definition, two evaluations that agree: this
 * incremental aggregator (for a stream) and the SQL over offline history in @strata/offline-postgres
 * (windowAggregateSql), so training data and what a stream computes are the same numbers.
 *
 * Windows are [start, start + window) with start a multiple of slide (epoch milliseconds, UTC). An event belongs to
 * every window that contains its event time. `count` counts events; sum, mean, min and max skip null values (a
 * window with none has null), as SQL does. A window closes when the watermark reaches its end plus the lateness; an
 * event all of whose windows are closed is late and rejected (never folded in). The watermark is the latest event
 * time seen, per input partition, and the smallest of those over the partitions declared (a partition that is
 * behind, or has sent nothing yet, holds it back), as stream processors do for Kafka partitions.
 */
import { invalidSpec } from './errors.js';

export type AggregateFunction = 'count' | 'sum' | 'mean' | 'min' | 'max';
export const AGGREGATE_FUNCTIONS: readonly AggregateFunction[] = ['count', 'sum', 'mean', 'min', 'max'];

export interface WindowAggregationSpec {
  /** Output name. */
  name: string;
  function: AggregateFunction;
  /** Input column (a numeric feature of the view); not used by count. */
  column?: string;
  windowSeconds: number;
  /** Hop of sliding windows; default = windowSeconds (tumbling). Must divide windowSeconds. */
  slideSeconds?: number;
  /** Events up to this much older than the watermark still update their windows (default 0). */
  latenessSeconds?: number;
}

export function checkWindowAggregation(a: WindowAggregationSpec, where: string, numericColumns?: Set<string>): string[] {
  const p: string[] = [];
  if (typeof a?.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(a.name))
    p.push(`${where}: name must be a column name`);
  if (!AGGREGATE_FUNCTIONS.includes(a?.function)) p.push(`${where}: function must be one of ${AGGREGATE_FUNCTIONS.join(', ')}`);
  if (a?.function !== 'count') {
    if (typeof a?.column !== 'string') p.push(`${where}: ${a?.function} needs a column`);
    else if (numericColumns && !numericColumns.has(a.column)) p.push(`${where}: column '${a.column}' is not a numeric feature`);
  }
  const w = a?.windowSeconds;
  const s = a?.slideSeconds ?? w;
  if (!(Number.isInteger(w) && w > 0)) p.push(`${where}: windowSeconds must be a whole number > 0`);
  else if (!(Number.isInteger(s) && s > 0 && w % s === 0))
    p.push(`${where}: slideSeconds must be a whole number > 0 that divides windowSeconds`);
  if (a?.latenessSeconds !== undefined && !(Number.isInteger(a.latenessSeconds) && a.latenessSeconds >= 0)) {
    p.push(`${where}: latenessSeconds must be a whole number >= 0`);
  }
  return p;
}

/** Starts (epoch ms) of the windows that contain event time t. */
export function windowStarts(tMs: number, windowMs: number, slideMs: number): number[] {
  const out: number[] = [];
  const kMax = Math.floor(tMs / slideMs);
  const kMin = Math.floor((tMs - windowMs) / slideMs) + 1;
  for (let k = kMin; k <= kMax; k++) out.push(k * slideMs);
  return out;
}

interface Acc {
  count: number;
  n: number;
  sum: number;
  min: number;
  max: number;
}

export interface WindowState {
  marks: [number, number | null][];
  watermark: number | null;
  /** [key, start, count, n, sum, min, max] per open window. */
  open: [string, number, number, number, number, number | null, number | null][];
}

export interface WindowValue {
  key: string;
  start: number;
  end: number;
  value: number | null;
}

/** The value of an accumulator under an aggregate function. */
function accValue(f: AggregateFunction, a: Acc): number | null {
  switch (f) {
    case 'count':
      return a.count;
    case 'sum':
      return a.n ? a.sum : null;
    case 'mean':
      return a.n ? a.sum / a.n : null;
    case 'min':
      return a.n ? a.min : null;
    case 'max':
      return a.n ? a.max : null;
  }
}

/** Incremental window aggregation of one definition over many keys, with lateness. Memory: the open windows only. */
export class WindowAggregator {
  readonly windowMs: number;
  readonly slideMs: number;
  readonly latenessMs: number;
  private open = new Map<string, Map<number, Acc>>();
  private closed: WindowValue[] = [];
  private readonly marks = new Map<number, number>();
  watermark = Number.NEGATIVE_INFINITY;
  late = 0;

  /** `partitions`: the input partitions whose slowest one sets the watermark (default: one input, 0). */
  constructor(
    readonly spec: WindowAggregationSpec,
    opts: { partitions?: number[] } = {},
  ) {
    for (const p of opts.partitions ?? [0]) this.marks.set(p, Number.NEGATIVE_INFINITY);
    const problems = checkWindowAggregation(spec, `aggregation '${spec?.name}'`);
    if (problems.length) throw invalidSpec(problems.join('; '));
    this.windowMs = spec.windowSeconds * 1000;
    this.slideMs = (spec.slideSeconds ?? spec.windowSeconds) * 1000;
    this.latenessMs = (spec.latenessSeconds ?? 0) * 1000;
  }

  private isClosed(start: number): boolean {
    return start + this.windowMs + this.latenessMs <= this.watermark;
  }

  /**
   * Folds one event in. Returns the windows it updated (with their new values), or 'late' when every window of the
   * event had closed. Values: count ignores `value`; the others skip a null.
   */
  add(key: string, tMs: number, value: number | null, partition = 0): WindowValue[] | 'late' {
    if (tMs > (this.marks.get(partition) ?? Number.NEGATIVE_INFINITY)) {
      this.marks.set(partition, tMs);
      let wm = Number.POSITIVE_INFINITY;
      for (const m of this.marks.values()) if (m < wm) wm = m;
      if (wm > this.watermark) {
        this.watermark = wm;
        this.evict();
      }
    }
    const starts = windowStarts(tMs, this.windowMs, this.slideMs).filter((s) => !this.isClosed(s));
    if (!starts.length) {
      this.late++;
      return 'late';
    }
    let byStart = this.open.get(key);
    if (!byStart) {
      byStart = new Map();
      this.open.set(key, byStart);
    }
    const out: WindowValue[] = [];
    for (const s of starts) {
      let a = byStart.get(s);
      if (!a) {
        a = { count: 0, n: 0, sum: 0, min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY };
        byStart.set(s, a);
      }
      a.count++;
      if (value !== null && value !== undefined && Number.isFinite(value)) {
        a.n++;
        a.sum += value;
        if (value < a.min) a.min = value;
        if (value > a.max) a.max = value;
      }
      out.push({ key, start: s, end: s + this.windowMs, value: accValue(this.spec.function, a) });
    }
    return out;
  }

  /** Moves windows that closed into the closed list (taken by drainClosed). */
  private evict(): void {
    for (const [key, byStart] of this.open) {
      for (const [s, a] of byStart) {
        if (this.isClosed(s)) {
          this.closed.push({ key, start: s, end: s + this.windowMs, value: accValue(this.spec.function, a) });
          byStart.delete(s);
        }
      }
      if (!byStart.size) this.open.delete(key);
    }
  }

  /** Windows closed since the last call: final, no event can change them any more. */
  drainClosed(): WindowValue[] {
    const out = this.closed;
    this.closed = [];
    return out;
  }

  /** The state (watermarks and open windows) as plain JSON, to store beside the offsets it corresponds to. */
  snapshot(): WindowState {
    const open: [string, number, number, number, number, number | null, number | null][] = [];
    for (const [key, byStart] of this.open) {
      for (const [s, a] of byStart) open.push([key, s, a.count, a.n, a.sum, a.n ? a.min : null, a.n ? a.max : null]);
    }
    const fin = (x: number) => (Number.isFinite(x) ? x : null);
    return { marks: [...this.marks].map(([p, m]) => [p, fin(m)]), watermark: fin(this.watermark), open };
  }

  /** An aggregator in the state a snapshot recorded (closed windows already taken are not in it). */
  static restore(spec: WindowAggregationSpec, state: WindowState): WindowAggregator {
    const agg = new WindowAggregator(spec, { partitions: state.marks.map(([p]) => p) });
    for (const [p, m] of state.marks) agg.marks.set(p, m ?? Number.NEGATIVE_INFINITY);
    agg.watermark = state.watermark ?? Number.NEGATIVE_INFINITY;
    for (const [key, s, count, n, sum, min, max] of state.open) {
      let byStart = agg.open.get(key);
      if (!byStart) {
        byStart = new Map();
        agg.open.set(key, byStart);
      }
      byStart.set(s, { count, n, sum, min: min ?? Number.POSITIVE_INFINITY, max: max ?? Number.NEGATIVE_INFINITY });
    }
    return agg;
  }

  /** The current value of every open window. */
  openWindows(): WindowValue[] {
    const out: WindowValue[] = [];
    for (const [key, byStart] of this.open) {
      for (const [s, a] of byStart) out.push({ key, start: s, end: s + this.windowMs, value: accValue(this.spec.function, a) });
    }
    return out;
  }
}
