import { StrataError } from '@strata/core';
import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { supportedExpectations } from './expectations.js';
import { parseSuite } from './suite.js';
import { f64, i64, str, table, ts } from './testing/data.js';
import { SuiteValidator, type ValidationResult } from './validator.js';

// One table with nulls in most columns; every case below runs on it.
const data = table({
  n: f64([1, 2, 3, null, 5, 5]),
  i: i64([1, 2, 3, 4, 5, 6]),
  s: str(['a', 'bb', 'ccc', null, 'a', 'dd']),
  dt: str(['2024-01-01', '2024-01-31', '2024-02-30', null, '2024-02-29', '2023-02-29']),
  A: f64([2, 3, 4, null, 6, null]),
  B: f64([1, 3, 3, 1, null, null]),
  p: f64([5, 6, null, 7, null, 3]),
  q: f64([5, 4, 10, 3, null, 3]),
  k: i64([1, 1, 2, 2, 1, 3]),
  t: ts([
    '2024-01-01T00:00:00Z',
    '2024-01-02T00:00:00Z',
    null,
    '2024-01-03T00:00:00Z',
    '2024-01-05T00:00:00Z',
    '2024-01-04T00:00:00Z',
  ]),
});

function run(
  type: string,
  kwargs: Record<string, unknown>,
  resultFormat: 'BOOLEAN_ONLY' | 'BASIC' | 'SUMMARY' | 'COMPLETE' = 'SUMMARY',
) {
  const v = new SuiteValidator(parseSuite({ name: 't', expectations: [{ type, kwargs }] }), { resultFormat });
  // two batches, to exercise the streaming state
  const half = data.slice(0, 3);
  const rest = data.slice(3);
  v.update(half);
  v.update(rest);
  const r = v.finish();
  return r.results[0]!;
}

type Case = [type: string, kwargs: Record<string, unknown>, success: boolean, check?: Record<string, unknown>];

