/**
 * Regular expressions of expectations, written for Python's `re` (GE runs `re.search` on each value), evaluated by
 * RE2 (the re2js port): linear time in the length of the value whatever the pattern, so no suite can hang a worker
 * ("(a+)+$" on a long string is as quick as "a+$"). The pattern is translated where Python and RE2 differ in meaning
 * (\Z, $ before a final newline, Unicode \d \w \s); what RE2 cannot do at all (look-around, back-references, atomic
 * groups, possessive quantifiers, conditionals) is refused with a clear error instead of being evaluated differently.
 */
import { invalidSpec } from '@strata/core';
import { RE2JS } from 're2js';
import { doubled } from './ascii-table.js';

/** A compiled pattern: `test` is Python's `re.search(pattern, value) is not None`. */
export interface PyRegex {
  readonly source: string;
  test(value: string): boolean;
  /**
   * `test` of the UTF-8 value `bytes[start, end)`, without making a JS string of it (simple patterns only: the
   * ASCII DFA; a value with a non-ASCII byte is decoded and goes to `test`). Undefined for other patterns.
   */
  testUtf8?: (bytes: Uint8Array, start: number, end: number) => boolean;
  /** `testUtf8` of n values at once: value i is bytes[offsets[i], offsets[i + 1]), its verdict goes to out[i] (1/0). */
  testUtf8Rows?: (bytes: Uint8Array, offsets: Int32Array, n: number, out: Uint8Array) => void;
}

// Python's str.isspace() characters (what \s matches in a str pattern), as RE2 class items.
const SPACE =
  '\\t\\n\\x0b\\f\\r\\x1c-\\x1f \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}';
// Python's \w in a str pattern: alphanumerics (str.isalnum: letters and numbers) and the underscore.
const WORD = '\\p{L}\\p{N}_';

