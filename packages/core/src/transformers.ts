/**
 * Model-dependent transformations (Hopsworks' idea): scalers and encoders whose parameters are fitted on a training
 * set and then applied, with the same stored parameters and the same arithmetic, to that training set's rows and to
 * every online answer for it. Pure: fit takes the column's values, apply one value; both sides call the same apply.
 *
 * The statistics follow scikit-learn's defaults: MinMaxScaler (feature_range 0..1), StandardScaler (population
 * standard deviation, ddof 0), RobustScaler (median and the 25th..75th percentile range, linear interpolation as
 * numpy.percentile), LabelEncoder and OneHotEncoder (sorted categories). A zero range / deviation / IQR (below 10
 * machine epsilons) scales by 1, as scikit-learn does. Nulls are left out of the fit and stay null (one-hot: all zeros).
 */
import { invalidSpec } from './errors.js';
import type { ValueTypeName } from './types.js';

export const TRANSFORM_KINDS = [
  'min_max_scaler',
  'standard_scaler',
  'robust_scaler',
  'label_encoder',
  'one_hot_encoder',
] as const;

export type TransformKind = (typeof TRANSFORM_KINDS)[number];

/** A transformation a feature service asks for: `feature` is a `view:feature` reference of the service. */
export interface ModelTransformSpec {
  feature: string;
  kind: TransformKind;
}

export type TransformStats =
  | { kind: 'min_max_scaler'; min: number; max: number }
  | { kind: 'standard_scaler'; mean: number; std: number }
  | { kind: 'robust_scaler'; median: number; q1: number; q3: number }
  | { kind: 'label_encoder' | 'one_hot_encoder'; categories: (string | number | boolean)[] };

/** A transformation fitted on a training set: what it applies to (`column`, as named in the answer) and its stats. */
export interface FittedTransform {
  feature: string;
  column: string;
  /** Rows the statistics were computed from (non-null values). */
  count: number;
  stats: TransformStats;
}

const NUMERIC = new Set<ValueTypeName>(['INT32', 'INT64', 'FLOAT', 'DOUBLE']);
const CATEGORICAL = new Set<ValueTypeName>(['INT32', 'INT64', 'STRING', 'BOOL']);

/** Problems with a transformation of a feature of the given type. */
export function checkTransform(t: ModelTransformSpec, valueType: ValueTypeName | undefined, where: string): string[] {
  if (!(TRANSFORM_KINDS as readonly string[]).includes(t.kind))
    return [`${where}: kind ${JSON.stringify(t.kind)} is not one of ${TRANSFORM_KINDS.join(', ')}`];
  if (valueType === undefined) return [`${where}: '${t.feature}' is not a feature of this service`];
  const scaler = t.kind.endsWith('_scaler');
  if (scaler && !NUMERIC.has(valueType)) return [`${where}: ${t.kind} needs a numeric feature; '${t.feature}' is ${valueType}`];
  if (!scaler && !CATEGORICAL.has(valueType))
    return [`${where}: ${t.kind} needs a STRING, INT32, INT64 or BOOL feature; '${t.feature}' is ${valueType}`];
  return [];
}

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : (v as number));

/** numpy.percentile's default (linear) on sorted values. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = (p / 100) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

function category(v: unknown): string | number | boolean {
  return typeof v === 'bigint' ? Number(v) : (v as string | number | boolean);
}

function compareCategories(a: string | number | boolean, b: string | number | boolean): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Fits one transformation on a column's values (nulls skipped). */
export function fitTransform(kind: TransformKind, values: Iterable<unknown>): { count: number; stats: TransformStats } {
  if (kind === 'label_encoder' || kind === 'one_hot_encoder') {
    const set = new Map<string, string | number | boolean>();
    let count = 0;
    for (const v of values) {
      if (v === null || v === undefined) continue;
      count++;
      const c = category(v);
      set.set(`${typeof c}:${String(c)}`, c);
    }
    return { count, stats: { kind, categories: [...set.values()].sort(compareCategories) } };
  }
  const xs: number[] = [];
  for (const v of values) {
    if (v === null || v === undefined) continue;
    const x = num(v);
    if (Number.isNaN(x)) continue;
    xs.push(x);
  }
  const count = xs.length;
  if (count === 0) {
    throw invalidSpec(`cannot fit ${kind}: the column has no values in this training set`, {
      hint: 'fit on a training set where the feature has values, or drop the transformation',
    });
  }
  if (kind === 'min_max_scaler') {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const x of xs) {
      if (x < min) min = x;
      if (x > max) max = x;
    }
    return { count, stats: { kind, min, max } };
  }
  if (kind === 'standard_scaler') {
    let sum = 0;
    for (const x of xs) sum += x;
    const mean = sum / count;
    let sq = 0;
    for (const x of xs) sq += (x - mean) * (x - mean);
    return { count, stats: { kind, mean, std: Math.sqrt(sq / count) } };
  }
  const sorted = Float64Array.from(xs).sort();
  return {
    count,
    stats: { kind, median: percentile(sorted, 50), q1: percentile(sorted, 25), q3: percentile(sorted, 75) },
  };
}

/**
 * scikit-learn's _handle_zeros_in_scale: a range, deviation or IQR below 10 machine epsilons counts as zero and scales
 * by 1 (else a column of near-equal values, such as subnormals, would scale to Infinity).
 */
const ZERO_SCALE = 10 * Number.EPSILON;
const scale = (d: number) => (!Number.isFinite(d) || Math.abs(d) < ZERO_SCALE ? 1 : d);

/**
 * Applies a fitted transformation to one value. Scalers and the label encoder give one number (an unknown category:
 * -1), the one-hot encoder one 0/1 per category (an unknown category or null: all zeros, scikit-learn's
 * handle_unknown='ignore').
 */
export function applyTransform(stats: TransformStats, v: unknown): number | null | number[] {
  switch (stats.kind) {
    case 'min_max_scaler':
      return v === null || v === undefined ? null : (num(v) - stats.min) / scale(stats.max - stats.min);
    case 'standard_scaler':
      return v === null || v === undefined ? null : (num(v) - stats.mean) / scale(stats.std);
    case 'robust_scaler':
      return v === null || v === undefined ? null : (num(v) - stats.median) / scale(stats.q3 - stats.q1);
    case 'label_encoder': {
      if (v === null || v === undefined) return null;
      const c = category(v);
      return stats.categories.indexOf(c);
    }
    case 'one_hot_encoder': {
      const c = v === null || v === undefined ? undefined : category(v);
      return stats.categories.map((x) => (x === c ? 1 : 0));
    }
  }
}

/** The columns a fitted transformation writes in place of its input column (one-hot: one per category). */
export function transformColumns(t: Pick<FittedTransform, 'column' | 'stats'>): { name: string; valueType: ValueTypeName }[] {
  if (t.stats.kind === 'one_hot_encoder')
    return t.stats.categories.map((c) => ({ name: `${t.column}__${String(c)}`, valueType: 'INT32' }));
  if (t.stats.kind === 'label_encoder') return [{ name: t.column, valueType: 'INT32' }];
  return [{ name: t.column, valueType: 'DOUBLE' }];
}