const cases: Record<string, Case[]> = {
  table: [
    ['expect_table_row_count_to_be_between', { min_value: 1, max_value: 6 }, true, { observed_value: 6 }],
    ['expect_table_row_count_to_be_between', { min_value: 1, max_value: 6, strict_max: true }, false],
    ['expect_table_row_count_to_be_between', { min_value: 7, max_value: null }, false],
    ['expect_table_row_count_to_equal', { value: 6 }, true],
    ['expect_table_row_count_to_equal', { value: 5 }, false],
    ['expect_table_columns_to_match_ordered_list', { column_list: ['n', 'i', 's', 'dt', 'A', 'B', 'p', 'q', 'k', 't'] }, true],
    ['expect_table_columns_to_match_ordered_list', { column_list: ['i', 'n'] }, false],
    ['expect_table_columns_to_match_set', { column_set: ['t', 'k', 'q', 'p', 'B', 'A', 'dt', 's', 'i', 'n'] }, true],
    ['expect_table_columns_to_match_set', { column_set: ['n', 'i'] }, false],
    ['expect_table_columns_to_match_set', { column_set: ['n', 'i'], exact_match: false }, true],
    ['expect_table_columns_to_match_set', { column_set: ['n', 'zz'], exact_match: false }, false],
    ['expect_table_column_count_to_be_between', { min_value: 10, max_value: 10 }, true, { observed_value: 10 }],
    ['expect_table_column_count_to_be_between', { min_value: 11 }, false],
    ['expect_table_column_count_to_equal', { value: 10 }, true],
    ['expect_table_column_count_to_equal', { value: 3 }, false],
    ['expect_column_to_exist', { column: 's' }, true],
    ['expect_column_to_exist', { column: 'nope' }, false],
    ['expect_column_to_exist', { column: 'i', column_index: 1 }, true],
    ['expect_column_to_exist', { column: 'i', column_index: 2 }, false],
  ],
  nulls: [
    ['expect_column_values_to_not_be_null', { column: 'i' }, true, { unexpected_count: 0 }],
    ['expect_column_values_to_not_be_null', { column: 'n' }, false, { unexpected_count: 1, partial_unexpected_list: [null] }],
    ['expect_column_values_to_not_be_null', { column: 'n', mostly: 0.8 }, true],
    ['expect_column_values_to_be_null', { column: 'n' }, false, { unexpected_count: 5 }],
    ['expect_column_values_to_be_null', { column: 'n', mostly: 0.1 }, true],
  ],
  values: [
    [
      'expect_column_values_to_be_between',
      { column: 'n', min_value: 1, max_value: 5 },
      true,
      { unexpected_count: 0, missing_count: 1 },
    ],
    [
      'expect_column_values_to_be_between',
      { column: 'n', min_value: 2, max_value: 4 },
      false,
      { unexpected_count: 3, unexpected_percent: 60 },
    ],
    [
      'expect_column_values_to_be_between',
      { column: 'n', min_value: 1, max_value: 5, strict_min: true },
      false,
      { unexpected_count: 1 },
    ],
    [
      'expect_column_values_to_be_between',
      { column: 'n', min_value: 1, max_value: 5, strict_max: true },
      false,
      { unexpected_count: 2 },
    ],
    ['expect_column_values_to_be_between', { column: 'n', max_value: 3 }, false, { unexpected_count: 2 }],
    [
      'expect_column_values_to_be_between',
      { column: 'n', min_value: 2, max_value: 5, mostly: 0.8 },
      true,
      { unexpected_count: 1 },
    ],
    ['expect_column_values_to_be_between', { column: 'n', min_value: 2, max_value: 4, mostly: 0.5 }, false],
    [
      'expect_column_values_to_be_between',
      { column: 't', min_value: '2024-01-01', max_value: '2024-01-04' },
      false,
      { unexpected_count: 1 },
    ],
    ['expect_column_values_to_be_in_set', { column: 's', value_set: ['a', 'bb', 'ccc', 'dd'] }, true],
    [
      'expect_column_values_to_be_in_set',
      { column: 's', value_set: ['a', 'bb'] },
      false,
      { unexpected_count: 2, partial_unexpected_list: ['ccc', 'dd'] },
    ],
    ['expect_column_values_to_be_in_set', { column: 's', value_set: ['a', 'bb', 'ccc'], mostly: 0.8 }, true],
    ['expect_column_values_to_be_in_set', { column: 'n', value_set: [1, 2, 3, 5] }, true],
    ['expect_column_values_to_not_be_in_set', { column: 's', value_set: ['zz'] }, true],
    ['expect_column_values_to_not_be_in_set', { column: 's', value_set: ['a'] }, false, { unexpected_count: 2 }],
    ['expect_column_values_to_not_be_in_set', { column: 's', value_set: ['dd'], mostly: 0.8 }, true],
    ['expect_column_values_to_match_regex', { column: 's', regex: '^[a-d]+$' }, true],
    ['expect_column_values_to_match_regex', { column: 's', regex: '^a' }, false, { unexpected_count: 3 }],
    ['expect_column_values_to_match_regex', { column: 's', regex: '(?P<x>c)\\Z|a|b|d', mostly: 0.6 }, true],
    ['expect_column_values_to_not_match_regex', { column: 's', regex: 'z' }, true],
    ['expect_column_values_to_not_match_regex', { column: 's', regex: 'c' }, false, { unexpected_count: 1 }],
    ['expect_column_values_to_not_match_regex', { column: 's', regex: 'a', mostly: 0.6 }, true],
    ['expect_column_values_to_match_regex_list', { column: 's', regex_list: ['a', 'b', 'c', 'd'] }, true],
    ['expect_column_values_to_match_regex_list', { column: 's', regex_list: ['a', 'b'] }, false, { unexpected_count: 2 }],
    [
      'expect_column_values_to_match_regex_list',
      { column: 's', regex_list: ['^.$', 'a'], match_on: 'all' },
      false,
      { unexpected_count: 3 },
    ],
    ['expect_column_values_to_match_regex_list', { column: 's', regex_list: ['a', 'b', 'c'], mostly: 0.8 }, true],
    ['expect_column_values_to_not_match_regex_list', { column: 's', regex_list: ['x', 'y'] }, true],
    ['expect_column_values_to_not_match_regex_list', { column: 's', regex_list: ['a', 'd'] }, false, { unexpected_count: 3 }],
    ['expect_column_values_to_not_match_regex_list', { column: 's', regex_list: ['d'], mostly: 0.8 }, true],
    ['expect_column_values_to_be_of_type', { column: 'n', type_: 'float64' }, true, { observed_value: 'float64' }],
    ['expect_column_values_to_be_of_type', { column: 'i', type_: 'float' }, false, { observed_value: 'int64' }],
    ['expect_column_values_to_be_of_type', { column: 's', type_: 'str' }, true],
    ['expect_column_values_to_be_of_type', { column: 's', type_: 'int', mostly: 0.5 }, false, { unexpected_count: 5 }],
    ['expect_column_values_to_be_in_type_list', { column: 'i', type_list: ['int32', 'int64'] }, true],
    ['expect_column_values_to_be_in_type_list', { column: 'i', type_list: ['str'] }, false],
    ['expect_column_values_to_be_in_type_list', { column: 's', type_list: ['INT64', 'STRING'] }, true],
    ['expect_column_value_lengths_to_be_between', { column: 's', min_value: 1, max_value: 3 }, true],
    ['expect_column_value_lengths_to_be_between', { column: 's', min_value: 2 }, false, { unexpected_count: 2 }],
    ['expect_column_value_lengths_to_be_between', { column: 's', min_value: 1, max_value: 2, mostly: 0.8 }, true],
    ['expect_column_value_lengths_to_equal', { column: 'dt', value: 10 }, true],
    ['expect_column_value_lengths_to_equal', { column: 's', value: 1 }, false, { unexpected_count: 3 }],
    ['expect_column_value_lengths_to_equal', { column: 's', value: 1, mostly: 0.4 }, true],
    [
      'expect_column_values_to_match_strftime_format',
      { column: 'dt', strftime_format: '%Y-%m-%d' },
      false,
      { unexpected_count: 2, partial_unexpected_list: ['2024-02-30', '2023-02-29'] },
    ],
    ['expect_column_values_to_match_strftime_format', { column: 'dt', strftime_format: '%Y-%m-%d', mostly: 0.6 }, true],
    [
      'expect_column_values_to_match_strftime_format',
      { column: 'dt', strftime_format: '%d/%m/%Y' },
      false,
      { unexpected_count: 5 },
    ],
    ['expect_column_values_to_be_increasing', { column: 'i' }, true],
    ['expect_column_values_to_be_increasing', { column: 'n' }, true],
    ['expect_column_values_to_be_increasing', { column: 'n', strictly: true }, false, { unexpected_count: 1 }],
    ['expect_column_values_to_be_increasing', { column: 't' }, false, { unexpected_count: 1 }],
    ['expect_column_values_to_be_increasing', { column: 't', mostly: 0.75 }, true],
    ['expect_column_values_to_be_decreasing', { column: 'n' }, false, { unexpected_count: 3 }],
    ['expect_column_values_to_be_decreasing', { column: 'n', mostly: 0.2 }, true],
    ['expect_column_values_to_be_unique', { column: 'i' }, true],
    [
      'expect_column_values_to_be_unique',
      { column: 'n' },
      false,
      { unexpected_count: 2, partial_unexpected_list: [5, 5], partial_unexpected_index_list: [4, 5] },
    ],
    ['expect_column_values_to_be_unique', { column: 's', mostly: 0.6 }, true, { unexpected_count: 2 }],
    ['expect_column_value_z_scores_to_be_less_than', { column: 'n', threshold: 3, double_sided: true }, true],
    [
      'expect_column_value_z_scores_to_be_less_than',
      { column: 'n', threshold: 1, double_sided: true },
      false,
      { unexpected_count: 3 },
    ],
    [
      'expect_column_value_z_scores_to_be_less_than',
      { column: 'n', threshold: 1, double_sided: false },
      false,
      { unexpected_count: 2 },
    ],
    ['expect_column_value_z_scores_to_be_less_than', { column: 'n', threshold: 1, double_sided: true, mostly: 0.4 }, true],
  ],
  aggregates: [
    ['expect_column_mean_to_be_between', { column: 'n', min_value: 3, max_value: 3.5 }, true, { observed_value: 3.2 }],
    ['expect_column_mean_to_be_between', { column: 'n', min_value: 3.2, strict_min: true }, false],
    ['expect_column_median_to_be_between', { column: 'n', min_value: 3, max_value: 3 }, true, { observed_value: 3 }],
    ['expect_column_median_to_be_between', { column: 'i', min_value: 3, max_value: 3 }, false, { observed_value: 3.5 }],
    ['expect_column_stdev_to_be_between', { column: 'n', min_value: 1.7, max_value: 1.8 }, true],
    ['expect_column_stdev_to_be_between', { column: 'n', max_value: 1 }, false],
    ['expect_column_sum_to_be_between', { column: 'n', min_value: 16, max_value: 16 }, true, { observed_value: 16 }],
    ['expect_column_sum_to_be_between', { column: 'i', min_value: 22 }, false, { observed_value: 21 }],
    ['expect_column_min_to_be_between', { column: 'n', min_value: 1, max_value: 1 }, true, { observed_value: 1 }],
    ['expect_column_min_to_be_between', { column: 'n', min_value: 1, strict_min: true }, false],
    ['expect_column_max_to_be_between', { column: 'n', max_value: 5 }, true, { observed_value: 5 }],
    [
      'expect_column_max_to_be_between',
      { column: 't', max_value: '2024-01-04' },
      false,
      { observed_value: '2024-01-05T00:00:00.000Z' },
    ],
    [
      'expect_column_proportion_of_unique_values_to_be_between',
      { column: 'n', min_value: 0.8, max_value: 0.8 },
      true,
      { observed_value: 0.8 },
    ],
    ['expect_column_proportion_of_unique_values_to_be_between', { column: 'i', max_value: 0.9 }, false, { observed_value: 1 }],
    ['expect_column_unique_value_count_to_be_between', { column: 's', min_value: 4, max_value: 4 }, true, { observed_value: 4 }],
    ['expect_column_unique_value_count_to_be_between', { column: 's', min_value: 5 }, false],
    ['expect_column_distinct_values_to_be_in_set', { column: 's', value_set: ['a', 'bb', 'ccc', 'dd', 'e'] }, true],
    [
      'expect_column_distinct_values_to_be_in_set',
      { column: 's', value_set: ['a'] },
      false,
      { unexpected_count: 3, partial_unexpected_list: ['bb', 'ccc', 'dd'] },
    ],
    ['expect_column_distinct_values_to_contain_set', { column: 's', value_set: ['a', 'dd'] }, true],
    [
      'expect_column_distinct_values_to_contain_set',
      { column: 's', value_set: ['a', 'zz'] },
      false,
      { missing_count: 1, partial_missing_list: ['zz'] },
    ],
    ['expect_column_distinct_values_to_equal_set', { column: 's', value_set: ['a', 'bb', 'ccc', 'dd'] }, true],
    [
      'expect_column_distinct_values_to_equal_set',
      { column: 's', value_set: ['a', 'bb', 'ccc', 'e'] },
      false,
      { unexpected_count: 1, missing_count: 1 },
    ],
    ['expect_column_most_common_value_to_be_in_set', { column: 's', value_set: ['a'] }, true, { observed_value: ['a'] }],
    ['expect_column_most_common_value_to_be_in_set', { column: 's', value_set: ['bb'] }, false],
    ['expect_column_most_common_value_to_be_in_set', { column: 'k', value_set: [1] }, true, { observed_value: [1] }],
    ['expect_column_most_common_value_to_be_in_set', { column: 'q', value_set: [3], ties_okay: true }, true],
    ['expect_column_most_common_value_to_be_in_set', { column: 'i', value_set: [1] }, false],
    [
      'expect_column_quantile_values_to_be_between',
      {
        column: 'n',
        quantile_ranges: {
          quantiles: [0, 0.5, 1],
          value_ranges: [
            [1, 1],
            [3, 3],
            [null, 5],
          ],
        },
      },
      true,
      { observed_value: { quantiles: [0, 0.5, 1], values: [1, 3, 5] } },
    ],
    [
      'expect_column_quantile_values_to_be_between',
      { column: 'n', quantile_ranges: { quantiles: [0.25], value_ranges: [[3, 4]] } },
      false,
      { observed_value: { quantiles: [0.25], values: [2] } },
    ],
    [
      'expect_column_quantile_values_to_be_between',
      { column: 'n', quantile_ranges: { quantiles: [0.5], value_ranges: [[null, 2]] } },
      false,
    ],
    [
      'expect_column_kl_divergence_to_be_less_than',
      { column: 's', partition_object: { values: ['a', 'bb', 'ccc', 'dd'], weights: [0.4, 0.2, 0.2, 0.2] }, threshold: 0.01 },
      true,
      { observed_value: 0 },
    ],
    [
      'expect_column_kl_divergence_to_be_less_than',
      { column: 's', partition_object: { values: ['a', 'bb'], weights: [0.9, 0.1] }, threshold: 0.5 },
      false,
      { observed_value: null },
    ],
    [
      'expect_column_kl_divergence_to_be_less_than',
      { column: 'n', partition_object: { bins: [0, 2.5, 6], weights: [0.4, 0.6] }, threshold: 0.01 },
      true,
    ],
    [
      'expect_column_kl_divergence_to_be_less_than',
      { column: 'n', partition_object: { bins: [0, 2.5, 6], weights: [0.9, 0.1] }, threshold: 0.1 },
      false,
    ],
  ],
  multicolumn: [
    ['expect_compound_columns_to_be_unique', { column_list: ['s', 'i'] }, true],
    [
      'expect_compound_columns_to_be_unique',
      { column_list: ['s', 'k'] },
      false,
      { unexpected_count: 2, partial_unexpected_index_list: [0, 4] },
    ],
    ['expect_compound_columns_to_be_unique', { column_list: ['s', 'k'], mostly: 0.6 }, true],
    ['expect_column_pair_values_a_to_be_greater_than_b', { column_A: 'i', column_B: 'k' }, false, { unexpected_count: 1 }],
    ['expect_column_pair_values_a_to_be_greater_than_b', { column_A: 'i', column_B: 'k', or_equal: true }, true],
    [
      'expect_column_pair_values_a_to_be_greater_than_b',
      { column_A: 'A', column_B: 'B' },
      false,
      { unexpected_count: 3, missing_count: 1 },
    ],
    [
      'expect_column_pair_values_a_to_be_greater_than_b',
      { column_A: 'A', column_B: 'B', or_equal: true, ignore_row_if: 'either_value_is_missing' },
      true,
    ],
    [
      'expect_column_pair_values_a_to_be_greater_than_b',
      { column_A: 'A', column_B: 'B', or_equal: true, mostly: 0.6 },
      true,
      { unexpected_count: 2 },
    ],
    ['expect_column_pair_values_to_be_equal', { column_A: 'i', column_B: 'i' }, true],
    ['expect_column_pair_values_to_be_equal', { column_A: 'A', column_B: 'B' }, false, { unexpected_count: 4 }],
    ['expect_column_pair_values_to_be_equal', { column_A: 'A', column_B: 'B', mostly: 0.2 }, true],
    [
      'expect_multicolumn_sum_to_equal',
      { column_list: ['p', 'q'], sum_total: 10 },
      false,
      { unexpected_count: 2, element_count: 6, missing_count: 1 },
    ],
    ['expect_multicolumn_sum_to_equal', { column_list: ['p', 'q'], sum_total: 10, mostly: 0.6 }, true],
    [
      'expect_multicolumn_sum_to_equal',
      { column_list: ['p', 'q'], sum_total: 10, ignore_row_if: 'any_value_is_missing', mostly: 0.7 },
      true,
      { unexpected_count: 1 },
    ],
  ],
};

