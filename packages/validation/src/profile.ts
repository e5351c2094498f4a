/**
 * Per-column statistics computed in one streaming pass: counts, completeness, distinct counts (exact while small,
 * HyperLogLog beyond), Welford moments, KLL quantiles, histograms (exact frequencies below 20 distinct values, else 20
 * equal-width bins), top values, string lengths and optional Pearson correlations. Profiles are plain JSON and mergeable.
 */
import { invalidInput } from '@strata/core';
import type * as arrow from 'apache-arrow';
import { AsciiTable, doubled } from './ascii-table.js';
import { BatchView, batchesOf, type Col, type ColKind, keyAt } from './columns.js';
import { compareAny } from './expectations.js';
import {
  countingSort,
  H,
  HyperLogLog,
  hashAscii,
  hashInto,
  type KllJSON,
  KllSketch,
  Moments,
  type MomentsJSON,
  sortFloat64,
} from './sketch.js';

export interface ProfilerOptions {
  /** Distinct values counted exactly (with frequencies) per column before a HyperLogLog takes over. Default 10000. */
  exactDistinctLimit?: number;
  /** Equal-width bins for numeric histograms when a column has more distinct values than this. Default 20. */
  histogramBins?: number;
  /** Top values kept for categorical columns. Default 20. */
  topK?: number;
  /** Pearson correlations between numeric columns. Default false. */
  correlations?: boolean;
}

export interface Histogram {
  kind: 'categorical' | 'bins';
  /** Categorical: the values. */
  values?: unknown[];
  /** Bins: edges (bins + 1 of them). */
  edges?: number[];
  counts: number[];
  /** False when bin counts come from the quantile sketch (after a merge, or beyond the exact limit). */
  exact: boolean;
}

export interface ColumnProfile {
  name: string;
  kind: ColKind;
  dtype: string;
  arrowType: string;
  count: number;
  nullCount: number;
  nonNullCount: number;
  completeness: number | null;
  distinctCount: number;
  distinctExact: boolean;
  /** Distinct values appearing exactly once / non-null count (only while exact). */
  uniqueness: number | null;
  distinctness: number | null;
  entropy: number | null;
  min: number | string | null;
  max: number | string | null;
  mean: number | null;
  stddev: number | null;
  sum: number | null;
  /** p0, p1, ..., p100 from the KLL sketch (Hopsworks' 100 percentiles plus the max). */
  percentiles: number[] | null;
  quantiles: Record<string, number> | null;
  histogram: Histogram | null;
  topValues: { value: unknown; count: number }[] | null;
  lengths: { min: number; max: number; mean: number } | null;
  /** Mergeable state: the exact frequency table or HLL registers, moments, the KLL sketch. */
  state: {
    freq: [unknown, number][] | null;
    hll: string | null;
    /** Top values (Misra-Gries counts, lower bounds) kept once the frequency table is gone. */
    heavy: [unknown, number][] | null;
    moments: MomentsJSON | null;
    kll: KllJSON | null;
    len: MomentsJSON | null;
  };
}

export interface Profile {
  version: 1;
  rowCount: number;
  columns: Record<string, ColumnProfile>;
  correlations?: Record<string, Record<string, number | null>>;
  /** Co-moment state for correlations (mergeable). */
  correlationState?: Record<string, { n: number; sx: number; sy: number; sxx: number; syy: number; sxy: number }>;
  options: Required<ProfilerOptions>;
}

/** Present values of the batch being profiled (reused from batch to batch; the sketch copies what it keeps). */
let scratch = new Float64Array(0);
/** Rows per distinct value of the batch in countDistinct (module scratch, all zero between batches). */
let batchCounts = new Float64Array(0);

/** A batch's string lengths (count, sum, sum of squares, min, max), merged into a column's moments at the end. */
class Lengths {
  n = 0;
  sum = 0;
  sumSq = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  add(len: number, c: number): void {
    this.n += c;
    this.sum += len * c;
    this.sumSq += len * len * c;
    if (len < this.min) this.min = len;
    if (len > this.max) this.max = len;
  }
  into(m: Moments): void {
    m.merge(Moments.ofIntegers(this.n, this.sum, this.sumSq, this.min, this.max));
  }
}

/** Integer batches spanning fewer values than this are sorted by counting. */
const COUNTING_RANGE = 1 << 16;