/** Constructs of Python's `re` that RE2 does not have, each with its name for the error. */
const UNSUPPORTED: [RegExp, string][] = [
  [/^\(\?=/, 'a lookahead (?=...)'],
  [/^\(\?!/, 'a negative lookahead (?!...)'],
  [/^\(\?<=/, 'a lookbehind (?<=...)'],
  [/^\(\?<!/, 'a negative lookbehind (?<!...)'],
  [/^\(\?P=/, 'a named back-reference (?P=name)'],
  [/^\(\?>/, 'an atomic group (?>...)'],
  [/^\(\?\(/, 'a conditional group (?(id)yes|no)'],
  [/^\\[1-9]/, 'a back-reference \\N'],
  [/^[*+?}][+]/, 'a possessive quantifier (*+, ++, ?+, {m,n}+)'],
];

function unsupported(src: string, what: string, where: string): never {
  throw invalidSpec(`regular expression ${JSON.stringify(src)} uses ${what}, which Strata does not evaluate`, {
    where,
    hint: 'Strata evaluates expectation regexes in linear time (RE2), without look-around, back-references, atomic groups, possessive quantifiers or conditionals; rewrite the pattern without them (see docs/validation.md)',
  });
}

/** Python `re` syntax to RE2 syntax with the same meaning (or a clear error). Exported for tests. */
export function translatePyRegex(src: string, where = 'regex'): string {
  let out = '';
  let inClass = false;
  const multiline = /^\(\?[aiLmsux]*m[aiLmsux]*\)/.test(src);
  for (let i = 0; i < src.length; i++) {
    const c = src[i] as string;
    const rest = src.slice(i);
    if (!inClass) for (const [re, what] of UNSUPPORTED) if (re.test(rest)) unsupported(src, what, where);
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined) {
        out += c;
        continue;
      }
      i++;
      if (inClass) {
        if (n === 'd') out += '\\p{Nd}';
        else if (n === 'w') out += WORD;
        else if (n === 's') out += SPACE;
        else out += `\\${n}`;
        continue;
      }
      if (n === 'Z') out += '\\z';
      else if (n === 'd') out += '\\p{Nd}';
      else if (n === 'D') out += '\\P{Nd}';
      else if (n === 'w') out += `[${WORD}]`;
      else if (n === 'W') out += `[^${WORD}]`;
      else if (n === 's') out += `[${SPACE}]`;
      else if (n === 'S') out += `[^${SPACE}]`;
      else out += `\\${n}`;
      continue;
    }
    if (inClass) {
      if (c === ']' && !/\[\^?$/.test(out)) inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal in both dialects: copy it so it does not close the class.
      if (src[i + 1] === '^') out += src[++i];
      if (src[i + 1] === ']') out += src[++i];
      continue;
    }
    // Python's $ (without MULTILINE) matches at the end or before a newline that ends the string; RE2's only at the end.
    if (c === '$' && !multiline) {
      out += '(?:\\n?\\z)';
      continue;
    }
    out += c;
  }
  return out;
}

/** Compiles a Python-flavoured pattern for linear-time `re.search` semantics; invalid ones are an INVALID_SPEC. */
export function pyRegex(src: string, where = 'regex'): PyRegex {
  const translated = translatePyRegex(src, where);
  let compiled: ReturnType<typeof RE2JS.compile>;
  try {
    compiled = RE2JS.compile(translated);
  } catch (err) {
    throw invalidSpec(`invalid regular expression ${JSON.stringify(src)}: ${(err as Error).message}`, {
      where,
      hint: 'write a regular expression that Python accepts, without look-around or back-references (see docs/validation.md)',
    });
  }
  const re2 = (value: string) => compiled.test(value);
  const dfa = asciiDfa(src, re2);
  return dfa ? { source: src, ...dfa } : { source: src, test: re2 };
}

/**
 * One item of a simple pattern: the ASCII characters it matches (a 128-entry mask) and its quantifier.
 * `min` 0 for `*` and `?`, `many` for `*` and `+`.
 */
interface Item {
  chars: Uint8Array;
  min: 0 | 1;
  many: boolean;
}

/** At most this many items (a DFA state is a bitmask of items, in a 32-bit integer). */
const MAX_ITEMS = 30;
/** DFA states cached per pattern; past it, values go to RE2. */
const MAX_STATES = 4096;

const isAlnum = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/**
 * Parses the simple patterns the DFA takes: an optional leading `^`, then literal characters, escaped punctuation,
 * `.` and classes `[...]` / `[^...]` of literals and ranges, each optionally followed by one `*`, `+` or `?`, then an
 * optional trailing `$`, all in ASCII. Anything else (groups, alternation, `{m,n}`, lazy quantifiers, escapes such as
 * \d or \b, flags) returns null: the pattern stays on RE2 alone. Exported for tests.
 */
export function parseSimplePattern(src: string): { start: boolean; end: boolean; items: Item[] } | null {
  let i = 0;
  const n = src.length;
  for (let k = 0; k < n; k++) if (src.charCodeAt(k) > 0x7f) return null;
  const start = src[0] === '^';
  if (start) i++;
  let end = false;
  const items: Item[] = [];
  const literal = (c: number) => {
    const m = new Uint8Array(128);
    m[c] = 1;
    return m;
  };
  while (i < n) {
    const c = src[i]!;
    let chars: Uint8Array;
    if (c === '$') {
      if (i !== n - 1) return null;
      end = true;
      i++;
      break;
    }
    if (c === '\\') {
      const e = src.charCodeAt(i + 1);
      if (Number.isNaN(e) || isAlnum(e)) return null;
      chars = literal(e);
      i += 2;
    } else if (c === '.') {
      chars = new Uint8Array(128).fill(1);
      chars[10] = 0; // Python's . (no DOTALL) is any character but \n
      i++;
    } else if (c === '[') {
      i++;
      const negate = src[i] === '^';
      if (negate) i++;
      if (src[i] === ']') return null;
      chars = new Uint8Array(128);
      let closed = false;
      while (i < n) {
        let a = src.charCodeAt(i);
        if (a === 93 /* ] */) {
          closed = true;
          i++;
          break;
        }
        if (a === 91 /* [ */) return null; // Python warns about nested sets; keep them on RE2
        if (a === 92 /* \ */) {
          a = src.charCodeAt(i + 1);
          if (Number.isNaN(a) || isAlnum(a)) return null;
          i++;
        }
        i++;
        if (src[i] === '-' && i + 1 < n && src[i + 1] !== ']') {
          const b = src.charCodeAt(i + 1);
          if (b === 91 || b === 92) return null;
          i += 2;
          if (b < a) return null;
          for (; a <= b; a++) chars[a] = 1;
        } else chars[a] = 1;
      }
      if (!closed) return null;
      if (negate) for (let k = 0; k < 128; k++) chars[k] = chars[k] ? 0 : 1;
    } else if ('^|()[]{}*+?'.includes(c)) {
      return null;
    } else {
      chars = literal(src.charCodeAt(i));
      i++;
    }
    const q = src[i];
    let min: 0 | 1 = 1;
    let many = false;
    if (q === '*' || q === '+' || q === '?') {
      min = q === '+' ? 1 : 0;
      many = q !== '?';
      i++;
      if (src[i] === '*' || src[i] === '+' || src[i] === '?' || src[i] === '{') return null;
    }
    items.push({ chars, min, many });
    if (items.length > MAX_ITEMS) return null;
  }
  if (i !== n) return null;
  return { start, end, items };
}

/**
 * A lazily built DFA over ASCII for the simple patterns of `parseSimplePattern`, with Python's `re.search` semantics
 * (`^` only at the start, `$` at the end or before a final \n, a match anywhere otherwise). A state is the set of
 * items the match may continue with (bit j: item j is next, bit k: the whole pattern matched); each character costs
 * one table look-up, so the time is linear in the value whatever the pattern. A value with a non-ASCII character goes
 * to RE2 (`fallback`), so the two paths agree on every value; regex.test.ts checks them against each other.
 */
function asciiDfa(
  src: string,
  fallback: (value: string) => boolean,
): Required<Pick<PyRegex, 'test' | 'testUtf8' | 'testUtf8Rows'>> | null {
  const p = parseSimplePattern(src);
  if (!p) return null;
  const { items, start: anchored, end: dollar } = p;
  const k = items.length;
  const ACCEPT = 2 ** k;
  // closure(j): j and, while item j may match nothing, the items after it (k: matched)
  const closure: number[] = new Array(k + 1);
  closure[k] = ACCEPT;
  for (let j = k - 1; j >= 0; j--) closure[j] = (2 ** j + (items[j]!.min === 0 ? closure[j + 1]! : 0)) >>> 0;
  const restart = anchored ? 0 : closure[0]!;
  const ids = new Map<number, number>();
  const sets: number[] = [];
  // Per state: 256 transitions by byte (-1: not built yet; -3 for bytes >= 0x80: not ASCII, the fallback decides),
  // `flags` (1: accepting) and `stop` (1: matched, the search is over; 2: dead, nothing left to match).
  const t = { next: new Int32Array(256 * 64), flags: new Uint8Array(64), stop: new Uint8Array(64) };
  const stateOf = (set: number): number => {
    let id = ids.get(set);
    if (id === undefined) {
      id = sets.length;
      if (id >= MAX_STATES) return -2;
      ids.set(set, id);
      sets.push(set);
      if (t.flags.length <= id) {
        t.next = doubled(t.next);
        t.flags = doubled(t.flags);
        t.stop = doubled(t.stop);
      }
      t.next.fill(-1, id * 256, id * 256 + 128);
      t.next.fill(-3, id * 256 + 128, id * 256 + 256);
      t.flags[id] = set >= ACCEPT ? 1 : 0;
      t.stop[id] = !dollar && set >= ACCEPT ? 1 : anchored && set === 0 ? 2 : 0;
    }
    return id;
  };
  const step = (id: number, c: number): number => {
    const set = sets[id]!;
    let out = restart;
    for (let j = 0; j < k; j++) {
      if (!(set & (2 ** j)) || !items[j]!.chars[c]) continue;
      out |= closure[j + 1]!;
      if (items[j]!.many) out |= 2 ** j;
    }
    // once matched (no $), the search has succeeded: keep the accepting bit
    if (!dollar && set >= ACCEPT) out |= ACCEPT;
    const to = stateOf(out);
    if (to >= 0) t.next[id * 256 + c] = to;
    return to;
  };
  const initial = stateOf(closure[0]!);
  /** The state after c (ASCII) from state s, built when new; -1: too many states, the fallback decides. */
  const move = (s: number, c: number): number => {
    const to = t.next[s * 256 + c]!;
    return to === -1 ? (step(s, c) < 0 ? -1 : t.next[s * 256 + c]!) : to;
  };
  // The walk over a value's code units (or bytes): one table look-up per character, and a stop as soon as the
  // verdict is known. `$` matches at the end or before a final newline, so with `$` a final \n is looked at last.
  // 1 / 0: the verdict; -1: the value needs the fallback (not ASCII, or too many states).
  const walkString = (value: string): number => {
    let s = initial;
    if (t.stop[s]) return t.stop[s] === 1 ? 1 : 0;
    const n = value.length;
    const last = dollar && n > 0 && value.charCodeAt(n - 1) === 10 ? n - 1 : n;
    for (let i = 0; i < last; i++) {
      const c = value.charCodeAt(i);
      if (c > 0x7f) return -1;
      const to = move(s, c);
      if (to < 0) return -1;
      s = to;
      const st = t.stop[s]!;
      if (st) return st === 1 ? 1 : 0;
    }
    if (last === n || t.flags[s]! & 1) return t.flags[s]! & 1;
    const to = move(s, 10);
    return to < 0 ? -1 : t.flags[to]! & 1;
  };
  const walkBytes = (b: Uint8Array, start: number, end: number): number => {
    let { next, stop } = t;
    let s = initial;
    if (stop[s]) return stop[s] === 1 ? 1 : 0;
    const last = dollar && end > start && b[end - 1] === 10 ? end - 1 : end;
    for (let i = start; i < last; i++) {
      let to = next[(s << 8) | b[i]!]!;
      if (to < 0) {
        if (to === -3) return -1;
        to = move(s, b[i]!);
        ({ next, stop } = t); // the tables may have grown
        if (to < 0) return -1;
      }
      s = to;
      const st = stop[s]!;
      if (st) return st === 1 ? 1 : 0;
    }
    if (last === end || t.flags[s]! & 1) return t.flags[s]! & 1;
    const to = move(s, 10);
    return to < 0 ? -1 : t.flags[to]! & 1;
  };
  const decoder = new TextDecoder();
  return {
    test: (value) => {
      const r = walkString(value);
      return r < 0 ? fallback(value) : r === 1;
    },
    testUtf8: (b, start, end) => {
      const r = walkBytes(b, start, end);
      return r < 0 ? fallback(decoder.decode(b.subarray(start, end))) : r === 1;
    },
    testUtf8Rows: (b, offsets, n, out) => {
      // walkBytes inlined for the common case (tables built, ASCII): one loop over the rows and their bytes
      let { next, stop, flags } = t;
      for (let row = 0; row < n; row++) {
        const start = offsets[row]!;
        const end = offsets[row + 1]!;
        const last = dollar && end > start && b[end - 1] === 10 ? end - 1 : end;
        let s = initial;
        let st = stop[s]!;
        let i = start;
        for (; st === 0 && i < last; i++) {
          const to = next[(s << 8) | b[i]!]!;
          if (to < 0) break;
          s = to;
          st = stop[s]!;
        }
        if (st !== 0) out[row] = st === 1 ? 1 : 0;
        else if (i === last && last === end) out[row] = flags[s]! & 1;
        else {
          // a byte with no transition yet, not ASCII, or the final newline before `$`: the whole walk
          const r = walkBytes(b, start, end);
          out[row] = r < 0 ? (fallback(decoder.decode(b.subarray(start, end))) ? 1 : 0) : r;
          ({ next, stop, flags } = t); // the tables may have grown
        }
      }
    },
  };
}
