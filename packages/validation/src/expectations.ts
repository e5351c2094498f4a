/**
 * The expectations: GE's names, kwargs and semantics (pandas engine), evaluated in one streaming pass over batches.
 * Each expectation becomes an Evaluator: `update(batch)` per record batch, `finish()` once, giving GE's `result`.
 */
import { invalidSpec } from '@strata/core';
import { AsciiTable, doubled } from './ascii-table.js';
import { type BatchView, type Col, keyAt, stringAt, toEpochMs, type Utf8View, valueAt } from './columns.js';
import { DistinctCounter, hash2, type Interpolation, Moments, sortFloat64, ValueBuffer } from './sketch.js';
import { compileStrftime } from './strftime.js';
import { type PyRegex, pyRegex } from './regex.js';

export type ResultFormat = 'BOOLEAN_ONLY' | 'BASIC' | 'SUMMARY' | 'COMPLETE';

export interface EvalOptions {
  resultFormat: ResultFormat;
  /** How many unexpected values the partial lists keep (GE: 20). */
  partialUnexpectedCount: number;
  /** COMPLETE keeps at most this many unexpected values/indices (GE keeps all). */
  unexpectedListLimit: number;
  /** Values kept exactly per column for median/quantiles/z-scores before a KLL sketch takes over. */
  exactValueLimit: number;
  /** Distinct values kept exactly per column (unique, distinct counts, modes) before sketches take over. */
  exactDistinctLimit: number;
}

export interface Outcome {
  success: boolean;
  result: Record<string, unknown>;
}

export interface Evaluator {
  /** Columns the expectation reads; missing ones make it an exception result. */
  columns: string[];
  update(b: BatchView): void;
  finish(tableColumns: string[]): Outcome;
}

/** An error inside one expectation: reported in its exception_info, never thrown out of the validator. */
export class ExpectationError extends Error {}

type Kw = Record<string, unknown>;
type Factory = (kw: Kw, o: EvalOptions, where: string) => Evaluator;