/** Below this many present values per batch, numbers go one by one (the result is then the same for any batching). */
const SORTED_RUN_MIN = 1024;

/**
 * The Misra-Gries counters of a column past its exact limit: the same entries, counts and insertion order as a `Map`
 * updated in place would hold, in flat arrays with an open-addressing index keyed by the hash the HyperLogLog has just
 * computed (no string hashing by the engine, and a sweep that drops every counter is a reset, not hundreds of deletes).
 */
export class HeavyHitters {
  private keys: unknown[];
  private counts: Float64Array;
  private hashes: Int32Array;
  private n = 0;
  private slots: Int32Array;
  private mask: number;
  constructor(readonly capacity: number) {
    let size = 8;
    while (size < capacity * 2) size *= 2;
    this.slots = new Int32Array(size).fill(-1);
    this.mask = size - 1;
    this.keys = new Array<unknown>(size >> 1);
    this.counts = new Float64Array(size >> 1);
    this.hashes = new Int32Array(size >> 1);
  }
  static from(entries: Iterable<[unknown, number]>, capacity: number): HeavyHitters {
    const h = new HeavyHitters(capacity);
    for (const [k, c] of entries) h.set(k, c);
    return h;
  }
  get size(): number {
    return this.n;
  }
  /** The slot of k (hash `hash`): its index in `slots`, which holds -1 when k is absent. */
  private slotOf(k: unknown, hash: number): number {
    let s = hash & this.mask;
    for (;;) {
      const at = this.slots[s]!;
      if (at < 0 || (this.hashes[at] === hash && this.keys[at] === k)) return s;
      s = (s + 1) & this.mask;
    }
  }
  /** A new counter for k (absent, slot `s`) at the end. */
  private append(k: unknown, c: number, hash: number, s: number): void {
    if (2 * (this.n + 1) > this.slots.length) {
      // more counters than the capacity (a merge of profiles made with a larger topK): a bigger table
      const size = this.slots.length * 2;
      this.slots = new Int32Array(size).fill(-1);
      this.mask = size - 1;
      const keys = new Array<unknown>(size >> 1);
      const counts = new Float64Array(size >> 1);
      const hashes = new Int32Array(size >> 1);
      for (let i = 0; i < this.n; i++) {
        keys[i] = this.keys[i];
        counts[i] = this.counts[i]!;
        hashes[i] = this.hashes[i]!;
      }
      this.keys = keys;
      this.counts = counts;
      this.hashes = hashes;
      for (let i = 0; i < this.n; i++) this.slots[this.slotOf(keys[i], hashes[i]!)] = i;
      this.append(k, c, hash, this.slotOf(k, hash));
      return;
    }
    const i = this.n++;
    this.slots[s] = i;
    this.keys[i] = k;
    this.counts[i] = c;
    this.hashes[i] = hash;
  }
  get(k: unknown): number | undefined {
    const key = norm(k);
    hashInto(key);
    const at = this.slots[this.slotOf(key, H.h1 | 0)]!;
    return at < 0 ? undefined : this.counts[at];
  }
  /** Sets k's counter (a new counter at the end when absent), as `Map.set` does. */
  set(k: unknown, c: number): void {
    const key = norm(k);
    hashInto(key);
    const hash = H.h1 | 0;
    const s = this.slotOf(key, hash);
    const at = this.slots[s]!;
    if (at >= 0) this.counts[at] = c;
    else this.append(key, c, hash, s);
  }
  /** One Misra-Gries step for `c` occurrences of k, whose hashes `hashInto` has just left in H. */
  add(k: unknown, c: number): void {
    const hash = H.h1 | 0;
    const s = this.slotOf(k, hash);
    const at = this.slots[s]!;
    if (at >= 0) {
      this.counts[at]! += c;
      return;
    }
    if (this.n < this.capacity) {
      this.append(k, c, hash, s);
      return;
    }
    // take the smaller of c and the least counter off every counter and off c, drop the zeros, keep what is left of c
    // (amortised O(1) per value; with c = 1 this is the classic decrement-all); survivors keep their order
    const { keys, counts, hashes } = this;
    const n = this.n;
    let least = c;
    for (let i = 0; i < n; i++) if (counts[i]! < least) least = counts[i]!;
    this.slots.fill(-1);
    let w = 0;
    for (let i = 0; i < n; i++) {
      const left = counts[i]! - least;
      if (left <= 0) continue;
      keys[w] = keys[i];
      counts[w] = left;
      hashes[w] = hashes[i]!;
      this.slots[this.slotOf(keys[w], hashes[w]!)] = w;
      w++;
    }
    for (let i = w; i < n; i++) keys[i] = undefined;
    this.n = w;
    if (c > least) this.append(k, c - least, hash, this.slotOf(k, hash));
  }
  /**
   * Adds c to the counter of the ASCII value b[s, e) (hashes just left in H by `hashAscii`) when it has one, and says
   * whether it did; if not, the caller calls `add` with the value's string (made only then).
   */
  bumpAscii(b: Uint8Array, s: number, e: number, c: number): boolean {
    const hash = H.h1 | 0;
    let slot = hash & this.mask;
    const n = e - s;
    for (;;) {
      const at = this.slots[slot]!;
      if (at < 0) return false;
      if (this.hashes[at] === hash) {
        const k = this.keys[at];
        if (typeof k === 'string' && sameAscii(k, b, s, n)) {
          this.counts[at]! += c;
          return true;
        }
      }
      slot = (slot + 1) & this.mask;
    }
  }
  entries(): [unknown, number][] {
    const out: [unknown, number][] = [];
    for (let i = 0; i < this.n; i++) out.push([this.keys[i], this.counts[i]!]);
    return out;
  }
}