describe('expectations (pass / fail / nulls / mostly)', () => {
  for (const [group, list] of Object.entries(cases)) {
    describe(group, () => {
      list.forEach(([type, kwargs, success, check], i) => {
        it(`${type} #${i} ${JSON.stringify(kwargs)}`, () => {
          const r = run(type, kwargs);
          expect(r.exception_info.exception_message).toBeNull();
          expect(r.success).toBe(success);
          if (check) expect(r.result).toMatchObject(check);
        });
      });
    });
  }

  it('covers every supported expectation', () => {
    const tested = new Set(Object.values(cases).flatMap((l) => l.map((c) => c[0])));
    expect(supportedExpectations().filter((t) => !tested.has(t))).toEqual([]);
  });
});

describe('result shape', () => {
  it('follows GE: percentages over non-null rows, SUMMARY counts and indices', () => {
    const r = run('expect_column_values_to_be_between', { column: 'n', min_value: 2, max_value: 4, mostly: 0.5 });
    expect(r.result).toEqual({
      element_count: 6,
      unexpected_count: 3,
      unexpected_percent: 60,
      partial_unexpected_list: [1, 5, 5],
      missing_count: 1,
      missing_percent: (1 / 6) * 100,
      unexpected_percent_total: 50,
      unexpected_percent_nonmissing: 60,
      partial_unexpected_counts: [
        { value: 5, count: 2 },
        { value: 1, count: 1 },
      ],
      partial_unexpected_index_list: [0, 4, 5],
    });
    expect(r.expectation_config).toMatchObject({
      type: 'expect_column_values_to_be_between',
      expectation_type: 'expect_column_values_to_be_between',
    });
  });

  it('BOOLEAN_ONLY, BASIC and COMPLETE', () => {
    const kw = { column: 's', value_set: ['a'] };
    expect(run('expect_column_values_to_be_in_set', kw, 'BOOLEAN_ONLY').result).toEqual({});
    const basic = run('expect_column_values_to_be_in_set', kw, 'BASIC').result;
    expect(basic.partial_unexpected_list).toEqual(['bb', 'ccc', 'dd']);
    expect(basic).not.toHaveProperty('partial_unexpected_counts');
    const complete = run('expect_column_values_to_be_in_set', kw, 'COMPLETE').result;
    expect(complete.unexpected_list).toEqual(['bb', 'ccc', 'dd']);
    expect(complete.unexpected_index_list).toEqual([1, 2, 5]);
  });

  it('keeps at most 20 partial unexpected values', () => {
    const big = table({ x: f64(Array.from({ length: 100 }, (_, i) => i)) });
    const v = new SuiteValidator(
      parseSuite({
        name: 'x',
        expectations: [{ type: 'expect_column_values_to_be_between', kwargs: { column: 'x', max_value: 10 } }],
      }),
    );
    v.update(big);
    const res = v.finish().results[0]!.result;
    expect(res.unexpected_count).toBe(89);
    expect((res.partial_unexpected_list as unknown[]).length).toBe(20);
    expect(res.partial_unexpected_list).toEqual(Array.from({ length: 20 }, (_, i) => i + 11));
  });

  it('statistics and overall success', () => {
    const v = new SuiteValidator(
      parseSuite({
        name: 'x',
        expectations: [
          { type: 'expect_column_values_to_not_be_null', kwargs: { column: 'i' } },
          { type: 'expect_column_values_to_not_be_null', kwargs: { column: 'n' } },
        ],
      }),
    );
    v.update(data);
    const r: ValidationResult = v.finish();
    expect(r.success).toBe(false);
    expect(r.statistics).toEqual({
      evaluated_expectations: 2,
      successful_expectations: 1,
      unsuccessful_expectations: 1,
      success_percent: 50,
    });
    expect(r.meta.row_count).toBe(6);
  });
});

