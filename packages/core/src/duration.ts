import { invalidSpec } from './errors.js';

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Parses a duration: a number of seconds, or text such as "90s", "15m", "1h30m", "30d", "1.5h". */
export function parseDurationSeconds(value: unknown, where?: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const text = value.trim();
    if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
    const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;
    let total = 0;
    let matched = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      total += Number(m[1]) * (UNITS[m[2] as string] as number);
      matched = re.lastIndex;
    }
    if (matched === text.length && matched > 0) return total;
  }
  throw invalidSpec(`cannot read duration ${JSON.stringify(value)}`, {
    ...(where ? { where } : {}),
    hint: 'write seconds as a number, or text like 90s, 15m, 2h, 30d',
  });
}