/** Whether string k is the ASCII bytes b[s, s + n). */
function sameAscii(k: string, b: Uint8Array, s: number, n: number): boolean {
  if (k.length !== n) return false;
  for (let j = 0; j < n; j++) if (k.charCodeAt(j) !== b[s + j]) return false;
  return true;
}

function latin1(b: Uint8Array, s: number, e: number): string {
  return Buffer.from(b.buffer, b.byteOffset + s, e - s).toString('latin1');
}

/** -1, 0, 1 as the ASCII bytes a[s, e) compare with the bytes `b` (UTF-8): the order of the strings they encode. */
function compareBytes(a: Uint8Array, s: number, e: number, b: Uint8Array): number {
  const n = Math.min(e - s, b.length);
  for (let j = 0; j < n; j++) {
    const d = a[s + j]! - b[j]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return e - s < b.length ? -1 : e - s > b.length ? 1 : 0;
}

/** Keys as a `Map` holds them (-0 is +0). */
function norm(k: unknown): unknown {
  return k === 0 ? 0 : k;
}

class ColumnStats {
  count = 0;
  nulls = 0;
  freq: Map<unknown, number> | null = new Map();
  hll: HyperLogLog | null = null;
  heavy: HeavyHitters | null = null;
  moments: Moments | null = null;
  kll: KllSketch | null = null;
  len: Moments | null = null;
  minS: string | null = null;
  maxS: string | null = null;
  /** minS / maxS as UTF-8 (for comparing bytes), and the strings they were made from. */
  private minB: Uint8Array | null = null;
  private maxB: Uint8Array | null = null;
  private minBOf: string | null = null;
  private maxBOf: string | null = null;
  /** While counting exactly on bytes: each distinct value's string, by its number in `internTable`. */
  private internTable: AsciiTable | null = null;
  private interned: string[] = [];
  constructor(
    readonly name: string,
    public kind: ColKind,
    public dtype: string,
    public arrowType: string,
    readonly o: Required<ProfilerOptions>,
  ) {
    if (kind === 'number' || kind === 'date' || kind === 'boolean') {
      this.moments = new Moments();
      if (kind !== 'boolean') this.kll = new KllSketch();
    }
    if (kind === 'string') this.len = new Moments();
  }
  addKey(k: unknown): void {
    this.addKeyCount(k, 1);
  }
  /** Counts `c` occurrences of k: exactly while the table is small, else HLL + weighted Misra-Gries heavy hitters. */
  addKeyCount(k: unknown, c: number): void {
    if (this.freq) {
      this.freq.set(k, (this.freq.get(k) ?? 0) + c);
      if (this.freq.size > this.o.exactDistinctLimit) this.spill();
      return;
    }
    const key = norm(k);
    this.hll!.add(key);
    this.heavy!.add(key, c);
  }
  spill(): void {
    this.hll = new HyperLogLog();
    for (const k of this.freq!.keys()) this.hll.add(k);
    const top = [...this.freq!.entries()].sort((a, b) => b[1] - a[1]).slice(0, this.o.topK * 10);
    this.heavy = HeavyHitters.from(top, this.o.topK * 10);
    this.freq = null;
  }
  update(col: Col): void {
    this.count += col.length;
    const { valid, nums } = col;
    if (nums) {
      this.updateNumbers(col, nums, valid);
      return;
    }
    // on the bytes unless something (an expectation) has already made the column's strings, which are then cheaper
    if (col.kind === 'string' && col.utf8?.ascii && !col.madeVals) {
      this.updateAscii(col.utf8.bytes, col.utf8.offsets, valid, col.length);
      return;
    }
    const vals = col.vals;
    const lens = new Lengths();
    for (let i = 0; i < col.length; i++) {
      if (!valid[i]) {
        this.nulls++;
        continue;
      }
      const k = col.kind === 'string' ? vals![i] : keyAt(col, i);
      if (col.kind === 'string') {
        const s = k as string;
        lens.add(s.length, 1);
        if (this.minS === null || s < this.minS) this.minS = s;
        if (this.maxS === null || s > this.maxS) this.maxS = s;
      }
      this.addKey(k);
    }
    if (col.kind === 'string') lens.into(this.len!);
  }
  /**
   * An ASCII string column, on its bytes: the same statistics as from its strings (lengths, min / max in the same
   * order, the same hashes and counters). While counting exactly, each row costs a hash and a look-up by bytes, and
   * each distinct value of the batch is then counted, measured and compared once, with its one JS string; past the
   * exact limit, a row costs a hash, a HyperLogLog update and a counter, and a string only when it gets a counter or
   * is a new min or max.
   */
  private updateAscii(bytes: Uint8Array, offsets: Int32Array, valid: Uint8Array, n: number): void {
    // the strings this needs are cut from one decoding of the batch's bytes, made on first need
    const start = offsets[0]!;
    let all: string | null = null;
    const text = (s: number, e: number): string => {
      all ??= latin1(bytes, start, offsets[n]!);
      return all.slice(s - start, e - start);
    };
    if (this.freq && this.countDistinct(bytes, offsets, valid, n, text)) return;
    const lens = new Lengths();
    for (let i = 0; i < n; i++) {
      if (!valid[i]) {
        this.nulls++;
        continue;
      }
      const s = offsets[i]!;
      const e = offsets[i + 1]!;
      lens.add(e - s, 1);
      if (this.minS === null || compareBytes(bytes, s, e, this.minBytes()) < 0) this.minS = text(s, e);
      if (this.maxS === null || compareBytes(bytes, s, e, this.maxBytes()) > 0) this.maxS = text(s, e);
      if (this.freq) {
        this.addKey(this.interned[this.internNumber(bytes, s, e, text)]);
        if (!this.freq) {
          // spilled: counting goes on with the HyperLogLog and the heavy hitters
          this.internTable = null;
          this.interned = [];
        }
      } else {
        hashAscii(bytes, s, e);
        this.hll!.addHash(H.h1, H.h2);
        if (!this.heavy!.bumpAscii(bytes, s, e, 1)) this.heavy!.add(text(s, e), 1);
      }
    }
    lens.into(this.len!);
  }
  /**
   * The number of the distinct value b[s, e) in `internTable`, in order of appearance; its one string
   * is `interned[number]`.
   */
  private internNumber(b: Uint8Array, s: number, e: number, text: (s: number, e: number) => string): number {
    this.internTable ??= new AsciiTable();
    const table = this.internTable;
    let at = table.find(b, s, e);
    if (at < 0) {
      at = table.insert(b, s, e);
      this.interned[at] = text(s, e);
    }
    return at;
  }
  /**
   * The exact phase for a whole batch: rows counted per distinct value, then each value counted, measured and compared
   * once, in order of first appearance (the frequency table's order is the row-by-row one). False, having changed
   * nothing but the look-up table, when the batch would take the table past its limit: the batch then goes row by
   * row, so the spill happens at the same row as it would.
   */
  private countDistinct(
    bytes: Uint8Array,
    offsets: Int32Array,
    valid: Uint8Array,
    n: number,
    text: (s: number, e: number) => string,
  ): boolean {
    const freq = this.freq!;
    const first = this.internTable?.size ?? 0;
    if (batchCounts.length < first + n) batchCounts = doubled(batchCounts, first + n);
    const counts = batchCounts;
    let nulls = 0;
    for (let i = 0; i < n; i++) {
      if (!valid[i]) {
        nulls++;
        continue;
      }
      counts[this.internNumber(bytes, offsets[i]!, offsets[i + 1]!, text)]!++;
    }
    const size = this.internTable?.size ?? 0;
    if (freq.size + (size - first) > this.o.exactDistinctLimit) {
      counts.fill(0, 0, size);
      return false;
    }
    this.nulls += nulls;
    const lens = new Lengths();
    for (let at = 0; at < size; at++) {
      const c = counts[at]!;
      if (c === 0) continue;
      counts[at] = 0;
      const k = this.interned[at]!;
      lens.add(k.length, c);
      if (this.minS === null || k < this.minS) this.minS = k;
      if (this.maxS === null || k > this.maxS) this.maxS = k;
      freq.set(k, (freq.get(k) ?? 0) + c);
    }
    lens.into(this.len!);
    return true;
  }
  private minBytes(): Uint8Array {
    if (this.minBOf !== this.minS) {
      this.minB = Buffer.from(this.minS!, 'utf8');
      this.minBOf = this.minS;
    }
    return this.minB!;
  }
  private maxBytes(): Uint8Array {
    if (this.maxBOf !== this.maxS) {
      this.maxB = Buffer.from(this.maxS!, 'utf8');
      this.maxBOf = this.maxS;
    }
    return this.maxB!;
  }
  /**
   * Numbers, booleans and dates: the batch's moments (two passes over its present values, merged into the column's), then the batch's present values sorted once (a typed-array
   * sort) feed the quantile sketch as one run and the frequency table one distinct value at a time.
   */
  private updateNumbers(col: Col, nums: Float64Array, valid: Uint8Array): void {
    const n = col.length;
    if (scratch.length < n) scratch = new Float64Array(n);
    const present = scratch;
    let m = 0;
    const mo = this.moments!;
    // and whether the batch's values are small integers (no -0), which a counting pass sorts
    let ints = true;
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      if (!valid[i]) continue;
      const x = nums[i]!;
      present[m++] = x;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
      if (ints && (x !== Math.floor(x) || (x === 0 && 1 / x < 0))) ints = false;
    }
    this.nulls += n - m;
    if (m === 0) return;
    // the batch's moments, merged into the column's
    mo.merge(Moments.ofValues(present, m));
    const bool = col.kind === 'boolean';
    if (m <= SORTED_RUN_MIN) {
      for (let i = 0; i < m; i++) {
        const x = present[i]!;
        this.kll?.add(x);
        this.addKey(bool ? x === 1 : x);
      }
      return;
    }
    // small integers (age, counts, flags) are sorted by counting, the others by radix: the same order either way
    const sorted =
      ints && hi - lo < COUNTING_RANGE ? countingSort(present.subarray(0, m), lo, hi) : sortFloat64(present.subarray(0, m));
    this.kll?.addSorted(sorted);
    let start = 0;
    for (let i = 1; i <= m; i++) {
      if (i === m || sorted[i] !== sorted[start]) {
        const x = sorted[start]!;
        this.addKeyCount(bool ? x === 1 : x, i - start);
        start = i;
      }
    }
  }
  toProfile(): ColumnProfile {
    const nonNull = this.count - this.nulls;
    const m = this.moments;
    const date = this.kind === 'date';
    const distinctCount = this.freq ? this.freq.size : this.hll!.estimate();
    let uniqueness: number | null = null;
    let entropy: number | null = null;
    if (this.freq && nonNull > 0) {
      let once = 0;
      let h = 0;
      for (const c of this.freq.values()) {
        if (c === 1) once++;
        const p = c / nonNull;
        h -= p * Math.log(p);
      }
      uniqueness = once / nonNull;
      entropy = h;
    }
    const pct = this.kll && this.kll.n > 0 ? this.kll.quantiles(Array.from({ length: 101 }, (_, i) => i / 100)) : null;
    const numericMin = m?.n ? m.min : null;
    const numericMax = m?.n ? m.max : null;
    const fmt = (x: number | null) => (x === null ? null : date ? new Date(x).toISOString() : x);
    return {
      name: this.name,
      kind: this.kind,
      dtype: this.dtype,
      arrowType: this.arrowType,
      count: this.count,
      nullCount: this.nulls,
      nonNullCount: nonNull,
      completeness: this.count ? nonNull / this.count : null,
      distinctCount,
      distinctExact: this.freq !== null,
      uniqueness,
      distinctness: nonNull ? distinctCount / nonNull : null,
      entropy,
      min: this.kind === 'string' ? this.minS : fmt(numericMin),
      max: this.kind === 'string' ? this.maxS : fmt(numericMax),
      mean: m?.n && !date ? m.mean : null,
      stddev: m && m.n > 1 && !date ? m.stdev : null,
      sum: m?.n && !date ? m.sum : null,
      percentiles: pct,
      quantiles: pct
        ? { p01: pct[1]!, p05: pct[5]!, p25: pct[25]!, p50: pct[50]!, p75: pct[75]!, p95: pct[95]!, p99: pct[99]! }
        : null,
      histogram: this.histogram(numericMin, numericMax),
      topValues: this.top(),
      lengths: this.len?.n ? { min: this.len.min, max: this.len.max, mean: this.len.mean } : null,
      state: {
        freq: this.freq ? [...this.freq.entries()] : null,
        hll: this.hll ? this.hll.toJSON() : null,
        heavy: this.heavy ? this.heavy.entries() : null,
        moments: m ? m.toJSON() : null,
        kll: this.kll ? this.kll.toJSON() : null,
        len: this.len ? this.len.toJSON() : null,
      },
    };
  }
  private top(): { value: unknown; count: number }[] | null {
    const src = this.freq ? [...this.freq.entries()] : this.heavy?.entries();
    if (!src) return null;
    return src
      .sort((a, b) => b[1] - a[1] || compareAny(a[0], b[0]))
      .slice(0, this.o.topK)
      .map(([value, count]) => ({ value: this.kind === 'date' ? new Date(value as number).toISOString() : value, count }));
  }
  private histogram(min: number | null, max: number | null): Histogram | null {
    const bins = this.o.histogramBins;
    if (this.freq && this.freq.size <= bins) {
      const entries = [...this.freq.entries()].sort((a, b) => compareAny(a[0], b[0]));
      return {
        kind: 'categorical',
        values: entries.map(([v]) => (this.kind === 'date' ? new Date(v as number).toISOString() : v)),
        counts: entries.map(([, c]) => c),
        exact: true,
      };
    }
    if (min === null || max === null || !this.kll) return null;
    const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? max : min + ((max - min) * i) / bins));
    const counts = new Array<number>(bins).fill(0);
    if (this.freq) {
      for (const [v, c] of this.freq) counts[binOf(v as number, min, max, bins)]! += c;
      return { kind: 'bins', edges, counts, exact: true };
    }
    const n = this.kll.n;
    let prev = 0;
    for (let i = 0; i < bins; i++) {
      const cum = i === bins - 1 ? 1 : this.kll.cdf(edges[i + 1]! - Number.EPSILON * Math.abs(edges[i + 1]!));
      counts[i] = Math.max(0, Math.round((cum - prev) * n));
      prev = cum;
    }
    return { kind: 'bins', edges, counts, exact: false };
  }
  static fromProfile(p: ColumnProfile, o: Required<ProfilerOptions>): ColumnStats {
    const s = new ColumnStats(p.name, p.kind, p.dtype, p.arrowType, o);
    s.count = p.count;
    s.nulls = p.nullCount;
    s.freq = p.state.freq ? new Map(p.state.freq) : null;
    s.hll = p.state.hll ? HyperLogLog.fromJSON(p.state.hll) : null;
    s.heavy = p.state.heavy ? HeavyHitters.from(p.state.heavy, o.topK * 10) : null;
    s.moments = p.state.moments ? Moments.fromJSON(p.state.moments) : null;
    s.kll = p.state.kll ? KllSketch.fromJSON(p.state.kll) : null;
    s.len = p.state.len ? Moments.fromJSON(p.state.len) : null;
    if (p.kind === 'string') {
      s.minS = (p.min as string | null) ?? null;
      s.maxS = (p.max as string | null) ?? null;
    }
    return s;
  }
  merge(o: ColumnStats): void {
    this.count += o.count;
    this.nulls += o.nulls;
    if (this.freq && o.freq) {
      for (const [k, c] of o.freq) this.freq.set(k, (this.freq.get(k) ?? 0) + c);
      if (this.freq.size > this.o.exactDistinctLimit) this.spill();
    } else {
      if (this.freq) this.spill();
      const other = o.freq ? ColumnStats.fromProfile(o.toProfile(), this.o) : o;
      if (other.freq) other.spill();
      this.hll!.merge(other.hll!);
      const sum = new Map(this.heavy!.entries());
      for (const [k, c] of other.heavy!.entries()) sum.set(k, (sum.get(k) ?? 0) + c);
      const top = [...sum.entries()].sort((a, b) => b[1] - a[1]).slice(0, this.o.topK * 10);
      this.heavy = HeavyHitters.from(top, this.o.topK * 10);
    }
    if (this.moments && o.moments) this.moments.merge(o.moments);
    if (this.kll && o.kll) this.kll.merge(o.kll);
    if (this.len && o.len) this.len.merge(o.len);
    if (o.minS !== null && (this.minS === null || o.minS < this.minS)) this.minS = o.minS;
    if (o.maxS !== null && (this.maxS === null || o.maxS > this.maxS)) this.maxS = o.maxS;
  }
}