// ---------- kwargs helpers ----------
function bad(where: string, key: string, want: string, got: unknown): never {
  throw invalidSpec(`kwarg '${key}' must be ${want}, got ${JSON.stringify(got) ?? typeof got}`, {
    where: `${where}.kwargs.${key}`,
    hint: `set ${key} to ${want} (see docs/validation.md for each expectation's kwargs)`,
  });
}
const K = {
  str(kw: Kw, key: string, where: string): string {
    const v = kw[key];
    if (typeof v !== 'string' || v === '') bad(where, key, 'a non-empty string', v);
    return v;
  },
  optStr(kw: Kw, key: string, where: string): string | undefined {
    const v = kw[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') bad(where, key, 'a string', v);
    return v;
  },
  num(kw: Kw, key: string, where: string): number {
    const v = kw[key];
    if (typeof v !== 'number' || Number.isNaN(v)) bad(where, key, 'a number', v);
    return v;
  },
  optNum(kw: Kw, key: string, where: string): number | undefined {
    const v = kw[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || Number.isNaN(v)) bad(where, key, 'a number or null', v);
    return v;
  },
  bool(kw: Kw, key: string, where: string, dflt: boolean): boolean {
    const v = kw[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') bad(where, key, 'true or false', v);
    return v;
  },
  list(kw: Kw, key: string, where: string): unknown[] {
    const v = kw[key];
    if (!Array.isArray(v)) bad(where, key, 'a list', v);
    return v;
  },
  strList(kw: Kw, key: string, where: string): string[] {
    const v = K.list(kw, key, where);
    if (!v.every((x) => typeof x === 'string')) bad(where, key, 'a list of strings', v);
    return v as string[];
  },
  mostly(kw: Kw, where: string): number {
    const v = kw.mostly;
    if (v === undefined || v === null) return 1;
    if (typeof v !== 'number' || v < 0 || v > 1) bad(where, 'mostly', 'a number between 0 and 1', v);
    return v;
  },
  bound(kw: Kw, key: string, where: string): number | string | undefined {
    const v = kw[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' && !Number.isNaN(v)) return v;
    if (typeof v === 'string') return v;
    return bad(where, key, 'a number, a date string or null', v);
  },
  oneOf<T extends string>(kw: Kw, key: string, where: string, allowed: readonly T[], dflt: T): T {
    const v = kw[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'string' || !allowed.includes(v as T)) bad(where, key, `one of ${allowed.join(', ')}`, v);
    return v as T;
  },
};

// ---------- value helpers ----------
/** Converts a bound to the column's comparable domain: numbers for number/date/boolean columns, strings for strings. */
function boundFor(col: Col, v: unknown, name: string): number | string | undefined {
  if (v === undefined || v === null) return undefined;
  if (col.kind === 'date') {
    const t = toEpochMs(v);
    if (t === undefined)
      throw new ExpectationError(`${name} ${JSON.stringify(v)} is not a date/time the column '${col.name}' can be compared with`);
    return t;
  }
  if (col.kind === 'number' || col.kind === 'boolean') {
    if (typeof v === 'number') return v;
    if (typeof v === 'boolean') return v ? 1 : 0;
    throw new ExpectationError(
      `'<=' not supported between a numeric column '${col.name}' (${col.arrowType}) and ${name} ${JSON.stringify(v)}`,
    );
  }
  if (col.kind === 'string') {
    if (typeof v === 'string') return v;
    throw new ExpectationError(
      `'<=' not supported between a string column '${col.name}' and ${name} ${JSON.stringify(v)}; cast the column or use string bounds`,
    );
  }
  throw new ExpectationError(`column '${col.name}' (${col.arrowType}) cannot be compared`);
}

function cmpValue(col: Col, i: number): number | string {
  return col.nums ? col.nums[i]! : (col.vals![i] as string);
}

function requireNumeric(col: Col, type: string): void {
  if (col.kind !== 'number' && col.kind !== 'boolean' && col.kind !== 'date') {
    throw new ExpectationError(`${type} needs a numeric column; '${col.name}' is ${col.arrowType}`);
  }
}

function between(
  value: number | string,
  min: number | string | undefined,
  max: number | string | undefined,
  strictMin: boolean,
  strictMax: boolean,
): boolean {
  if (min !== undefined && (strictMin ? !(value > min) : !(value >= min))) return false;
  if (max !== undefined && (strictMax ? !(value < max) : !(value <= max))) return false;
  return true;
}

function asText(col: Col, i: number): string {
  if (col.kind === 'string') return stringAt(col, i);
  const v = valueAt(col, i);
  if (col.kind === 'boolean') return v ? 'True' : 'False';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

// ---------- map expectations ----------
class MapAcc {
  element = 0;
  missing = 0;
  unexpected = 0;
  values: unknown[] = [];
  indices: number[] = [];
  constructor(private readonly o: EvalOptions) {}
  private get cap(): number {
    return this.o.resultFormat === 'COMPLETE'
      ? Math.max(this.o.unexpectedListLimit, this.o.partialUnexpectedCount)
      : this.o.partialUnexpectedCount;
  }
  hit(value: unknown, index: number): void {
    this.unexpected++;
    if (this.values.length < this.cap) {
      this.values.push(value);
      this.indices.push(index);
    }
  }
  /** Whether the next hit's value is kept (the lists are not full yet). */
  keeps(): boolean {
    return this.values.length < this.cap;
  }
  /** hit() with row i of col, whose value is read only when it is kept. */
  hitRow(col: Col, i: number, index: number): void {
    this.unexpected++;
    if (this.values.length < this.cap) {
      this.values.push(valueAt(col, i));
      this.indices.push(index);
    }
  }
  /** GE's _format_map_output. `nonnull` undefined means "no missing accounting" (not_be_null / be_null). */
  output(success: boolean, nonnull: number | undefined): Outcome {
    const o = this.o;
    if (o.resultFormat === 'BOOLEAN_ONLY') return { success, result: {} };
    const el = this.element;
    const result: Record<string, unknown> = {};
    let pctTotal: number | null = null;
    let pctNonmissing: number | null = null;
    let missingPct: number | null = null;
    if (el > 0) {
      pctTotal = (this.unexpected / el) * 100;
      if (nonnull !== undefined) {
        missingPct = ((el - nonnull) / el) * 100;
        pctNonmissing = nonnull > 0 ? (this.unexpected / nonnull) * 100 : null;
      } else pctNonmissing = pctTotal;
    }
    result.element_count = el;
    result.unexpected_count = this.unexpected;
    result.unexpected_percent = pctNonmissing;
    const partial = this.values.slice(0, o.partialUnexpectedCount);
    result.partial_unexpected_list = partial;
    if (nonnull !== undefined) {
      result.missing_count = el - nonnull;
      result.missing_percent = missingPct;
      result.unexpected_percent_total = pctTotal;
      result.unexpected_percent_nonmissing = pctNonmissing;
    }
    if (o.resultFormat === 'BASIC') return { success, result };
    const source = o.resultFormat === 'COMPLETE' ? this.values : partial;
    result.partial_unexpected_counts = countValues(source).slice(0, o.partialUnexpectedCount);
    result.partial_unexpected_index_list = this.indices.slice(0, o.partialUnexpectedCount);
    if (o.resultFormat === 'COMPLETE') {
      result.unexpected_list = this.values;
      result.unexpected_index_list = this.indices;
      if (this.unexpected > this.values.length) result.unexpected_list_truncated_at = this.values.length;
    }
    return { success, result };
  }
}

function countValues(values: unknown[]): { value: unknown; count: number }[] {
  const m = new Map<string, { value: unknown; count: number }>();
  for (const v of values) {
    const k = JSON.stringify(v) ?? 'null';
    const e = m.get(k);
    if (e) e.count++;
    else m.set(k, { value: v, count: 1 });
  }
  return [...m.values()].sort((a, b) => b.count - a.count || compareAny(a.value, b.value));
}

export function compareAny(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = typeof a === 'string' ? a : JSON.stringify(a);
  const sb = typeof b === 'string' ? b : JSON.stringify(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function mostlySuccess(considered: number, unexpected: number, mostly: number): boolean {
  if (considered === 0) return true;
  return (considered - unexpected) / considered >= mostly;
}

/** Distinct values whose verdict a column map expectation remembers. */
const MEMO_SIZE = 8192;

/**
 * Per-row tests whose verdicts for the whole batch were computed at once (1: unexpected): columnMap reads the array
 * instead of calling the test, and does not memoise them (they are cheaper than a look-up).
 */
const batchVerdicts = new WeakMap<(i: number) => boolean, Uint8Array>();

/** The regex test of a column that has its UTF-8 bytes, on the bytes (true = unexpected when `unexpectedIfNot`). */
function utf8Test(col: Col, rx: PyRegex, unexpectedIfNot: boolean): ((i: number) => boolean) | undefined {
  const u = col.utf8;
  const rows = rx.testUtf8Rows;
  if (!u || !rows || col.kind !== 'string') return undefined;
  // every row's verdict in one call (missing rows too: their verdict is never read)
  const out = new Uint8Array(col.length);
  rows(u.bytes, u.offsets, col.length, out);
  // 1: the value matches; unexpected is the opposite for the "match" expectations
  if (unexpectedIfNot) for (let i = 0; i < out.length; i++) out[i] = 1 - out[i]!;
  const test = (i: number) => out[i] === 1;
  batchVerdicts.set(test, out);
  return test;
}

/**
 * A column map expectation: `prepare(col)` returns a per-row test (true = unexpected) applied to present values only;
 * missing values (null/NaN) are neither expected nor unexpected, and `mostly` counts over present values (GE).
 */
function columnMap(
  kw: Kw,
  o: EvalOptions,
  where: string,
  prepare: (col: Col, b: BatchView) => (i: number) => boolean,
  /** The test depends on the value only: on string columns, verdicts are memoised while values repeat. */
  pure = false,
): Evaluator {
  const column = K.str(kw, 'column', where);
  const mostly = K.mostly(kw, where);
  const acc = new MapAcc(o);
  let nonnull = 0;
  const memo = new Map<string, boolean>();
  // the same memo keyed by the value's bytes, for ASCII columns whose strings are not made
  const byteMemo = new AsciiTable();
  let verdicts = new Uint8Array(64);
  let memoOn = pure;
  let lookups = 0;
  let hits = 0;
  /** Every present row's verdict (1: unexpected) through the byte memo, in one loop over the batch. */
  const memoRows = (u: Utf8View, valid: Uint8Array, n: number, raw: (i: number) => boolean): Uint8Array => {
    const { bytes, offsets } = u;
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (!valid[i]) continue;
      const s = offsets[i]!;
      const e = offsets[i + 1]!;
      lookups++;
      const at = byteMemo.find(bytes, s, e);
      if (at >= 0) {
        hits++;
        out[i] = verdicts[at]!;
        continue;
      }
      const r = raw(i) ? 1 : 0;
      out[i] = r;
      if (byteMemo.size < MEMO_SIZE) {
        const k = byteMemo.insert(bytes, s, e);
        if (k >= verdicts.length) verdicts = doubled(verdicts);
        verdicts[k] = r;
      }
    }
    return out;
  };
  return {
    columns: [column],
    update(b) {
      const col = b.col(column);
      const raw = prepare(col, b);
      const { valid, length } = col;
      // the verdicts of the whole batch at once where they can be had that way (1: unexpected), else row by row
      let rows = batchVerdicts.get(raw);
      let test = raw;
      if (!rows && memoOn && col.kind === 'string') {
        const u = col.utf8;
        if (u?.ascii && !col.madeVals) rows = memoRows(u, valid, length, raw);
        else {
          const vals = col.vals as string[];
          test = (i) => {
            const v = vals[i]!;
            lookups++;
            const m = memo.get(v);
            if (m !== undefined) {
              hits++;
              return m;
            }
            const r = raw(i);
            if (memo.size < MEMO_SIZE) memo.set(v, r);
            return r;
          };
        }
      }
      acc.element += length;
      if (rows) {
        for (let i = 0; i < length; i++) {
          if (!valid[i]) continue;
          nonnull++;
          if (rows[i]) acc.hitRow(col, i, b.rowOffset + i);
        }
      } else {
        for (let i = 0; i < length; i++) {
          if (!valid[i]) continue;
          nonnull++;
          if (test(i)) acc.hitRow(col, i, b.rowOffset + i);
        }
      }
      // values rarely repeat (ids, e-mails): stop memoising
      if (memoOn && lookups > 50_000 && hits < lookups / 2) {
        memoOn = false;
        memo.clear();
        byteMemo.clear();
      }
    },
    finish() {
      return acc.output(acc.element === 0 || nonnull === 0 ? true : mostlySuccess(nonnull, acc.unexpected, mostly), nonnull);
    },
  };
}

// ---------- aggregate helpers ----------
function aggregateBetween(kw: Kw, where: string) {
  const min = K.bound(kw, 'min_value', where);
  const max = K.bound(kw, 'max_value', where);
  const strictMin = K.bool(kw, 'strict_min', where, false);
  const strictMax = K.bool(kw, 'strict_max', where, false);
  return (observed: number | null | undefined, dates = false): Outcome => {
    if (observed === null || observed === undefined || Number.isNaN(observed))
      return { success: false, result: { observed_value: null } };
    const lo = min === undefined ? undefined : dates ? toEpochMs(min) : typeof min === 'number' ? min : Number.NaN;
    const hi = max === undefined ? undefined : dates ? toEpochMs(max) : typeof max === 'number' ? max : Number.NaN;
    if (Number.isNaN(lo) || Number.isNaN(hi))
      throw new ExpectationError('min_value/max_value must be numbers for a numeric statistic');
    const success = between(observed, lo, hi, strictMin, strictMax);
    return { success, result: { observed_value: dates ? new Date(observed).toISOString() : observed } };
  };
}

function numericStat(
  kw: Kw,
  o: EvalOptions,
  where: string,
  type: string,
  needValues: boolean,
  compute: (m: Moments, vb: ValueBuffer | null) => number | null,
  datesKeepType = false,
): Evaluator {
  const column = K.str(kw, 'column', where);
  const check = aggregateBetween(kw, where);
  const m = new Moments();
  const vb = needValues ? new ValueBuffer(o.exactValueLimit) : null;
  let isDate = false;
  return {
    columns: [column],
    update(b) {
      const col = b.col(column);
      requireNumeric(col, type);
      isDate = col.kind === 'date';
      const { nums, valid, length } = col;
      for (let i = 0; i < length; i++) {
        if (!valid[i]) continue;
        const x = nums![i]!;
        m.add(x);
        vb?.add(x);
      }
    },
    finish() {
      const out = check(m.n === 0 ? null : compute(m, vb), datesKeepType && isDate);
      if (vb && !vb.exact) out.result.details = { approximate: true, method: 'KLL sketch', values_seen: vb.count };
      return out;
    },
  };
}

/** Exact distinct value counts while small; past the limit, counts of the first `limit` keys only (approximate). */
class ValueCounts {
  readonly counts = new Map<string | number | boolean, number>();
  exact = true;
  constructor(readonly limit: number) {}
  add(k: string | number | boolean): void {
    const c = this.counts.get(k);
    if (c !== undefined) this.counts.set(k, c + 1);
    else if (this.counts.size < this.limit) this.counts.set(k, 1);
    else this.exact = false;
  }
}

// ---------- type names ----------
const INT_TYPES = ['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64'];
function typeMatches(expected: string, col: Col): boolean {
  const e = expected.trim();
  const l = e.toLowerCase();
  const dtype = col.dtype;
  const aliases: Record<string, string[]> = {
    int: ['int64'],
    int_: ['int64'],
    long: ['int64'],
    integer: INT_TYPES,
    number: [...INT_TYPES, 'float16', 'float32', 'float64'],
    numeric: [...INT_TYPES, 'float16', 'float32', 'float64'],
    float: ['float64'],
    float_: ['float64'],
    double: ['float64'],
    floating: ['float16', 'float32', 'float64'],
    bool: ['bool'],
    bool_: ['bool'],
    boolean: ['bool'],
    str: ['object'],
    string: ['object'],
    object: ['object'],
    object_: ['object'],
    utf8: ['object'],
    largeutf8: ['object'],
    unicode: ['object'],
    unix_timestamp: ['datetime64[ns]'],
    datetime: ['datetime64[ns]'],
    datetime64: ['datetime64[ns]'],
    'datetime64[ns]': ['datetime64[ns]'],
    'datetime64[us]': ['datetime64[ns]'],
    'datetime64[ms]': ['datetime64[ns]'],
    timestamp: ['datetime64[ns]'],
    date: ['datetime64[ns]'],
    float32: ['float32'],
    float64: ['float64'],
    float16: ['float16'],
  };
  for (const t of INT_TYPES) aliases[t] = [t];
  if (col.kind === 'other') return l === 'object' || l === 'list' || l === col.arrowType.toLowerCase();
  if (l === col.arrowType.toLowerCase()) return true;
  const list = aliases[l] ?? (l.startsWith('timestamp') ? ['datetime64[ns]'] : undefined);
  return list ? list.includes(dtype) : false;
}

function typeExpectation(types: string[], kw: Kw, o: EvalOptions, where: string): Evaluator {
  const column = K.str(kw, 'column', where);
  const mostly = K.mostly(kw, where);
  const acc = new MapAcc(o);
  let nonnull = 0;
  let col0: Col | undefined;
  return {
    columns: [column],
    update(b) {
      const col = b.col(column);
      col0 ??= col;
      acc.element += col.length;
      if (col.kind === 'string' || col.kind === 'other') {
        const ok = types.some((t) => typeMatches(t, col));
        for (let i = 0; i < col.length; i++) {
          if (!col.valid[i]) continue;
          nonnull++;
          if (!ok) acc.hit(valueAt(col, i), b.rowOffset + i);
        }
      }
    },
    finish() {
      if (!col0) return { success: false, result: { observed_value: null } };
      if (col0.kind === 'string' || col0.kind === 'other') {
        return acc.output(acc.element === 0 || nonnull === 0 ? true : mostlySuccess(nonnull, acc.unexpected, mostly), nonnull);
      }
      return { success: types.some((t) => typeMatches(t, col0!)), result: { observed_value: col0.dtype } };
    },
  };
}

// ---------- multi-column ----------
type IgnoreRow =
  | 'both_values_are_missing'
  | 'either_value_is_missing'
  | 'neither'
  | 'all_values_are_missing'
  | 'any_value_is_missing'
  | 'never';

function multiMap(
  columns: string[],
  kw: Kw,
  o: EvalOptions,
  where: string,
  ignore: IgnoreRow,
  prepare: (cols: Col[]) => (i: number) => boolean,
  rowValue: (cols: Col[], i: number) => unknown,
): Evaluator & { acc: MapAcc } {
  const mostly = K.mostly(kw, where);
  const acc = new MapAcc(o);
  let considered = 0;
  return {
    acc,
    columns,
    update(b) {
      const cols = columns.map((c) => b.col(c));
      const test = prepare(cols);
      const n = b.numRows;
      acc.element += n;
      // rows skipped: those missing every value (1), any value (2), or none (0)
      const rule =
        ignore === 'both_values_are_missing' || ignore === 'all_values_are_missing'
          ? 1
          : ignore === 'either_value_is_missing' || ignore === 'any_value_is_missing'
            ? 2
            : 0;
      const valids = cols.map((c) => c.valid);
      const k = valids.length;
      for (let i = 0; i < n; i++) {
        if (rule !== 0) {
          let missing = 0;
          for (let j = 0; j < k; j++) if (!valids[j]![i]) missing++;
          if (rule === 1 ? missing === k : missing > 0) continue;
        }
        considered++;
        if (test(i)) {
          // the row's values are read only for the unexpected rows the result lists
          if (acc.keeps()) acc.hit(rowValue(cols, i), b.rowOffset + i);
          else acc.unexpected++;
        }
      }
    },
    finish() {
      return acc.output(
        acc.element === 0 || considered === 0 ? true : mostlySuccess(considered, acc.unexpected, mostly),
        considered,
      );
    },
  };
}

function pairValue(cols: Col[], i: number): unknown[] {
  return cols.map((c) => valueAt(c, i));
}

function kindsComparable(a: Col, b: Col): void {
  const numeric = (c: Col) => c.kind === 'number' || c.kind === 'boolean';
  if (numeric(a) && numeric(b)) return;
  if (a.kind === b.kind && a.kind !== 'other') return;
  throw new ExpectationError(`columns '${a.name}' (${a.arrowType}) and '${b.name}' (${b.arrowType}) cannot be compared`);
}

// ---------- KL divergence ----------
function entropy(pk: number[], qk: number[]): number {
  const ps = pk.reduce((a, b) => a + b, 0);
  const qs = qk.reduce((a, b) => a + b, 0);
  let s = 0;
  for (let i = 0; i < pk.length; i++) {
    const p = pk[i]! / ps;
    const q = qk[i]! / qs;
    if (p > 0) s += q > 0 ? p * Math.log(p / q) : Number.POSITIVE_INFINITY;
  }
  return s;
}

function klExpectation(kw: Kw, o: EvalOptions, where: string): Evaluator {
  const column = K.str(kw, 'column', where);
  const po = kw.partition_object as Record<string, unknown> | null | undefined;
  const threshold = K.optNum(kw, 'threshold', where);
  const tailHoldout = K.optNum(kw, 'tail_weight_holdout', where) ?? 0;
  const internalHoldout = K.optNum(kw, 'internal_weight_holdout', where) ?? 0;
  if (!po || typeof po !== 'object' || !Array.isArray(po.weights)) {
    bad(where, 'partition_object', 'an object with "weights" and "values" (categorical) or "bins" (continuous)', po);
  }
  const weights = po.weights as number[];
  const categorical = Array.isArray(po.values);
  const bins = categorical ? [] : (po.bins as number[]);
  if (!categorical && (!Array.isArray(bins) || bins.length !== weights.length + 1)) {
    bad(where, 'partition_object', 'bins with one more edge than weights', po);
  }
  if (threshold !== undefined && threshold < 0) bad(where, 'threshold', 'a number >= 0', threshold);
  const counts = new ValueCounts(o.exactDistinctLimit);
  const hist = new Array<number>(weights.length).fill(0);
  let below = 0;
  let above = 0;
  let nonnull = 0;
  return {
    columns: [column],
    update(b) {
      const col = b.col(column);
      if (!categorical) requireNumeric(col, 'expect_column_kl_divergence_to_be_less_than');
      for (let i = 0; i < col.length; i++) {
        if (!col.valid[i]) continue;
        nonnull++;
        if (categorical) counts.add(keyAt(col, i));
        else {
          const x = col.nums![i]!;
          if (x < bins[0]!) below++;
          else if (x > bins[bins.length - 1]!) above++;
          else {
            let lo = 0;
            let hi = bins.length - 1;
            while (hi - lo > 1) {
              const mid = (lo + hi) >> 1;
              if (x >= bins[mid]!) lo = mid;
              else hi = mid;
            }
            hist[lo]!++;
          }
        }
      }
    },
    finish() {
      let kl: number;
      let details: Record<string, unknown>;
      if (categorical) {
        if (internalHoldout > 0) throw new ExpectationError('Internal weight holdout cannot be used for discrete data.');
        const values = po.values as unknown[];
        const keys: unknown[] = [...values];
        const seen = new Set(values.map((v) => JSON.stringify(v)));
        for (const k of counts.counts.keys()) if (!seen.has(JSON.stringify(k))) keys.push(k);
        const pk = keys.map((k) => (counts.counts.get(k as string) ?? 0) / (nonnull || 1));
        const missingExpected = keys.length - values.length;
        const qk = keys.map((_, i) =>
          i < values.length
            ? missingExpected > 0
              ? weights[i]! * (1 - tailHoldout)
              : weights[i]!
            : tailHoldout / missingExpected,
        );
        kl = entropy(pk, qk);
        details = { observed_partition: { values: keys, weights: pk }, expected_partition: { values: keys, weights: qk } };
      } else {
        if (bins[0] === Number.NEGATIVE_INFINITY || bins[bins.length - 1] === Number.POSITIVE_INFINITY) {
          throw new ExpectationError('partitions with infinite endpoints are not supported; use finite bins and tail_weights');
        }
        const exp = weights.map((w) => w * (1 - tailHoldout - internalHoldout));
        if (internalHoldout > 0) {
          const zeros = exp.filter((w) => w === 0).length;
          if (zeros > 0) for (let i = 0; i < exp.length; i++) if (exp[i] === 0) exp[i] = internalHoldout / zeros;
        }
        const tails = Array.isArray(po.tail_weights) ? (po.tail_weights as number[]) : [tailHoldout / 2, tailHoldout / 2];
        const n = nonnull || 1;
        const obs = hist.map((h) => h / n);
        kl = entropy([below / n, ...obs, above / n], [tails[0]!, ...exp, tails[1]!]);
        details = {
          observed_partition: { bins, weights: obs, tail_weights: [below / n, above / n] },
          expected_partition: { bins, weights: exp, tail_weights: tails },
        };
      }
      const finite = Number.isFinite(kl);
      return {
        success: threshold === undefined ? true : finite && kl <= threshold,
        result: { observed_value: finite ? kl : null, details },
      };
    },
  };
}

// ---------- the registry ----------
/** Values (not) to be null: every row counts; an unexpected row is a null (or, for `wantNull`, a value). */
function nullness(kw: Kw, o: EvalOptions, where: string, wantNull: boolean): Evaluator {
  const column = K.str(kw, 'column', where);
  const mostly = K.mostly(kw, where);
  const acc = new MapAcc(o);
  return {
    columns: [column],
    update(b) {
      const col = b.col(column);
      acc.element += col.length;
      for (let i = 0; i < col.length; i++) {
        if (Boolean(col.valid[i]) === wantNull) acc.hit(wantNull ? valueAt(col, i) : null, b.rowOffset + i);
      }
    },
    finish: () => acc.output(acc.element === 0 ? true : mostlySuccess(acc.element, acc.unexpected, mostly), undefined),
  };
}

/** The two columns of a column-pair expectation and which rows with missing values it skips. */
function pairArgs(kw: Kw, where: string) {
  return {
    a: K.str(kw, 'column_A', where),
    b: K.str(kw, 'column_B', where),
    ignore: K.oneOf(
      kw,
      'ignore_row_if',
      where,
      ['both_values_are_missing', 'either_value_is_missing', 'neither'] as const,
      'both_values_are_missing',
    ),
  };
}

const REGISTRY: Record<string, Factory> = {
  // table
  expect_table_row_count_to_be_between: (kw, _o, where) => {
    const check = aggregateBetween(kw, where);
    let rows = 0;
    return {
      columns: [],
      update: (b) => {
        rows += b.numRows;
      },
      finish: () => check(rows),
    };
  },
  expect_table_row_count_to_equal: (kw, _o, where) => {
    const value = K.num(kw, 'value', where);
    let rows = 0;
    return {
      columns: [],
      update: (b) => {
        rows += b.numRows;
      },
      finish: () => ({ success: rows === value, result: { observed_value: rows } }),
    };
  },
  expect_table_columns_to_match_ordered_list: (kw, _o, where) => {
    const list = kw.column_list === null || kw.column_list === undefined ? null : K.strList(kw, 'column_list', where);
    return {
      columns: [],
      update() {},
      finish(actual) {
        if (!list || JSON.stringify(actual) === JSON.stringify(list))
          return { success: true, result: { observed_value: actual } };
        const mismatched = [];
        for (let i = 0; i < Math.max(list.length, actual.length); i++) {
          if (list[i] !== actual[i])
            mismatched.push({ 'Expected Column Position': i, Expected: list[i] ?? null, Found: actual[i] ?? null });
        }
        return { success: false, result: { observed_value: actual, details: { mismatched } } };
      },
    };
  },
  expect_table_columns_to_match_set: (kw, _o, where) => {
    const set = kw.column_set === null || kw.column_set === undefined ? null : K.strList(kw, 'column_set', where);
    const exact = K.bool(kw, 'exact_match', where, true);
    return {
      columns: [],
      update() {},
      finish(actual) {
        const observed = [...actual].sort();
        if (!set) return { success: !exact || true, result: { observed_value: observed } };
        const unexpected = actual.filter((c) => !set.includes(c)).sort();
        const missing = set.filter((c) => !actual.includes(c)).sort();
        if (!unexpected.length && !missing.length) return { success: true, result: { observed_value: observed } };
        const mismatched: Record<string, string[]> = {};
        if (unexpected.length) mismatched.unexpected = unexpected;
        if (missing.length) mismatched.missing = missing;
        return { success: exact ? false : missing.length === 0, result: { observed_value: observed, details: { mismatched } } };
      },
    };
  },
  expect_table_column_count_to_be_between: (kw, _o, where) => {
    const check = aggregateBetween(kw, where);
    return { columns: [], update() {}, finish: (actual) => check(actual.length) };
  },
  expect_table_column_count_to_equal: (kw, _o, where) => {
    const value = K.num(kw, 'value', where);
    return {
      columns: [],
      update() {},
      finish: (actual) => ({ success: actual.length === value, result: { observed_value: actual.length } }),
    };
  },
  expect_column_to_exist: (kw, _o, where) => {
    const column = K.str(kw, 'column', where);
    const index = K.optNum(kw, 'column_index', where);
    return {
      columns: [],
      update() {},
      finish: (actual) => ({ success: index ? actual[index] === column : actual.includes(column), result: {} }),
    };
  },

  // nulls
  expect_column_values_to_not_be_null: (kw, o, where) => nullness(kw, o, where, false),
  expect_column_values_to_be_null: (kw, o, where) => nullness(kw, o, where, true),

  // values
  expect_column_values_to_be_between: (kw, o, where) => {
    const min = K.bound(kw, 'min_value', where);
    const max = K.bound(kw, 'max_value', where);
    const strictMin = K.bool(kw, 'strict_min', where, false);
    const strictMax = K.bool(kw, 'strict_max', where, false);
    return columnMap(kw, o, where, (col) => {
      if (min === undefined && max === undefined) throw new ExpectationError('min_value and max_value cannot both be None');
      const lo = boundFor(col, min, 'min_value');
      const hi = boundFor(col, max, 'max_value');
      if (lo !== undefined && hi !== undefined && lo > hi)
        throw new ExpectationError('min_value cannot be greater than max_value');
      if (col.nums) {
        const nums = col.nums;
        const l = lo as number | undefined;
        const h = hi as number | undefined;
        return (i) => !between(nums[i]!, l, h, strictMin, strictMax);
      }
      return (i) => !between(cmpValue(col, i), lo, hi, strictMin, strictMax);
    });
  },
  expect_column_values_to_be_in_set: (kw, o, where) => {
    const set = K.list(kw, 'value_set', where);
    return columnMap(
      kw,
      o,
      where,
      (col) => {
        const s = setFor(col, set);
        return (i) => !s.has(keyAt(col, i));
      },
      true,
    );
  },
  expect_column_values_to_not_be_in_set: (kw, o, where) => {
    const set = K.list(kw, 'value_set', where);
    return columnMap(
      kw,
      o,
      where,
      (col) => {
        const s = setFor(col, set);
        return (i) => s.has(keyAt(col, i));
      },
      true,
    );
  },
  expect_column_values_to_match_regex: (kw, o, where) => {
    const rx = pyRegex(K.str(kw, 'regex', where), `${where}.kwargs.regex`);
    return columnMap(kw, o, where, (col) => utf8Test(col, rx, true) ?? ((i) => !rx.test(asText(col, i))), true);
  },
  expect_column_values_to_not_match_regex: (kw, o, where) => {
    const rx = pyRegex(K.str(kw, 'regex', where), `${where}.kwargs.regex`);
    return columnMap(kw, o, where, (col) => utf8Test(col, rx, false) ?? ((i) => rx.test(asText(col, i))), true);
  },
  expect_column_values_to_match_regex_list: (kw, o, where) => {
    const rxs = K.strList(kw, 'regex_list', where).map((r) => pyRegex(r, `${where}.kwargs.regex_list`));
    const on = K.oneOf(kw, 'match_on', where, ['any', 'all'] as const, 'any');
    return columnMap(
      kw,
      o,
      where,
      (col) => (i) => {
        const s = asText(col, i);
        return on === 'any' ? !rxs.some((r) => r.test(s)) : !rxs.every((r) => r.test(s));
      },
      true,
    );
  },
  expect_column_values_to_not_match_regex_list: (kw, o, where) => {
    const rxs = K.strList(kw, 'regex_list', where).map((r) => pyRegex(r, `${where}.kwargs.regex_list`));
    return columnMap(
      kw,
      o,
      where,
      (col) => (i) => {
        const s = asText(col, i);
        return rxs.some((r) => r.test(s));
      },
      true,
    );
  },
  expect_column_values_to_be_of_type: (kw, o, where) => typeExpectation([K.str(kw, 'type_', where)], kw, o, where),
  expect_column_values_to_be_in_type_list: (kw, o, where) => typeExpectation(K.strList(kw, 'type_list', where), kw, o, where),
  expect_column_value_lengths_to_be_between: (kw, o, where) => {
    const min = K.optNum(kw, 'min_value', where);
    const max = K.optNum(kw, 'max_value', where);
    const strictMin = K.bool(kw, 'strict_min', where, false);
    const strictMax = K.bool(kw, 'strict_max', where, false);
    if (min === undefined && max === undefined) bad(where, 'min_value', 'a number when max_value is null', null);
    return columnMap(
      kw,
      o,
      where,
      (col) => {
        if (col.kind !== 'string')
          throw new ExpectationError(`value lengths need a string column; '${col.name}' is ${col.arrowType}`);
        return (i) => !between(strLen(col.vals![i] as string), min, max, strictMin, strictMax);
      },
      true,
    );
  },
  expect_column_value_lengths_to_equal: (kw, o, where) => {
    const value = K.num(kw, 'value', where);
    return columnMap(
      kw,
      o,
      where,
      (col) => {
        if (col.kind !== 'string')
          throw new ExpectationError(`value lengths need a string column; '${col.name}' is ${col.arrowType}`);
        return (i) => strLen(col.vals![i] as string) !== value;
      },
      true,
    );
  },
  expect_column_values_to_match_strftime_format: (kw, o, where) => {
    const fmt = K.str(kw, 'strftime_format', where);
    let match: (s: string) => boolean;
    try {
      match = compileStrftime(fmt);
    } catch (err) {
      throw invalidSpec(`invalid strftime_format: ${(err as Error).message}`, {
        where: `${where}.kwargs.strftime_format`,
        hint: 'use Python strftime directives such as %Y-%m-%d',
      });
    }
    return columnMap(
      kw,
      o,
      where,
      (col) => {
        if (col.kind !== 'string')
          throw new ExpectationError(`strptime() argument 1 must be str; column '${col.name}' is ${col.arrowType}`);
        return (i) => !match(stringAt(col, i));
      },
      true,
    );
  },
  expect_column_values_to_be_increasing: (kw, o, where) => monotonic(kw, o, where, 1),
  expect_column_values_to_be_decreasing: (kw, o, where) => monotonic(kw, o, where, -1),
  expect_column_values_to_be_unique: (kw, o, where) => {
    const column = K.str(kw, 'column', where);
    const mostly = K.mostly(kw, where);
    const u = new DupTracker(o);
    const nd = new NumericDup(o);
    let numeric: boolean | undefined;
    let isDate = false;
    let nonnull = 0;
    let element = 0;
    return {
      columns: [column],
      update(b) {
        const col = b.col(column);
        element += col.length;
        numeric ??= col.kind === 'number' || col.kind === 'date' || col.kind === 'string';
        isDate = col.kind === 'date';
        for (let i = 0; i < col.length; i++) {
          if (!col.valid[i]) continue;
          nonnull++;
          if (col.kind === 'string') nd.addString(col.vals![i] as string, b.rowOffset + i);
          else if (numeric) nd.add(col.nums![i]!, b.rowOffset + i);
          else u.add(keyAt(col, i), valueAt(col, i), b.rowOffset + i);
        }
      },
      finish() {
        const acc = numeric ? nd.toAcc(element, isDate) : u.toAcc(element);
        if (numeric && !nd.exact) u.exact = false;
        const out = acc.output(element === 0 || nonnull === 0 ? true : mostlySuccess(nonnull, acc.unexpected, mostly), nonnull);
        if (!u.exact) out.result.details = { approximate: true, reason: `more than ${o.exactDistinctLimit} distinct values` };
        return out;
      },
    };
  },
  expect_column_value_z_scores_to_be_less_than: (kw, o, where) => {
    const column = K.str(kw, 'column', where);
    const threshold = K.num(kw, 'threshold', where);
    const doubleSided = K.bool(kw, 'double_sided', where, false);
    const mostly = K.mostly(kw, where);
    const m = new Moments();
    const vals = new ValueBuffer(o.exactValueLimit);
    const idx = new ValueBuffer(o.exactValueLimit);
    let element = 0;
    return {
      columns: [column],
      update(b) {
        const col = b.col(column);
        if (col.kind !== 'number' && col.kind !== 'boolean')
          throw new ExpectationError('Cannot complete Z-score calculations on a non-numerical column.');
        element += col.length;
        for (let i = 0; i < col.length; i++) {
          if (!col.valid[i]) continue;
          const x = col.nums![i]!;
          m.add(x);
          vals.add(x);
          idx.add(b.rowOffset + i);
        }
      },
      finish() {
        const acc = new MapAcc(o);
        acc.element = element;
        const sd = m.stdev;
        const ok = (z: number) => Number.isNaN(z) || (doubleSided ? Math.abs(z) < Math.abs(threshold) : z < threshold);
        const v = vals.values();
        const ix = idx.values();
        let approximate = false;
        if (sd === 0 || !Number.isFinite(sd)) {
          // undefined z-scores meet the expectation (GE)
        } else if (v && ix) {
          for (let i = 0; i < v.length; i++) if (!ok((v[i]! - m.mean) / sd)) acc.hit(v[i], ix[i]!);
        } else {
          approximate = true;
          const t = Math.abs(threshold);
          const hiCut = m.mean + (doubleSided ? t : threshold) * sd;
          const above = Math.round((1 - vals.cdf(hiCut)) * m.n);
          const below = doubleSided ? Math.round(vals.cdf(m.mean - t * sd) * m.n) : 0;
          acc.unexpected = above + below;
        }
        const out = acc.output(element === 0 || m.n === 0 ? true : mostlySuccess(m.n, acc.unexpected, mostly), m.n);
        if (approximate) out.result.details = { approximate: true, method: 'KLL sketch CDF' };
        return out;
      },
    };
  },

  // aggregates
  expect_column_mean_to_be_between: (kw, o, w) => numericStat(kw, o, w, 'expect_column_mean_to_be_between', false, (m) => m.mean),
  expect_column_stdev_to_be_between: (kw, o, w) =>
    numericStat(kw, o, w, 'expect_column_stdev_to_be_between', false, (m) => (m.n < 2 ? null : m.stdev)),
  expect_column_sum_to_be_between: (kw, o, w) => numericStat(kw, o, w, 'expect_column_sum_to_be_between', false, (m) => m.sum),
  expect_column_min_to_be_between: (kw, o, w) =>
    numericStat(kw, o, w, 'expect_column_min_to_be_between', false, (m) => m.min, true),
  expect_column_max_to_be_between: (kw, o, w) =>
    numericStat(kw, o, w, 'expect_column_max_to_be_between', false, (m) => m.max, true),
  expect_column_median_to_be_between: (kw, o, w) =>
    numericStat(kw, o, w, 'expect_column_median_to_be_between', true, (_m, vb) => vb!.quantiles([0.5], 'linear')[0]!),
  expect_column_quantile_values_to_be_between: (kw, o, where) => {
    const column = K.str(kw, 'column', where);
    const qr = kw.quantile_ranges as { quantiles?: unknown; value_ranges?: unknown } | undefined;
    if (
      !qr ||
      !Array.isArray(qr.quantiles) ||
      !Array.isArray(qr.value_ranges) ||
      qr.quantiles.length !== qr.value_ranges.length
    ) {
      bad(where, 'quantile_ranges', '{"quantiles": [...], "value_ranges": [[min, max], ...]} of equal length', qr);
    }
    const quantiles = qr.quantiles as number[];
    const ranges = qr.value_ranges as (number | null)[][];
    const are = kw.allow_relative_error;
    const interp: Interpolation =
      typeof are === 'string' && ['linear', 'lower', 'higher', 'midpoint', 'nearest'].includes(are)
        ? (are as Interpolation)
        : 'nearest';
    const vb = new ValueBuffer(o.exactValueLimit);
    return {
      columns: [column],
      update(b) {
        const col = b.col(column);
        requireNumeric(col, 'expect_column_quantile_values_to_be_between');
        for (let i = 0; i < col.length; i++) if (col.valid[i]) vb.add(col.nums![i]!);
      },
      finish() {
        const values = vb.count ? vb.quantiles(quantiles, interp) : quantiles.map(() => null);
        const close = (a: number, b: number) =>
          Number.isFinite(b) && Math.abs(a - b) <= 1e-4 * Math.max(Math.abs(a), Math.abs(b));
        const details = values.map((v, i) => {
          if (v === null || Number.isNaN(v)) return false;
          const lo = ranges[i]?.[0] ?? Number.NEGATIVE_INFINITY;
          const hi = ranges[i]?.[1] ?? Number.POSITIVE_INFINITY;
          return close(v, lo) || close(v, hi) || (lo <= v && v <= hi);
        });
        const result: Record<string, unknown> = { observed_value: { quantiles, values }, details: { success_details: details } };
        if (!vb.exact) (result.details as Record<string, unknown>).approximate = true;
        return { success: details.every(Boolean), result };
      },
    };
  },
  expect_column_unique_value_count_to_be_between: (kw, o, where) => distinctStat(kw, o, where, (d) => d.count()),
  expect_column_proportion_of_unique_values_to_be_between: (kw, o, where) =>
    distinctStat(kw, o, where, (d, nonnull) => (nonnull === 0 ? null : d.count() / nonnull)),
  expect_column_distinct_values_to_be_in_set: (kw, o, where) => distinctSet(kw, o, where, 'in'),
  expect_column_distinct_values_to_contain_set: (kw, o, where) => distinctSet(kw, o, where, 'contain'),
  expect_column_distinct_values_to_equal_set: (kw, o, where) => distinctSet(kw, o, where, 'equal'),
  expect_column_most_common_value_to_be_in_set: (kw, o, where) => {
    const column = K.str(kw, 'column', where);
    const set = K.list(kw, 'value_set', where);
    const tiesOkay = K.bool(kw, 'ties_okay', where, false);
    const counts = new ValueCounts(o.exactDistinctLimit);
    let col0: Col | undefined;
    return {
      columns: [column],
      update(b) {
        const col = b.col(column);
        col0 ??= col;
        for (let i = 0; i < col.length; i++) if (col.valid[i]) counts.add(keyAt(col, i));
      },
      finish() {
        let best = 0;
        for (const c of counts.counts.values()) if (c > best) best = c;
        const modes = [...counts.counts.entries()].filter(([, c]) => c === best && best > 0).map(([k]) => k);
        modes.sort(compareAny);
        const s = col0 ? setFor(col0, set) : new Set();
        const hits = modes.filter((m) => s.has(m)).length;
        const success = tiesOkay ? hits > 0 : modes.length === 1 && hits === 1;
        const result: Record<string, unknown> = { observed_value: modes };
        if (!counts.exact) result.details = { approximate: true };
        return { success, result };
      },
    };
  },
  expect_column_kl_divergence_to_be_less_than: klExpectation,

  // multi-column
  expect_compound_columns_to_be_unique: (kw, o, where) => {
    const cols = K.strList(kw, 'column_list', where);
    const ignore = K.oneOf(
      kw,
      'ignore_row_if',
      where,
      ['all_values_are_missing', 'any_value_is_missing', 'never'] as const,
      'all_values_are_missing',
    );
    const mostly = K.mostly(kw, where);
    const u = new DupTracker(o);
    let element = 0;
    let considered = 0;
    return {
      columns: cols,
      update(b) {
        const cs = cols.map((c) => b.col(c));
        element += b.numRows;
        for (let i = 0; i < b.numRows; i++) {
          let missing = 0;
          for (const c of cs) if (!c.valid[i]) missing++;
          if (
            (ignore === 'all_values_are_missing' && missing === cs.length) ||
            (ignore === 'any_value_is_missing' && missing > 0)
          )
            continue;
          considered++;
          const vals = cs.map((c) => valueAt(c, i));
          u.add(JSON.stringify(vals), Object.fromEntries(cols.map((c, k) => [c, vals[k]])), b.rowOffset + i);
        }
      },
      finish() {
        const acc = u.toAcc(element);
        return acc.output(
          element === 0 || considered === 0 ? true : mostlySuccess(considered, acc.unexpected, mostly),
          considered,
        );
      },
    };
  },
  expect_column_pair_values_a_to_be_greater_than_b: (kw, o, where) => {
    const { a, b, ignore } = pairArgs(kw, where);
    const orEqual = K.bool(kw, 'or_equal', where, false);
    return multiMap(
      [a, b],
      kw,
      o,
      where,
      ignore,
      ([ca, cb]) => {
        kindsComparable(ca!, cb!);
        return (i) => {
          if (!ca!.valid[i] || !cb!.valid[i]) return true;
          const x = cmpValue(ca!, i);
          const y = cmpValue(cb!, i);
          return orEqual ? !(x >= y) : !(x > y);
        };
      },
      pairValue,
    );
  },
  expect_column_pair_values_to_be_equal: (kw, o, where) => {
    const { a, b, ignore } = pairArgs(kw, where);
    return multiMap(
      [a, b],
      kw,
      o,
      where,
      ignore,
      ([ca, cb]) =>
        (i) => {
          if (!ca!.valid[i] || !cb!.valid[i]) return true;
          return keyAt(ca!, i) !== keyAt(cb!, i);
        },
      pairValue,
    );
  },
  expect_multicolumn_sum_to_equal: (kw, o, where) => {
    const cols = K.strList(kw, 'column_list', where);
    const total = K.num(kw, 'sum_total', where);
    const ignore = K.oneOf(
      kw,
      'ignore_row_if',
      where,
      ['all_values_are_missing', 'any_value_is_missing', 'never'] as const,
      'all_values_are_missing',
    );
    return multiMap(
      cols,
      kw,
      o,
      where,
      ignore,
      (cs) => {
        for (const c of cs) requireNumeric(c, 'expect_multicolumn_sum_to_equal');
        return (i) => {
          let s = 0;
          for (const c of cs) {
            if (!c.valid[i]) return true;
            s += c.nums![i]!;
          }
          return s !== total;
        };
      },
      (cs, i) => Object.fromEntries(cs.map((c) => [c.name, valueAt(c, i)])),
    );
  },
};

/** Python's len() counts code points. */
function strLen(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}

function setFor(col: Col, values: unknown[]): Set<unknown> {
  const s = new Set<unknown>();
  for (const v of values) {
    if (col.kind === 'date') {
      const t = toEpochMs(v);
      if (t !== undefined) s.add(new Date(t).toISOString());
    } else if (col.kind === 'boolean' && (v === 0 || v === 1)) s.add(v === 1);
    else if (col.kind === 'number' && typeof v === 'boolean') s.add(v ? 1 : 0);
    else s.add(v);
  }
  return s;
}

function monotonic(kw: Kw, o: EvalOptions, where: string, dir: 1 | -1): Evaluator {
  const strictly = K.bool(kw, 'strictly', where, false);
  let prev: number | string | undefined;
  return columnMap(kw, o, where, (col) => {
    if (col.kind === 'other') throw new ExpectationError(`column '${col.name}' (${col.arrowType}) has no order`);
    return (i) => {
      const x = cmpValue(col, i);
      const p = prev;
      prev = x;
      if (p === undefined) return false;
      if (dir === 1) return strictly ? !(x > p) : !(x >= p);
      return strictly ? !(x < p) : !(x <= p);
    };
  });
}

/** Duplicates among numbers: values and row numbers in typed arrays, sorted once at the end (no hash map). */
class NumericDup {
  private vals = new Float64Array(1024);
  private rows = new Float64Array(1024);
  private len = 0;
  /** For strings: the values themselves (vals then hold 52-bit hashes, verified against these at the end). */
  private strings: string[] | null = null;
  exact = true;
  constructor(private readonly o: EvalOptions) {}
  addString(v: string, row: number): void {
    this.strings ??= [];
    if (this.len === this.vals.length && this.len >= this.o.exactValueLimit) {
      this.exact = false;
      return;
    }
    const [h1, h2] = hash2(v);
    this.strings.push(v);
    this.add(h1 * 2 ** 21 + (h2 >>> 11), row);
  }
  add(x: number, row: number): void {
    if (this.len === this.vals.length) {
      if (this.len >= this.o.exactValueLimit) {
        this.exact = false;
        return;
      }
      const v = new Float64Array(this.len * 2);
      v.set(this.vals);
      this.vals = v;
      const r = new Float64Array(this.len * 2);
      r.set(this.rows);
      this.rows = r;
    }
    this.vals[this.len] = x;
    this.rows[this.len++] = row;
  }
  toAcc(element: number, dates: boolean): MapAcc {
    const acc = new MapAcc(this.o);
    acc.element = element;
    const vals = this.vals.subarray(0, this.len);
    const sorted = sortFloat64(Float64Array.from(vals));
    const dup = new Set<number>();
    for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) dup.add(sorted[i]!);
    if (dup.size === 0) return acc;
    const strs = this.strings;
    if (strs) {
      // hash collisions are possible: count the actual strings behind the duplicated hashes
      const counts = new Map<string, number>();
      for (let i = 0; i < vals.length; i++) if (dup.has(vals[i]!)) counts.set(strs[i]!, (counts.get(strs[i]!) ?? 0) + 1);
      for (let i = 0; i < vals.length; i++) if (dup.has(vals[i]!) && counts.get(strs[i]!)! > 1) acc.hit(strs[i], this.rows[i]!);
      return acc;
    }
    for (let i = 0; i < vals.length; i++) {
      const x = vals[i]!;
      if (dup.has(x)) acc.hit(dates ? new Date(x).toISOString() : x, this.rows[i]!);
    }
    return acc;
  }
}

/** Counts rows whose key occurs more than once (pandas duplicated(keep=False)), keeping the first rows' positions. */
class DupTracker {
  private first = new Map<unknown, number>();
  private dups = new Map<unknown, { count: number; rows: { v: unknown; i: number }[] }>();
  private firstValue = new Map<unknown, unknown>();
  exact = true;
  constructor(private readonly o: EvalOptions) {}
  add(key: unknown, value: unknown, index: number): void {
    const d = this.dups.get(key);
    const cap = this.o.resultFormat === 'COMPLETE' ? this.o.unexpectedListLimit : this.o.partialUnexpectedCount;
    if (d) {
      d.count++;
      if (d.rows.length < cap) d.rows.push({ v: value, i: index });
      return;
    }
    const f = this.first.get(key);
    if (f !== undefined) {
      this.first.delete(key);
      const fv = this.firstValue.get(key);
      this.firstValue.delete(key);
      this.dups.set(key, {
        count: 2,
        rows: [
          { v: fv, i: f },
          { v: value, i: index },
        ],
      });
      return;
    }
    if (this.first.size + this.dups.size >= this.o.exactDistinctLimit) {
      this.exact = false;
      return;
    }
    this.first.set(key, index);
    if (typeof value === 'object' && value !== null) this.firstValue.set(key, value);
    else this.firstValue.set(key, value);
  }
  toAcc(element: number): MapAcc {
    const acc = new MapAcc(this.o);
    acc.element = element;
    const rows: { v: unknown; i: number }[] = [];
    let total = 0;
    for (const d of this.dups.values()) {
      total += d.count;
      rows.push(...d.rows);
    }
    rows.sort((a, b) => a.i - b.i);
    for (const r of rows) acc.hit(r.v, r.i);
    acc.unexpected = total;
    return acc;
  }
}

function distinctStat(
  kw: Kw,
  o: EvalOptions,
  where: string,
  f: (d: DistinctCounter, nonnull: number) => number | null,
): Evaluator {
  const column = K.str(kw, 'column', where);
  const check = aggregateBetween(kw, where);
  const d = new DistinctCounter(o.exactDistinctLimit);
  let nonnull = 0;
  return {
    columns: [column],
    update(b) {
      const col = b.col(column);
      for (let i = 0; i < col.length; i++) {
        if (!col.valid[i]) continue;
        nonnull++;
        d.add(keyAt(col, i));
      }
    },
    finish() {
      const out = check(f(d, nonnull));
      if (!d.exact) out.result.details = { approximate: true, method: 'HyperLogLog' };
      return out;
    },
  };
}

function distinctSet(kw: Kw, o: EvalOptions, where: string, mode: 'in' | 'contain' | 'equal'): Evaluator {
  const column = K.str(kw, 'column', where);
  const raw = kw.value_set;
  if (raw !== null && raw !== undefined && !Array.isArray(raw)) bad(where, 'value_set', 'a list', raw);
  const values = (raw as unknown[] | null | undefined) ?? [];
  let set: Set<unknown> | null = null;
  const notIn = new Set<unknown>();
  const seen = new Set<unknown>();
  let truncated = false;
  return {
    columns: [column],
    update(b) {
      const col = b.col(column);
      set ??= setFor(col, values);
      for (let i = 0; i < col.length; i++) {
        if (!col.valid[i]) continue;
        const k = keyAt(col, i);
        if (set.has(k)) seen.add(k);
        else if (!notIn.has(k)) {
          if (notIn.size < o.exactDistinctLimit) notIn.add(k);
          else truncated = true;
        }
      }
    },
    finish() {
      const s = set ?? new Set(values);
      const unexpected = [...notIn].sort(compareAny);
      const missing = [...s].filter((v) => !seen.has(v)).sort(compareAny);
      const result: Record<string, unknown> = { observed_value: null };
      let success: boolean;
      if (mode === 'in') {
        success = unexpected.length === 0 && !truncated;
        Object.assign(result, { unexpected_count: unexpected.length, partial_unexpected_list: unexpected.slice(0, 20) });
      } else if (mode === 'contain') {
        success = missing.length === 0;
        Object.assign(result, { missing_count: missing.length, partial_missing_list: missing.slice(0, 20) });
      } else {
        success = unexpected.length === 0 && !truncated && missing.length === 0;
        Object.assign(result, {
          unexpected_count: unexpected.length,
          missing_count: missing.length,
          partial_unexpected_list: unexpected.slice(0, 20),
          partial_missing_list: missing.slice(0, 20),
        });
      }
      if (o.resultFormat === 'BOOLEAN_ONLY') return { success, result: {} };
      return { success, result };
    },
  };
}

export function supportedExpectations(): string[] {
  return Object.keys(REGISTRY).sort();
}

export function createEvaluator(type: string, kwargs: Kw, o: EvalOptions, where: string): Evaluator | undefined {
  const f = REGISTRY[type];
  return f ? f(kwargs, o, where) : undefined;
}
