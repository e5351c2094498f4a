/**
 * "Did you mean ...?": the closest known word to an unknown one (Levenshtein distance), shared by spec parsing,
 * option checks and the CLI so every unknown key, value or command is an error that names what was meant.
 */
import { invalidInput, invalidSpec, type StrataErrorOptions } from './errors.js';

/**
 * The edit distance between two strings: insertions, deletions, substitutions and swaps of two neighbours each count
 * one (Levenshtein with transpositions, the "optimal string alignment" distance; case-sensitive).
 */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  if (!a.length) return b.length;
  if (!b.length) return a.length;
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (before[j - 2] as number) + 1);
      cur[j] = d;
    }
    before = prev;
    prev = cur;
  }
  return prev[b.length] as number;
}

/**
 * The known word closest to `word` (case-insensitive), if it is close enough to be a typo: at most a third of the
 * word's length in edits (at least 1, at most 3), or one word contains the other.
 */
export function closest(word: string, known: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = levenshtein(w, k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.min(3, Math.max(1, Math.floor(w.length / 3)));
  if (bestD <= limit) return best;
  const b = best.toLowerCase();
  return w.length >= 4 && (b.startsWith(w) || w.startsWith(b)) ? best : undefined;
}

/** " (did you mean X?)" or "" when nothing is close. */
export function didYouMean(word: string, known: readonly string[]): string {
  const c = closest(word, known);
  return c === undefined ? '' : ` (did you mean ${c}?)`;
}

/**
 * Checks one of a fixed set of values (case-insensitive) and returns it in its canonical spelling; anything else is
 * an INVALID_INPUT error naming the valid values and the closest one.
 */
export function oneOf<T extends string>(value: unknown, allowed: readonly T[], what: string, opts: StrataErrorOptions = {}): T {
  const s = typeof value === 'string' ? value : String(value);
  const hit = allowed.find((a) => a.toLowerCase() === s.toLowerCase());
  if (hit !== undefined) return hit;
  throw invalidInput(`${what} '${s}' is not valid${didYouMean(s, allowed)}`, {
    ...opts,
    hint: opts.hint ?? `use one of ${allowed.join(', ')}`,
    details: { ...(opts.details ?? {}), value: s, allowed: [...allowed] },
  });
}

/** Rejects keys of a mapping that are not in `allowed`, naming the closest known key (INVALID_SPEC). */
export function checkKeys(obj: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(obj)) {
    if (allowed.includes(key)) continue;
    const at = `${where}.${key}`;
    throw invalidSpec(`${where}: unknown key '${key}'${didYouMean(key, allowed)}`, {
      where: at,
      hint: `the keys allowed here are ${allowed.join(', ')}`,
      details: { key, allowed: [...allowed] },
    });
  }
}