function binOf(x: number, min: number, max: number, bins: number): number {
  if (max === min) return 0;
  const b = Math.floor(((x - min) / (max - min)) * bins);
  return b >= bins ? bins - 1 : Math.max(b, 0);
}

function defaults(o: ProfilerOptions = {}): Required<ProfilerOptions> {
  return {
    exactDistinctLimit: o.exactDistinctLimit ?? 10_000,
    histogramBins: o.histogramBins ?? 20,
    topK: o.topK ?? 20,
    correlations: o.correlations ?? false,
  };
}

type CoState = { n: number; sx: number; sy: number; sxx: number; syy: number; sxy: number };

export class Profiler {
  private readonly o: Required<ProfilerOptions>;
  private readonly cols = new Map<string, ColumnStats>();
  private readonly co = new Map<string, CoState>();
  private rows = 0;
  constructor(opts: ProfilerOptions = {}) {
    this.o = defaults(opts);
  }
  update(input: arrow.RecordBatch | arrow.Table | BatchView): void {
    const views = input instanceof BatchView ? [input] : batchesOf(input).map((b) => new BatchView(b, this.rows, 0));
    for (const view of views) {
      const numeric: Col[] = [];
      for (const name of view.columnNames) {
        const col = view.col(name);
        let s = this.cols.get(name);
        if (!s) {
          s = new ColumnStats(name, col.kind, col.dtype, col.arrowType, this.o);
          this.cols.set(name, s);
        }
        s.update(col);
        if (this.o.correlations && col.kind === 'number') numeric.push(col);
      }
      for (let a = 0; a < numeric.length; a++) {
        for (let b = a + 1; b < numeric.length; b++) {
          const ca = numeric[a]!;
          const cb = numeric[b]!;
          const key = `${ca.name}\u0000${cb.name}`;
          let st = this.co.get(key);
          if (!st) {
            st = { n: 0, sx: 0, sy: 0, sxx: 0, syy: 0, sxy: 0 };
            this.co.set(key, st);
          }
          for (let i = 0; i < ca.length; i++) {
            if (!ca.valid[i] || !cb.valid[i]) continue;
            const x = ca.nums![i]!;
            const y = cb.nums![i]!;
            st.n++;
            st.sx += x;
            st.sy += y;
            st.sxx += x * x;
            st.syy += y * y;
            st.sxy += x * y;
          }
        }
      }
      this.rows += view.numRows;
    }
  }
  finish(): Profile {
    return buildProfile(this.rows, this.cols, this.co, this.o);
  }
}

