/**
 * Drift between two profiles (a reference, e.g. the previous commit or a pinned window, and the current commit):
 * PSI and Jensen-Shannon on shared bins (reference deciles for numeric columns, categories for the others) and the
 * two-sample Kolmogorov-Smirnov statistic from the quantile sketches.
 */
import { KllSketch } from './sketch.js';
import type { ColumnProfile, Profile } from './profile.js';

export interface DriftThresholds {
  /** Population stability index above which a column drifted. Default 0.2 (0.1-0.2 is usually "moderate"). */
  psi?: number;
  /** KS statistic (max CDF distance, 0..1) above which a column drifted. Default 0.1. */
  ks?: number;
  /** Jensen-Shannon divergence (log base 2, 0..1) above which a column drifted. Default 0.1. */
  js?: number;
  /** Bins for numeric PSI/JS (reference quantiles). Default 10. */
  bins?: number;
}

export interface ColumnDrift {
  column: string;
  kind: 'numeric' | 'categorical' | 'skipped';
  psi: number | null;
  ks: number | null;
  js: number | null;
  drifted: boolean;
  /** Which metrics crossed their threshold. */
  reasons: string[];
  reference: { count: number; nullFraction: number | null; mean: number | null };
  current: { count: number; nullFraction: number | null; mean: number | null };
  note?: string;
}

export interface DriftReport {
  drifted: boolean;
  thresholds: Required<DriftThresholds>;
  columns: ColumnDrift[];
  /** Columns in only one of the two profiles. */
  addedColumns: string[];
  removedColumns: string[];
}

const EPS = 1e-4;

export function psi(expected: number[], actual: number[]): number {
  let s = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i]!, EPS);
    const a = Math.max(actual[i]!, EPS);
    s += (a - e) * Math.log(a / e);
  }
  return s;
}

export function jensenShannon(p: number[], q: number[]): number {
  const sp = p.reduce((a, b) => a + b, 0) || 1;
  const sq = q.reduce((a, b) => a + b, 0) || 1;
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]! / sp;
    const qi = q[i]! / sq;
    const m = (pi + qi) / 2;
    if (pi > 0) s += 0.5 * pi * Math.log2(pi / m);
    if (qi > 0) s += 0.5 * qi * Math.log2(qi / m);
  }
  return Math.max(0, s);
}

function side(c: ColumnProfile) {
  return { count: c.count, nullFraction: c.count ? c.nullCount / c.count : null, mean: c.mean };
}

function frequencies(c: ColumnProfile): Map<string, number> {
  const m = new Map<string, number>();
  const src = c.state.freq ?? c.state.heavy ?? [];
  for (const [k, n] of src) m.set(JSON.stringify(k), n);
  return m;
}

function numericDrift(ref: ColumnProfile, cur: ColumnProfile, bins: number) {
  const a = KllSketch.fromJSON(ref.state.kll!);
  const b = KllSketch.fromJSON(cur.state.kll!);
  // shared bins: reference quantiles, deduplicated
  const edges = [...new Set(a.quantiles(Array.from({ length: bins - 1 }, (_, i) => (i + 1) / bins)))].sort((x, y) => x - y);
  const props = (s: KllSketch) => {
    const out: number[] = [];
    let prev = 0;
    for (const e of edges) {
      const c = s.cdf(e);
      out.push(c - prev);
      prev = c;
    }
    out.push(1 - prev);
    return out;
  };
  const pe = props(a);
  const pa = props(b);
  const points = [...new Set([...a.quantiles(grid(200)), ...b.quantiles(grid(200))])];
  let ks = 0;
  for (const x of points) ks = Math.max(ks, Math.abs(a.cdf(x) - b.cdf(x)));
  return { psi: psi(pe, pa), js: jensenShannon(pe, pa), ks };
}

const grid = (n: number) => Array.from({ length: n + 1 }, (_, i) => i / n);

export function drift(reference: Profile, current: Profile, opts: DriftThresholds = {}): DriftReport {
  const t: Required<DriftThresholds> = { psi: opts.psi ?? 0.2, ks: opts.ks ?? 0.1, js: opts.js ?? 0.1, bins: opts.bins ?? 10 };
  const columns: ColumnDrift[] = [];
  for (const [name, ref] of Object.entries(reference.columns)) {
    const cur = current.columns[name];
    if (!cur) continue;
    const base = { column: name, reference: side(ref), current: side(cur) };
    if (ref.nonNullCount === 0 || cur.nonNullCount === 0) {
      columns.push({
        ...base,
        kind: 'skipped',
        psi: null,
        ks: null,
        js: null,
        drifted: false,
        reasons: [],
        note: 'no non-null values on one side',
      });
      continue;
    }
    let d: { psi: number; js: number; ks: number | null };
    let kind: ColumnDrift['kind'];
    const numeric = ref.state.kll && cur.state.kll && (ref.distinctCount > t.bins || cur.distinctCount > t.bins);
    if (numeric) {
      kind = 'numeric';
      d = numericDrift(ref, cur, t.bins);
    } else {
      kind = 'categorical';
      const fa = frequencies(ref);
      const fb = frequencies(cur);
      const keys = [...new Set([...fa.keys(), ...fb.keys()])];
      const na = [...fa.values()].reduce((x, y) => x + y, 0) || 1;
      const nb = [...fb.values()].reduce((x, y) => x + y, 0) || 1;
      const pa = keys.map((k) => (fa.get(k) ?? 0) / na);
      const pb = keys.map((k) => (fb.get(k) ?? 0) / nb);
      d = { psi: psi(pa, pb), js: jensenShannon(pa, pb), ks: null };
    }
    const reasons: string[] = [];
    if (d.psi > t.psi) reasons.push(`psi ${d.psi.toFixed(4)} > ${t.psi}`);
    if (d.ks !== null && d.ks > t.ks) reasons.push(`ks ${d.ks.toFixed(4)} > ${t.ks}`);
    if (d.js > t.js) reasons.push(`js ${d.js.toFixed(4)} > ${t.js}`);
    columns.push({ ...base, kind, psi: d.psi, ks: d.ks, js: d.js, drifted: reasons.length > 0, reasons });
  }
  return {
    drifted: columns.some((c) => c.drifted),
    thresholds: t,
    columns,
    addedColumns: Object.keys(current.columns).filter((c) => !(c in reference.columns)),
    removedColumns: Object.keys(reference.columns).filter((c) => !(c in current.columns)),
  };
}
