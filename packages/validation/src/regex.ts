/**
 * Regular expressions of expectations, written for Python's `re` (GE runs `re.search` on each value), evaluated by
 * RE2 (the re2js port): linear time in the length of the value whatever the pattern, so no suite can hang a worker
 * ("(a+)+$" on a long string is as quick as "a+$"). The pattern is translated where Python and RE2 differ in meaning
 * (\Z, $ before a final newline, Unicode \d \w \s); what RE2 cannot do at all (look-around, back-references, atomic
 * groups, possessive quantifiers, conditionals) is refused with a clear error instead of being evaluated differently.
 */
import { invalidSpec } from '@strata/core';
import { RE2JS } from 're2js';

/** A compiled pattern: `test` is Python's `re.search(pattern, value) is not None`. */
export interface PyRegex {
  readonly source: string;
  test(value: string): boolean;
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
  return { source: src, test: (value: string) => compiled.test(value) };
}
