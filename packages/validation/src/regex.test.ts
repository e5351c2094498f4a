import { StrataError } from '@strata/core';
import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { parseSimplePattern, pyRegex } from './regex.js';
import { parseSuite } from './suite.js';
import { SuiteValidator } from './validator.js';

function validate(type: string, kwargs: Record<string, unknown>, values: string[]) {
  const v = new SuiteValidator(parseSuite({ name: 'rx', expectations: [{ type, kwargs }] }));
  v.update(new arrow.Table({ s: arrow.vectorFromArray(values, new arrow.Utf8()) }));
  return v.finish().results[0];
}

describe('expectation regexes run in linear time', () => {
  // A backtracking engine needs ~2^n steps for these: 3 rows of 50,000 characters would never finish.
  const evil = ['a'.repeat(50_000), `${'a'.repeat(50_000)}!`, `${'a'.repeat(25_000)}b${'a'.repeat(25_000)}!`];

  it('(a+)+$ on long values gives its verdict (every regex expectation)', () => {
    expect(validate('expect_column_values_to_match_regex', { column: 's', regex: '(a+)+$' }, evil)?.result).toMatchObject({
      unexpected_count: 2,
    });
    expect(validate('expect_column_values_to_match_regex', { column: 's', regex: '^(a+)+$' }, evil)?.result).toMatchObject({
      unexpected_count: 2,
    });
    expect(validate('expect_column_values_to_not_match_regex', { column: 's', regex: '^(a|aa)+$' }, evil)?.result).toMatchObject({
      unexpected_count: 1,
    });
    const list = { column: 's', regex_list: ['^(a*)*b', '(x+x+)+y'], match_on: 'any' };
    expect(validate('expect_column_values_to_match_regex_list', list, evil)?.result).toMatchObject({ unexpected_count: 2 });
    expect(validate('expect_column_values_to_not_match_regex_list', list, evil)?.result).toMatchObject({ unexpected_count: 1 });
  });

  it('refuses what RE2 cannot evaluate, naming it', () => {
    const cases: [string, RegExp][] = [
      ['(?=a)b', /lookahead/],
      ['a(?!b)', /negative lookahead/],
      ['(?<=a)b', /lookbehind/],
      ['(?<!a)b', /negative lookbehind/],
      ['(a)\\1', /back-reference/],
      ['(?P<x>a)(?P=x)', /named back-reference/],
      ['(?>a+)b', /atomic group/],
      ['a++', /possessive/],
      ['(a)?(?(1)b|c)', /conditional/],
    ];
    for (const [src, what] of cases) {
      const err = (() => {
        try {
          pyRegex(src, 'suite.expectations[0].kwargs.regex');
        } catch (e) {
          return e;
        }
      })() as StrataError;
      expect(err, src).toBeInstanceOf(StrataError);
      expect(err.code).toBe('INVALID_SPEC');
      expect(err.message).toMatch(what);
      expect(err.where).toBe('suite.expectations[0].kwargs.regex');
    }
    expect(() => pyRegex('(unclosed')).toThrow(/invalid regular expression/);
  });

  it('keeps the meaning of Python-only syntax', () => {
    expect(pyRegex('(?P<year>\\d{4})-\\d\\d\\Z').test('on 2024-01')).toBe(true);
    expect(pyRegex('\\Aab').test('xab')).toBe(false);
    expect(pyRegex('abc$').test('abc\n')).toBe(true); // Python's $ matches before a final newline
    expect(pyRegex('abc\\Z').test('abc\n')).toBe(false);
    expect(pyRegex('^\\d+$').test('١٢٣')).toBe(true); // Unicode digits, as in Python 3
    expect(pyRegex('^\\w+$').test('héllo_wörld')).toBe(true);
    expect(pyRegex('[\\d]').test('x٣')).toBe(true);
    expect(pyRegex('[]a]').test(']')).toBe(true);
  });
});

