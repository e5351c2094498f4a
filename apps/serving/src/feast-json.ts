/**
 * The JSON text of an online response in Feast's value forms. JSON.stringify writes the DOUBLE 85 as `85`, which a
 * typed client reads as an integer; `feast serve` writes it as Python does, `85.0`. FLOAT and DOUBLE columns (and
 * their lists) are written here with Python's float repr; every other value as JSON.stringify writes it.
 *
 * With `feastStatuses` the statuses are Feast 0.67's exact answer (`X-Strata-Compat: feast`): a missing entity and a
 * stored null are PRESENT with a null value, where Strata says NOT_FOUND and NULL_VALUE (docs/serving.md).
 */
import type { FeatureStatus } from '@strata/online-redis';
import type { OnlineColumn, OnlineFeaturesResponse } from '@strata/sdk';

const FLOATS = new Set(['FLOAT', 'DOUBLE', 'FLOAT_LIST', 'DOUBLE_LIST']);

/** Whether values of this Feast/Strata value type are written as floats. */
export function isFloatType(valueType: string): boolean {
  return FLOATS.has(valueType);
}

/** A finite number as Python's repr() writes a float: `85.0`, `0.25`, `1e-05`, `1.5e+16`. */
export function pythonFloat(v: number): string {
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  const a = Math.abs(v);
  if (a >= 1e16 || a < 1e-4) {
    const [mantissa, exp] = v.toExponential().split('e') as [string, string];
    const e = Number(exp);
    return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  const s = String(v);
  return s.includes('.') ? s : `${s}.0`;
}

function floatValue(v: unknown): string {
  if (typeof v === 'number' && Number.isFinite(v)) return pythonFloat(v);
  if (Array.isArray(v)) return `[${v.map(floatValue).join(',')}]`;
  return JSON.stringify(v) ?? 'null';
}

function feastStatus(s: FeatureStatus): FeatureStatus {
  return s === 'NOT_FOUND' || s === 'NULL_VALUE' ? 'PRESENT' : s;
}

function column(c: OnlineColumn & { errors?: (string | null)[] }, float: boolean, feastStatuses: boolean): string {
  const values = float ? `[${c.values.map(floatValue).join(',')}]` : JSON.stringify(c.values);
  const statuses = JSON.stringify(feastStatuses ? c.statuses.map(feastStatus) : c.statuses);
  // An on-demand feature whose function failed for some rows says why beside its INVALID statuses (not in Feast's
  // exact shape, so not under X-Strata-Compat: feast).
  const errors = c.errors && !feastStatuses ? `,"errors":${JSON.stringify(c.errors)}` : '';
  return `{"values":${values},"statuses":${statuses},"event_timestamps":${JSON.stringify(c.event_timestamps)}${errors}}`;
}

/**
 * Writes `res` as JSON; `floatColumns[i]` says whether results[i] holds FLOAT/DOUBLE values (entity key columns
 * and other types: false).
 */
export function onlineResponseJson(
  res: OnlineFeaturesResponse,
  floatColumns: boolean[],
  opts: { feastStatuses?: boolean } = {},
): string {
  const cols = res.results.map((c, i) => column(c, floatColumns[i] === true, opts.feastStatuses === true));
  return `{"metadata":${JSON.stringify(res.metadata)},"results":[${cols.join(',')}]}`;
}