describe('bad input', () => {
  it('reports an unknown expectation type without crashing, naming the supported ones', () => {
    const r = run('expect_column_values_to_be_purple', { column: 'n' });
    expect(r.success).toBe(false);
    expect(r.exception_info.raised_exception).toBe(true);
    expect(r.exception_info.exception_message).toContain('expect_column_values_to_be_between');
  });

  it('reports a missing column per expectation, like GE', () => {
    const r = run('expect_column_values_to_be_between', { column: 'nope', min_value: 1 });
    expect(r.success).toBe(false);
    expect(r.exception_info.exception_message).toBe('Error: The column "nope" in BatchData does not exist.');
  });

  it('fails up front on columns the view lacks (columnsAvailable)', () => {
    const v = new SuiteValidator(
      parseSuite({
        name: 'x',
        expectations: [{ type: 'expect_column_mean_to_be_between', kwargs: { column: 'zz', min_value: 0 } }],
      }),
      {
        columnsAvailable: ['a', 'b'],
      },
    );
    const r = v.finish();
    expect(r.results[0]!.exception_info.exception_message).toContain('"zz"');
  });

  it('rejects kwargs of the wrong type with a StrataError naming the kwarg', () => {
    const suite = parseSuite({
      name: 'x',
      expectations: [{ type: 'expect_column_values_to_be_between', kwargs: { column: 'n', min_value: [1] } }],
    });
    try {
      new SuiteValidator(suite);
      expect.unreachable();
    } catch (err) {
      expect(StrataError.is(err, 'INVALID_SPEC')).toBe(true);
      expect((err as StrataError).where).toBe('x.expectations[0] (expect_column_values_to_be_between).kwargs.min_value');
      expect((err as StrataError).hint).toBeTruthy();
    }
    expect(
      () =>
        new SuiteValidator(
          parseSuite({
            name: 'x',
            expectations: [{ type: 'expect_column_values_to_be_in_set', kwargs: { column: 'n', mostly: 2, value_set: [] } }],
          }),
        ),
    ).toThrow(/mostly/);
  });

  it('turns a type mismatch at run time into an exception result', () => {
    const r = run('expect_column_mean_to_be_between', { column: 's', min_value: 1 });
    expect(r.success).toBe(false);
    expect(r.exception_info.exception_message).toMatch(/numeric column/);
    const r2 = run('expect_column_values_to_be_between', { column: 'n' });
    expect(r2.exception_info.exception_message).toBe('min_value and max_value cannot both be None');
  });

  it('treats NaN as missing and Infinity as a value', () => {
    const t = table({ x: f64([1, Number.NaN, Number.POSITIVE_INFINITY, null]) });
    const v = new SuiteValidator(
      parseSuite({
        name: 'x',
        expectations: [
          { type: 'expect_column_values_to_be_between', kwargs: { column: 'x', min_value: 0, max_value: 10 } },
          { type: 'expect_column_values_to_not_be_null', kwargs: { column: 'x' } },
        ],
      }),
    );
    v.update(t);
    const [between, notNull] = v.finish().results;
    expect(between!.result).toMatchObject({
      element_count: 4,
      missing_count: 2,
      unexpected_count: 1,
      partial_unexpected_list: [null],
    });
    expect(notNull!.result).toMatchObject({ unexpected_count: 2 });
  });

  it('resolves $PARAMETER from run parameters and reports a missing one', () => {
    const suite = parseSuite({
      name: 'x',
      expectations: [{ type: 'expect_table_row_count_to_be_between', kwargs: { min_value: { $PARAMETER: 'min_rows' } } }],
    });
    const v = new SuiteValidator(suite, { runParameters: { min_rows: 7 } });
    v.update(data);
    const r = v.finish();
    expect(r.results[0]!.success).toBe(false);
    expect(r.results[0]!.expectation_config.kwargs.min_value).toBe(7);
    expect(() => new SuiteValidator(suite)).toThrow(/min_rows/);
  });
});

