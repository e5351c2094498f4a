/** Formatting for tables and chart labels: exact where a test compares numbers, short where a person reads them. */

/** A number as a person reads it: integers with thousands separators, others to `digits` significant digits. */
export function fmtNumber(v: unknown, digits = 4): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'bigint') return v.toLocaleString('en-US');
  if (typeof v !== 'number') return String(v);
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e15)) return v.toExponential(digits - 1);
  return Number(v.toPrecision(digits)).toLocaleString('en-US', { maximumFractionDigits: 20 });
}

/** A fraction 0..1 as a percentage. */
export function fmtPercent(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  return `${(v * 100).toFixed(digits)}%`;
}

/** An ISO time as `YYYY-MM-DD HH:MM:SS` UTC (the API's times are UTC). */
export function fmtTime(v: string | number | Date | null | undefined): string {
  if (v === null || v === undefined || v === '') return '–';
  const d = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** A duration in milliseconds: 850 ms, 2.1 s, 3 min 5 s, 2 h 10 min, 3 d 4 h. */
export function fmtDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '–';
  const neg = ms < 0 ? '-' : '';
  const a = Math.abs(ms);
  if (a < 1000) return `${neg}${Math.round(a)} ms`;
  const s = a / 1000;
  if (s < 60) return `${neg}${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${neg}${m} min ${Math.round(s - m * 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${neg}${h} h ${m - h * 60} min`;
  const d = Math.floor(h / 24);
  return `${neg}${d} d ${h - d * 24} h`;
}

/** A TTL in seconds as the spec would say it (0 or none: no limit). */
export function fmtTtl(seconds: number | null | undefined): string {
  if (!seconds) return 'none (no limit)';
  const units: [number, string][] = [
    [86400, 'd'],
    [3600, 'h'],
    [60, 'min'],
  ];
  for (const [n, u] of units) if (seconds % n === 0) return `${seconds / n} ${u}`;
  return `${seconds} s`;
}

/** A value from the API (a feature value, an observed value) as one line of text. */
export function fmtValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return fmtNumber(v, 6);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

/** Tags as `k=v` strings, sorted. */
export function fmtTags(tags: Record<string, string> | undefined | null): string[] {
  return Object.entries(tags ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => (v === '' ? k : `${k}=${v}`));
}