function buildProfile(
  rows: number,
  cols: Map<string, ColumnStats>,
  co: Map<string, CoState>,
  o: Required<ProfilerOptions>,
): Profile {
  const profile: Profile = { version: 1, rowCount: rows, columns: {}, options: o };
  for (const [name, s] of cols) profile.columns[name] = s.toProfile();
  if (o.correlations) {
    profile.correlations = {};
    profile.correlationState = {};
    for (const [key, st] of co) {
      const [a, b] = key.split('\u0000') as [string, string];
      profile.correlationState[key] = { ...st };
      const cov = st.sxy - (st.sx * st.sy) / st.n;
      const va = st.sxx - (st.sx * st.sx) / st.n;
      const vb = st.syy - (st.sy * st.sy) / st.n;
      const r = st.n > 1 && va > 0 && vb > 0 ? cov / Math.sqrt(va * vb) : null;
      profile.correlations[a] = { ...(profile.correlations[a] ?? {}), [b]: r };
      profile.correlations[b] = { ...(profile.correlations[b] ?? {}), [a]: r };
    }
  }
  return profile;
}

/** Merges two profiles of the same columns (e.g. two commits, or two partitions of one). */
export function mergeProfiles(a: Profile, b: Profile): Profile {
  if (a.version !== 1 || b.version !== 1)
    throw invalidInput('unknown profile version', { hint: 'profiles must come from Profiler.finish()' });
  const o = a.options;
  const cols = new Map<string, ColumnStats>();
  for (const [name, p] of Object.entries(a.columns)) cols.set(name, ColumnStats.fromProfile(p, o));
  for (const [name, p] of Object.entries(b.columns)) {
    const other = ColumnStats.fromProfile(p, o);
    const mine = cols.get(name);
    if (!mine) cols.set(name, other);
    else {
      if (mine.kind !== other.kind) {
        throw invalidInput(`column '${name}' is ${mine.kind} in one profile and ${other.kind} in the other`, {
          where: `profile column ${name}`,
          hint: 'merge profiles of the same schema only',
        });
      }
      mine.merge(other);
    }
  }
  const co = new Map<string, CoState>();
  for (const src of [a.correlationState ?? {}, b.correlationState ?? {}]) {
    for (const [k, s] of Object.entries(src)) {
      const t = co.get(k) ?? { n: 0, sx: 0, sy: 0, sxx: 0, syy: 0, sxy: 0 };
      co.set(k, { n: t.n + s.n, sx: t.sx + s.sx, sy: t.sy + s.sy, sxx: t.sxx + s.sxx, syy: t.syy + s.syy, sxy: t.sxy + s.sxy });
    }
  }
  return buildProfile(a.rowCount + b.rowCount, cols, co, o);
}

