/**
 * Regex verdicts against the real Python `re` (what GE evaluates with): every pattern × value below is run through
 * Python's re.search and through Strata's linear-time engine, and the verdicts must be equal. Uses STRATA_GX_PYTHON
 * (the GE venv) or else python3 from the PATH.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { pyRegex } from './regex.js';

const python = process.env.STRATA_GX_PYTHON || 'python3';

const patterns = [
  '^[^@]+@[^@]+\\.[a-z]+$',
  '@',
  'user1',
  '^(?P<user>[a-z]+)(?P<n>\\d+)$',
  '\\Aab',
  'ab\\Z',
  'ab$',
  '^$',
  '^\\d+$',
  '^\\D+$',
  '^\\w+$',
  '\\W',
  '\\s',
  '^\\S+$',
  '[\\d]{2}',
  '[\\w-]+@',
  '[\\s,]',
  '(?i)^abc',
  '(?s)a.b',
  'a.b',
  '(?m)^b$',
  '^(a|b)*c{2,3}$',
  'x{2}',
  '[]x]',
  '[^]x]',
  '\\.',
  '\\$',
  '[$]',
  '^[A-Z][a-z]*( [A-Z][a-z]*)*$',
  '(a+)+$',
  '^(\\d{4})-(\\d{2})-(\\d{2})$',
  '\\bword\\b',
  '\\t',
];
const values = [
  '',
  'ab',
  'xab',
  'ab\n',
  'ab\n\n',
  'a\nb',
  'abc',
  'ABC',
  'abcc',
  'abccc',
  'user1@example.com',
  'user12',
  'no-at-sign',
  '12345',
  '١٢٣',
  '²³',
  'héllo_wörld',
  'a b',
  'a\u00a0b',
  'a\u2003b',
  'a\tb',
  'a\u000bb',
  ']',
  'x]',
  'xx',
  'a.b',
  'a$b',
  '$',
  'Hello World',
  'hello world',
  '2024-01-31',
  '2024-1-31',
  'a word here',
  'swordfish',
  'aaaa',
  'aaaa!',
  'abacbc',
  'ccc',
  'b',
];

describe('regex verdicts equal Python re.search', () => {
  it(`${patterns.length} patterns × ${values.length} values`, () => {
    const script = [
      'import json, re, sys',
      'd = json.load(sys.stdin)',
      'print(json.dumps([[re.search(p, v) is not None for v in d["values"]] for p in d["patterns"]]))',
    ].join('\n');
    const out = execFileSync(python, ['-c', script], { input: JSON.stringify({ patterns, values }), encoding: 'utf8' });
    const want = JSON.parse(out) as boolean[][];
    const diffs: string[] = [];
    patterns.forEach((p, i) => {
      const rx = pyRegex(p);
      values.forEach((v, j) => {
        if (rx.test(v) !== want[i]?.[j]) diffs.push(`${JSON.stringify(p)} on ${JSON.stringify(v)}: Python ${want[i]?.[j]}`);
      });
    });
    expect(diffs).toEqual([]);
  });
});
