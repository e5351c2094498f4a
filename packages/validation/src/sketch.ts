/**
 * Bounded-memory, mergeable, JSON-serializable summaries: Welford moments, HyperLogLog distinct counts, a KLL quantile
 * sketch, and an exact value buffer that turns into a KLL sketch when it grows past its limit.
 */

// ---------- hashing ----------
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The last hashes computed by hashInto (module scratch: no array per value). */
export const H = { h1: 0, h2: 0 };

/** Two independent 32-bit hashes of a number, by its float64 bits, into H. */
export function hashNumber(v: number): void {
  f64[0] = v === 0 ? 0 : v;
  H.h1 = mix32(u32[0]! ^ Math.imul(u32[1]!, 0x27d4eb2f) ^ 0x9747b28c);
  H.h2 = mix32(u32[1]! ^ Math.imul(u32[0]!, 0x165667b1) ^ 0x1b873593);
}

/** Two independent 32-bit hashes of a string, by its UTF-16 code units, into H. */
export function hashString(s: string): void {
  let h1 = 0x9747b28c;
  let h2 = 0x1b873593;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  H.h1 = mix32(h1 ^ s.length);
  H.h2 = mix32(h2 + s.length);
}

/**
 * hashString of the ASCII string whose bytes are b[s, e) (every byte < 0x80: a byte is its code unit), without the
 * string: the same two hashes.
 */