/** Hopsworks' FeatureDescriptiveStatistics DTOs (one per column). */
export function toHopsworksStatistics(profile: Profile): Record<string, unknown>[] {
  return Object.values(profile.columns).map((c) => {
    const numeric = c.kind === 'number';
    const featureType =
      c.kind === 'number'
        ? c.dtype.startsWith('int') || c.dtype.startsWith('uint')
          ? 'Integral'
          : 'Fractional'
        : c.kind === 'boolean'
          ? 'Boolean'
          : c.kind === 'string'
            ? 'String'
            : 'Unknown';
    const extended: Record<string, unknown> = {};
    if (c.histogram) {
      extended.histogram =
        c.histogram.kind === 'categorical'
          ? c.histogram.values!.map((v, i) => ({ value: v, count: c.histogram!.counts[i] }))
          : c.histogram.counts.map((count, i) => ({ value: `${c.histogram!.edges![i]}..${c.histogram!.edges![i + 1]}`, count }));
    }
    if (c.topValues) extended.topValues = c.topValues;
    const corr = profile.correlations?.[c.name];
    if (corr) extended.correlations = Object.entries(corr).map(([column, correlation]) => ({ column, correlation }));
    return {
      featureName: c.name,
      featureType,
      count: c.count,
      completeness: c.completeness,
      numNonNullValues: c.nonNullCount,
      numNullValues: c.nullCount,
      approxNumDistinctValues: c.distinctCount,
      ...(numeric ? { min: c.min, max: c.max, sum: c.sum, mean: c.mean, stddev: c.stddev, percentiles: c.percentiles } : {}),
      ...(c.distinctExact
        ? { distinctness: c.distinctness, entropy: c.entropy, uniqueness: c.uniqueness, exactNumDistinctValues: c.distinctCount }
        : {}),
      extendedStatistics: JSON.stringify(extended),
    };
  });
}