const isAscii = (v: string) => [...v].every((ch) => ch.charCodeAt(0) < 0x80);

describe('string expectations on UTF-8 bytes', () => {
  // The same values as plain Utf8 columns (read on their bytes, strings made only when needed) and as dictionary
  // columns (read as JS strings): every verdict, count and unexpected list must be the same.
  const words = ['US', 'DE', 'FR', '', 'x@y.com', 'a@b.c', 'bad', '2024-01-31', '2024-02-30', 'déjà', 'ü@b.c', 'Z'];
  const value = (i: number, k: number) =>
    i % 11 === 0 ? null : i % 5 === 0 ? `u${(i * 7919 + k) % 3001}@e${i % 3}.com` : words[(i * (k + 3)) % words.length]!;
  const expectations = [
    { type: 'expect_column_values_to_be_in_set', kwargs: { column: 's', value_set: ['US', 'DE', '', 'déjà', 3] } },
    { type: 'expect_column_values_to_not_be_in_set', kwargs: { column: 's', value_set: ['bad', 'Z'] } },
    { type: 'expect_column_values_to_match_regex', kwargs: { column: 's', regex: '^[^@]+@[^@]+\\.[a-z]+$' } },
    { type: 'expect_column_values_to_not_match_regex', kwargs: { column: 's', regex: '@e1' } },
    { type: 'expect_column_values_to_match_regex', kwargs: { column: 's', regex: '(?:US|DE)' } },
    { type: 'expect_column_values_to_match_strftime_format', kwargs: { column: 's', strftime_format: '%Y-%m-%d' } },
    { type: 'expect_column_values_to_match_regex_list', kwargs: { column: 's', regex_list: ['^u', 'é'] } },
    { type: 'expect_column_value_lengths_to_be_between', kwargs: { column: 's', min_value: 1, max_value: 8 } },
    { type: 'expect_column_values_to_be_unique', kwargs: { column: 's' } },
  ];
  const suite = parseSuite({ name: 'bytes', expectations });
  const strip = (r: ValidationResult) => ({ ...r, meta: { ...r.meta, validation_time: null } });

  it('gives the verdicts and lists of the string path, in batches that are ASCII and batches that are not', () => {
    const onBytes = new SuiteValidator(suite, { resultFormat: 'COMPLETE' });
    const onStrings = new SuiteValidator(suite, { resultFormat: 'COMPLETE' });
    for (let k = 0; k < 5; k++) {
      // batches 0 and 3 have non-ASCII values; the others are ASCII, so their bytes are read
      const values = Array.from({ length: 4000 }, (_, i) => value(i, k)).map((v) =>
        v !== null && k % 3 !== 0 && !isAscii(v) ? 'plain' : v,
      );
      const plain = table({ s: str(values) });
      const dict = new arrow.Table({
        s: arrow.vectorFromArray(values, new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32())),
      });
      onBytes.update(plain);
      onStrings.update(dict);
    }
    const a = strip(onBytes.finish());
    const b = strip(onStrings.finish());
    expect(a.results.map((r) => r.result.unexpected_count)).toEqual(b.results.map((r) => r.result.unexpected_count));
    expect(a).toEqual(b);
    expect(a.results.every((r) => (r.result.unexpected_count as number) > 0)).toBe(true);
  });
});