export function hashAscii(b: Uint8Array, s: number, e: number): void {
  let h1 = 0x9747b28c;
  let h2 = 0x1b873593;
  for (let i = s; i < e; i++) {
    const c = b[i]!;
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  const n = e - s;
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  H.h1 = mix32(h1 ^ n);
  H.h2 = mix32(h2 + n);
}

/** hash2 into H: strings by content, numbers by their float64 bits, anything else by its JSON. */
export function hashInto(v: unknown): void {
  if (typeof v === 'number') hashNumber(v);
  else hashString(typeof v === 'string' ? v : `\u0000${JSON.stringify(v)}`);
}

/** Two independent 32-bit hashes of a value (strings by content, numbers by their float64 bits). */
export function hash2(v: unknown): [number, number] {
  hashInto(v);
  return [H.h1, H.h2];
}

// ---------- moments ----------
export interface MomentsJSON {
  n: number;
  mean: number;
  m2: number;
  min: number | null;
  max: number | null;
  sum: number;
}

/** Count, mean and variance (Welford / Chan for merges), min, max and a compensated sum. */
export class Moments {
  n = 0;
  mean = 0;
  m2 = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  private s = 0;
  private c = 0;
  add(x: number): void {
    this.n++;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
    const t = this.s + x;
    if (Math.abs(this.s) >= Math.abs(x)) this.c += this.s - t + x;
    else this.c += x - t + this.s;
    this.s = t;
  }
  get sum(): number {
    return this.s + this.c;
  }
  /** Sample standard deviation (ddof=1), as pandas computes it; NaN below 2 values. */
  get stdev(): number {
    return this.n < 2 ? Number.NaN : Math.sqrt(this.m2 / (this.n - 1));
  }
  get populationStdev(): number {
    return this.n < 1 ? Number.NaN : Math.sqrt(this.m2 / this.n);
  }
  /**
   * The moments of n integers given by their sum and sum of squares (exact while those stay below 2^53, as string
   * lengths of a batch do): what a batch's lengths merge into a column's, the same whichever way they were read.
   */
  static ofIntegers(n: number, sum: number, sumSq: number, min: number, max: number): Moments {
    const m = new Moments();
    if (n === 0) return m;
    m.n = n;
    m.mean = sum / n;
    m.m2 = (n * sumSq - sum * sum) / n;
    m.min = min;
    m.max = max;
    m.s = sum;
    return m;
  }
  /**
   * The moments of values[0, n) (no NaN) in two tight passes: a compensated sum (the mean), then the squared
   * deviations from that mean, corrected by their sum (the "corrected two-pass" variance, at least as accurate as
   * adding the values one by one, and several times cheaper than a division per value).
   */
  static ofValues(values: Float64Array, n: number): Moments {
    const m = new Moments();
    if (n === 0) return m;
    let s = 0;
    let c = 0;
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const x = values[i]!;
      const t = s + x;
      c += Math.abs(s) >= Math.abs(x) ? s - t + x : x - t + s;
      s = t;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    const mean = (s + c) / n;
    let ss = 0;
    let d1 = 0;
    for (let i = 0; i < n; i++) {
      const d = values[i]! - mean;
      ss += d * d;
      d1 += d;
    }
    m.n = n;
    m.mean = mean;
    m.m2 = ss - (d1 * d1) / n;
    m.min = lo;
    m.max = hi;
    m.s = s;
    m.c = c;
    return m;
  }
  merge(o: Moments): void {
    if (o.n === 0) return;
    if (this.n === 0) {
      Object.assign(this, { n: o.n, mean: o.mean, m2: o.m2, min: o.min, max: o.max });
      this.s = o.s;
      this.c = o.c;
      return;
    }
    const n = this.n + o.n;
    const d = o.mean - this.mean;
    this.m2 += o.m2 + (d * d * this.n * o.n) / n;
    this.mean += (d * o.n) / n;
    this.n = n;
    this.min = Math.min(this.min, o.min);
    this.max = Math.max(this.max, o.max);
    const t = this.s + o.sum;
    this.c += Math.abs(this.s) >= Math.abs(o.sum) ? this.s - t + o.sum : o.sum - t + this.s;
    this.s = t;
  }
  toJSON(): MomentsJSON {
    return {
      n: this.n,
      mean: this.mean,
      m2: this.m2,
      min: this.n ? this.min : null,
      max: this.n ? this.max : null,
      sum: this.sum,
    };
  }
  static fromJSON(j: MomentsJSON): Moments {
    const m = new Moments();
    m.n = j.n;
    m.mean = j.mean;
    m.m2 = j.m2;
    m.min = j.min ?? Number.POSITIVE_INFINITY;
    m.max = j.max ?? Number.NEGATIVE_INFINITY;
    m.s = j.sum;
    return m;
  }
}

// ---------- HyperLogLog ----------
const HLL_P = 14;
const HLL_M = 1 << HLL_P;

/** HyperLogLog with 2^14 registers (standard error about 0.8%), linear counting for small cardinalities. */
export class HyperLogLog {
  readonly registers = new Uint8Array(HLL_M);
  add(v: unknown): void {
    hashInto(v);
    this.addHash(H.h1, H.h2);
  }
  addHash(h1: number, h2: number): void {
    const idx = h1 & (HLL_M - 1);
    const rank = h2 === 0 ? 33 : Math.clz32(h2) + 1;
    if (rank > this.registers[idx]!) this.registers[idx] = rank;
  }
  estimate(): number {
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < HLL_M; i++) {
      const r = this.registers[i]!;
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const alpha = 0.7213 / (1 + 1.079 / HLL_M);
    const e = (alpha * HLL_M * HLL_M) / sum;
    if (e <= 2.5 * HLL_M && zeros > 0) return Math.round(HLL_M * Math.log(HLL_M / zeros));
    return Math.round(e);
  }
  merge(o: HyperLogLog): void {
    for (let i = 0; i < HLL_M; i++) if (o.registers[i]! > this.registers[i]!) this.registers[i] = o.registers[i]!;
  }
  toJSON(): string {
    return Buffer.from(this.registers).toString('base64');
  }
  static fromJSON(s: string): HyperLogLog {
    const h = new HyperLogLog();
    h.registers.set(Buffer.from(s, 'base64'));
    return h;
  }
}

/** Distinct count: exact (a Set) while at most `limit` values, a HyperLogLog beyond. */
export class DistinctCounter {
  private set: Set<unknown> | null = new Set();
  private hll: HyperLogLog | null = null;
  constructor(readonly limit = 100_000) {}
  add(v: unknown): void {
    if (this.set) {
      this.set.add(v);
      if (this.set.size > this.limit) this.spill();
    } else this.hll!.add(v);
  }
  private spill(): void {
    this.hll = new HyperLogLog();
    for (const v of this.set!) this.hll.add(v);
    this.set = null;
  }
  get exact(): boolean {
    return this.set !== null;
  }
  count(): number {
    return this.set ? this.set.size : this.hll!.estimate();
  }
  values(): unknown[] | null {
    return this.set ? [...this.set] : null;
  }
  merge(o: DistinctCounter): void {
    if (o.set) for (const v of o.set) this.add(v);
    else {
      if (this.set) this.spill();
      this.hll!.merge(o.hll!);
    }
  }
  toJSON(): { exact: unknown[] } | { hll: string } {
    return this.set ? { exact: [...this.set] } : { hll: this.hll!.toJSON() };
  }
  static fromJSON(j: { exact?: unknown[]; hll?: string }, limit?: number): DistinctCounter {
    const d = new DistinctCounter(limit);
    if (j.hll) {
      d.set = null;
      d.hll = HyperLogLog.fromJSON(j.hll);
    } else for (const v of j.exact ?? []) d.add(v);
    return d;
  }
}

// ---------- sorting ----------
const RADIX_BITS = 11;
const RADIX = 1 << RADIX_BITS;
const PASSES = 6; // 6 x 11 bits cover the 64 bits of a double

/** True when `a` is already in the order `sort` gives (ascending, -0 before +0), e.g. an id column. */
function isSorted(a: Float64Array): boolean {
  if (a.length > 0 && Number.isNaN(a[0])) return false;
  for (let i = 1; i < a.length; i++) {
    const x = a[i]!;
    const prev = a[i - 1]!;
    if (!(x >= prev) || (x === 0 && prev === 0 && 1 / x < 1 / prev)) return false; // NaN too: sort() puts it last
  }
  return true;
}

let countScratch = new Uint32Array(0);

/**
 * Sorts in place, by counting, values that are integers in [lo, hi] (no -0, no NaN; hi - lo small): the order
 * sortFloat64 gives, in O(n + hi - lo).
 */
export function countingSort(a: Float64Array, lo: number, hi: number): Float64Array {
  const range = hi - lo + 1;
  if (countScratch.length < range) countScratch = new Uint32Array(range);
  const counts = countScratch;
  counts.fill(0, 0, range);
  const n = a.length;
  for (let i = 0; i < n; i++) counts[a[i]! - lo]!++;
  let w = 0;
  for (let v = 0; v < range; v++) {
    const c = counts[v]!;
    if (c === 0) continue;
    a.fill(v + lo, w, w + c);
    w += c;
  }
  return a;
}

/**
 * Sorts doubles (no NaN) ascending in place and returns the array: an LSD radix sort on the IEEE-754 bits turned
 * into unsigned order (negative: all bits flipped; positive: the sign bit flipped), 11 bits per pass, passes where
 * every value has the same digit skipped. O(n), several times faster than Float64Array.prototype.sort on big
 * arrays, and the same order (-0 before +0); small arrays use the built-in sort.
 */
export function sortFloat64(a: Float64Array): Float64Array {
  const n = a.length;
  if (isSorted(a)) return a;
  if (n < 4096) return a.sort();
  const src32 = new Uint32Array(a.buffer, a.byteOffset, n * 2);
  const tmp = new Float64Array(n);
  const tmp32 = new Uint32Array(tmp.buffer);
  const counts = new Uint32Array(RADIX * PASSES);
  for (let i = 0; i < n; i++) {
    const hi = src32[2 * i + 1]!;
    const flip = hi >>> 31 ? 0xffffffff : 0;
    const lo = (src32[2 * i]! ^ flip) >>> 0;
    const h = (hi ^ (flip | 0x80000000)) >>> 0;
    counts[lo & 0x7ff]!++;
    counts[RADIX + ((lo >>> 11) & 0x7ff)]!++;
    counts[2 * RADIX + (((lo >>> 22) | (h << 10)) & 0x7ff)]!++;
    counts[3 * RADIX + ((h >>> 1) & 0x7ff)]!++;
    counts[4 * RADIX + ((h >>> 12) & 0x7ff)]!++;
    counts[5 * RADIX + (h >>> 23)]!++;
  }
  let from: Uint32Array = src32;
  let to: Uint32Array = tmp32;
  for (let p = 0; p < PASSES; p++) {
    const base = p * RADIX;
    // skip a pass whose digit is the same for every value
    let trivial = false;
    for (let d = 0; d < RADIX; d++) {
      const c = counts[base + d]!;
      if (c === n) trivial = true;
      if (c !== 0) break;
    }
    if (trivial) continue;
    let sum = 0;
    for (let d = 0; d < RADIX; d++) {
      const c = counts[base + d]!;
      counts[base + d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const loRaw = from[2 * i]!;
      const hiRaw = from[2 * i + 1]!;
      const flip = hiRaw >>> 31 ? 0xffffffff : 0;
      const lo = (loRaw ^ flip) >>> 0;
      const h = (hiRaw ^ (flip | 0x80000000)) >>> 0;
      let d: number;
      switch (p) {
        case 0:
          d = lo & 0x7ff;
          break;
        case 1:
          d = (lo >>> 11) & 0x7ff;
          break;
        case 2:
          d = ((lo >>> 22) | (h << 10)) & 0x7ff;
          break;
        case 3:
          d = (h >>> 1) & 0x7ff;
          break;
        case 4:
          d = (h >>> 12) & 0x7ff;
          break;
        default:
          d = h >>> 23;
      }
      const at = counts[base + d]!++;
      to[2 * at] = loRaw;
      to[2 * at + 1] = hiRaw;
    }
    const t = from;
    from = to;
    to = t;
  }
  if (from !== src32) src32.set(from);
  return a;
}

// ---------- quantiles ----------
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export type Interpolation = 'linear' | 'lower' | 'higher' | 'midpoint' | 'nearest';

/** numpy/pandas quantile of sorted values (`interpolation` as in pandas' Series.quantile). */
export function quantileSorted(sorted: ArrayLike<number>, q: number, interpolation: Interpolation = 'linear'): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  switch (interpolation) {
    case 'lower':
      return a;
    case 'higher':
      return pos === lo ? a : b;
    case 'midpoint':
      return pos === lo ? a : (a + b) / 2;
    case 'nearest':
      return sorted[roundHalfEven(pos)]!;
    default:
      return pos === lo ? a : a + (b - a) * (pos - lo);
  }
}

export interface KllJSON {
  k: number;
  n: number;
  levels: number[][];
}

/** KLL quantile sketch (Karnin, Lang, Liberty 2016): mergeable; with k = 200 the rank error is about 1%. */
export class KllSketch {
  levels: number[][] = [[]];
  n = 0;
  private seed = 0x2545f491;
  /** Level capacities for the current number of levels, their sum, and the number of values held (kept in step). */
  private caps: number[] = [];
  private capTotal = 0;
  private held = 0;
  /** levels[0]'s capacity; 0 forces a resync (after levels were replaced or merged). */
  private cap0 = 0;
  constructor(readonly k = 200) {}
  /** Capacities of each level when there are `levels` of them (depends on k and the level count only). */
  private static capsCache = new Map<string, { caps: number[]; total: number }>();
  private sync(): void {
    const L = this.levels.length;
    const key = `${this.k}:${L}`;
    let c = KllSketch.capsCache.get(key);
    if (!c) {
      const caps: number[] = [];
      let total = 0;
      for (let h = 0; h < L; h++) {
        const cap = Math.max(2, Math.ceil(this.k * (2 / 3) ** (L - h - 1)));
        caps.push(cap);
        total += cap;
      }
      c = { caps, total };
      KllSketch.capsCache.set(key, c);
    }
    let held = 0;
    for (let h = 0; h < L; h++) held += this.levels[h]!.length;
    this.caps = c.caps;
    this.capTotal = c.total;
    this.held = held;
    this.cap0 = c.caps[0]!;
  }
  private coin(): number {
    this.seed ^= this.seed << 13;
    this.seed ^= this.seed >>> 17;
    this.seed ^= this.seed << 5;
    return this.seed & 1;
  }
  add(x: number): void {
    const l0 = this.levels[0]!;
    l0.push(x);
    this.n++;
    this.held++;
    if (l0.length >= this.cap0) this.compress();
  }
  /**
   * Adds a sorted run of values (a column batch) at once: the run is compacted the way a level compacts (every other
   * value, from a random first one, moves up a level at twice the weight; an odd last value stays) until at most k
   * values remain, which join the level they reached. Weights are kept exactly; each halving adds the same rank
   * error a compaction of that level adds, so the guarantees stay a KLL sketch's. Runs of at most k values are added
   * one by one.
   */
  addSorted(sorted: Float64Array): void {
    const m = sorted.length;
    if (m <= this.k) {
      for (let i = 0; i < m; i++) this.add(sorted[i]!);
      return;
    }
    let cur = sorted;
    let h = 0;
    while (cur.length > this.k) {
      while (this.levels.length <= h + 1) this.levels.push([]);
      let len = cur.length;
      if (len % 2 === 1) {
        this.levels[h]!.push(cur[len - 1]!);
        len--;
      }
      const offset = this.coin();
      const next = new Float64Array(len >> 1);
      for (let i = offset, j = 0; i < len; i += 2, j++) next[j] = cur[i]!;
      cur = next;
      h++;
    }
    const level = this.levels[h]!;
    for (let i = 0; i < cur.length; i++) level.push(cur[i]!);
    this.n += m;
    this.cap0 = 0;
    this.compress();
  }
  private compress(): void {
    if (this.caps.length !== this.levels.length || this.cap0 === 0) this.sync();
    while (this.held >= this.capTotal) {
      for (let h = 0; h < this.levels.length; h++) {
        const level = this.levels[h]!;
        if (level.length >= this.caps[h]!) {
          const grow = h + 1 >= this.levels.length;
          if (grow) this.levels.push([]);
          level.sort((a, b) => a - b);
          const offset = this.coin();
          const next = this.levels[h + 1]!;
          const keepOdd = level.length % 2 === 1 ? level.pop() : undefined;
          const before = next.length;
          for (let i = offset; i < level.length; i += 2) next.push(level[i]!);
          this.held -= level.length - (next.length - before);
          this.levels[h] = keepOdd === undefined ? [] : [keepOdd];
          if (grow) this.sync();
          break;
        }
      }
    }
  }
  merge(o: KllSketch): void {
    while (this.levels.length < o.levels.length) this.levels.push([]);
    o.levels.forEach((l, h) => {
      this.levels[h]!.push(...l);
    });
    this.n += o.n;
    this.cap0 = 0;
    this.compress();
  }
  private weighted(): { v: number[]; w: number[]; total: number } {
    const pairs: [number, number][] = [];
    this.levels.forEach((l, h) => {
      for (const x of l) pairs.push([x, 2 ** h]);
    });
    pairs.sort((a, b) => a[0] - b[0]);
    let total = 0;
    for (const p of pairs) total += p[1];
    return { v: pairs.map((p) => p[0]), w: pairs.map((p) => p[1]), total };
  }
  quantile(q: number): number {
    return this.quantiles([q])[0]!;
  }
  quantiles(qs: number[]): number[] {
    const { v, w, total } = this.weighted();
    if (v.length === 0) return qs.map(() => Number.NaN);
    return qs.map((q) => {
      const target = q * total;
      let cum = 0;
      for (let i = 0; i < v.length; i++) {
        cum += w[i]!;
        if (cum >= target) return v[i]!;
      }
      return v[v.length - 1]!;
    });
  }
  /** Estimated fraction of values <= x. */
  cdf(x: number): number {
    const { v, w, total } = this.weighted();
    if (!total) return Number.NaN;
    let cum = 0;
    for (let i = 0; i < v.length && v[i]! <= x; i++) cum += w[i]!;
    return cum / total;
  }
  toJSON(): KllJSON {
    return { k: this.k, n: this.n, levels: this.levels.map((l) => [...l]) };
  }
  static fromJSON(j: KllJSON): KllSketch {
    const s = new KllSketch(j.k);
    s.n = j.n;
    s.levels = j.levels.map((l) => [...l]);
    return s;
  }
}

/**
 * Numeric values kept exactly (a growable Float64Array, in arrival order) while at most `limit`; past the limit they
 * move into a KLL sketch and every answer becomes approximate (`exact` false).
 */
export class ValueBuffer {
  private buf: Float64Array | null = new Float64Array(1024);
  private len = 0;
  private sketch: KllSketch | null = null;
  private sortedCache: Float64Array | null = null;
  constructor(readonly limit = 5_000_000) {}
  get exact(): boolean {
    return this.buf !== null;
  }
  get count(): number {
    return this.buf ? this.len : this.sketch!.n;
  }
  add(x: number): void {
    if (this.buf) {
      if (this.len === this.buf.length) {
        if (this.len >= this.limit) {
          this.spill();
          this.sketch!.add(x);
          return;
        }
        const next = new Float64Array(Math.min(this.buf.length * 2, Math.max(this.limit, 1024)));
        next.set(this.buf);
        this.buf = next;
      }
      this.buf[this.len++] = x;
      this.sortedCache = null;
    } else this.sketch!.add(x);
  }
  private spill(): void {
    this.sketch = new KllSketch();
    for (let i = 0; i < this.len; i++) this.sketch.add(this.buf![i]!);
    this.buf = null;
    this.sortedCache = null;
  }
  /** Values in arrival order (exact mode only). */
  values(): Float64Array | null {
    return this.buf ? this.buf.subarray(0, this.len) : null;
  }
  sorted(): Float64Array | null {
    if (!this.buf) return null;
    if (!this.sortedCache) this.sortedCache = sortFloat64(Float64Array.from(this.buf.subarray(0, this.len)));
    return this.sortedCache;
  }
  quantiles(qs: number[], interpolation: Interpolation = 'linear'): number[] {
    const s = this.sorted();
    if (s) return qs.map((q) => quantileSorted(s, q, interpolation));
    return this.sketch!.quantiles(qs);
  }
  /** Fraction of values <= x. */
  cdf(x: number): number {
    const s = this.sorted();
    if (s) {
      let lo = 0;
      let hi = s.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (s[mid]! <= x) lo = mid + 1;
        else hi = mid;
      }
      return s.length ? lo / s.length : Number.NaN;
    }
    return this.sketch!.cdf(x);
  }
  toSketch(): KllSketch {
    if (this.sketch) return KllSketch.fromJSON(this.sketch.toJSON());
    const k = new KllSketch();
    for (let i = 0; i < this.len; i++) k.add(this.buf![i]!);
    return k;
  }
}