describe('the ASCII DFA of simple patterns gives the RE2 verdict', () => {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return Math.floor((seed / 2 ** 32) * n);
  };
  const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!;
  const atoms = ['a', 'b', '@', '.', '\\.', '[a-c]', '[^@]', '[^a\n]', '[ab-]', '[-x.]', 'x', '\\-', ' ', '\n', '\\\\'];
  const randomPattern = () => {
    let p = rnd(3) === 0 ? '^' : '';
    const k = rnd(6);
    for (let i = 0; i < k; i++) p += pick(atoms) + pick(['', '', '*', '+', '?']);
    return p + (rnd(3) === 0 ? '$' : '');
  };
  const alphabet = ['a', 'b', 'c', '@', '.', 'x', '-', ' ', '\n', '\\', 'é', '😀'];
  const randomValue = () => {
    const n = rnd(9);
    let v = '';
    for (let i = 0; i < n; i++) v += pick(alphabet);
    return v;
  };
  // the same pattern without its fast path: a group around it keeps it on RE2 alone
  const re2Only = (p: string) => {
    const anchoredStart = p.startsWith('^');
    const anchoredEnd = p.endsWith('$') && !p.endsWith('\\$');
    const core = p.slice(anchoredStart ? 1 : 0, anchoredEnd ? -1 : undefined);
    return pyRegex(`${anchoredStart ? '^' : ''}(?:${core})${anchoredEnd ? '$' : ''}`);
  };

  it('parses the simple patterns and leaves the others to RE2', () => {
    for (const p of ['^[^@]+@[^@]+\\.[a-z]+$', 'abc', '^a.*b?$', '[-a-z0-9_.]+', '\\.\\$', ''])
      expect(parseSimplePattern(p)).not.toBeNull();
    for (const p of ['(a)', 'a|b', 'a{2}', 'a+?', '\\d', '\\bx', 'a$b', 'x^', '[]a]', '[a', 'é', '(?i)a', '*a', 'a**', '[[a]'])
      expect(parseSimplePattern(p)).toBeNull();
  });

  it('agrees with RE2 on 500 random patterns x 200 random values (ASCII and not), on strings and on UTF-8 bytes', () => {
    let checked = 0;
    const buf = new Uint8Array(64);
    for (let t = 0; t < 500; t++) {
      const p = randomPattern();
      expect(parseSimplePattern(p), p).not.toBeNull();
      const fast = pyRegex(p);
      const slow = re2Only(p);
      const values: string[] = [];
      const wants: number[] = [];
      for (let v = 0; v < 200; v++) {
        const value = randomValue();
        const want = slow.test(value);
        values.push(value);
        wants.push(want ? 1 : 0);
        if (fast.test(value) !== want) throw new Error(`${JSON.stringify(p)} on ${JSON.stringify(value)}`);
        // the value's bytes somewhere inside a bigger buffer, with other bytes around it
        buf.fill(0x40);
        const at = 3 + (v % 5);
        const n = Buffer.from(buf.buffer).write(value, at, 'utf8');
        if (fast.testUtf8!(buf, at, at + n) !== want) throw new Error(`bytes: ${JSON.stringify(p)} on ${JSON.stringify(value)}`);
        checked++;
      }
      // all 200 values as one column: offsets into one buffer, every verdict in one call
      const parts = values.map((x) => Buffer.from(x, 'utf8'));
      const offsets = new Int32Array(parts.length + 1);
      for (let i = 0; i < parts.length; i++) offsets[i + 1] = offsets[i]! + parts[i]!.length;
      const out = new Uint8Array(parts.length);
      fast.testUtf8Rows!(Buffer.concat(parts), offsets, parts.length, out);
      expect(Array.from(out), p).toEqual(wants);
    }
    expect(checked).toBe(100_000);
  });

  it('agrees with RE2 on the e-mail pattern of the benchmark', () => {
    const p = '^[^@]+@[^@]+\\.[a-z]+$';
    const fast = pyRegex(p);
    const slow = re2Only(p);
    const values = [
      'user1@example.com',
      'user1example.com',
      'a@b.c',
      'a@b.',
      '@b.c',
      'a@@b.c',
      'a@b.c\n',
      'a@b.c\n\n',
      'a@b.C',
      'ü@b.c',
      'a@b.cé',
      'a@b.c.d',
      'a b@c d.ef',
    ];
    for (let i = 0; i < 2000; i++) values.push(randomValue() + pick(['@', '.', '']) + randomValue());
    for (const v of values) expect(fast.test(v), JSON.stringify(v)).toBe(slow.test(v));
    expect(fast.test('user1@example.com')).toBe(true);
    expect(fast.test('user1example.com')).toBe(false);
  });

  it('stays linear on long values', () => {
    const fast = pyRegex('^[^@]+@[^@]+\\.[a-z]+$');
    expect(fast.test(`${'a'.repeat(200_000)}@${'.'.repeat(200_000)}!`)).toBe(false);
    expect(fast.test(`${'a'.repeat(200_000)}@${'.'.repeat(200_000)}z`)).toBe(true);
  });
});
