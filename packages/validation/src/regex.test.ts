import { StrataError } from '@strata/core';
import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { pyRegex } from './regex.js';
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
