/**
 * Suite suggestion from a profile, in the spirit of Deequ's constraint suggestion: completeness, non-negativity,
 * ranges, categorical sets, uniqueness and types. The result is a GX 1.x suite to review, not to apply blindly.
 */
import type { Profile } from './profile.js';
import type { ExpectationConfig, ExpectationSuite } from './suite.js';

export interface SuggestOptions {
  name?: string;
  /** Columns whose distinct count is at most this become categorical (in-set) expectations. Default 10. */
  maxCategories?: number;
  /** Widen numeric ranges by this fraction of (max - min) on each side. Default 0 (observed range). */
  rangeSlack?: number;
  /** Suggest a row-count range of observed x (1 +- slack). Default 0.5. */
  rowCountSlack?: number;
}

export function suggestSuite(profile: Profile, opts: SuggestOptions = {}): ExpectationSuite {
  const maxCat = opts.maxCategories ?? 10;
  const slack = opts.rangeSlack ?? 0;
  const rowSlack = opts.rowCountSlack ?? 0.5;
  const ex: ExpectationConfig[] = [];
  const add = (type: string, kwargs: Record<string, unknown>, rule: string) =>
    ex.push({ type, kwargs, meta: { suggested_by: 'strata', rule } });
  const names = Object.keys(profile.columns);
  add('expect_table_columns_to_match_set', { column_set: names, exact_match: true }, 'schema');
  add(
    'expect_table_row_count_to_be_between',
    { min_value: Math.floor(profile.rowCount * (1 - rowSlack)), max_value: Math.ceil(profile.rowCount * (1 + rowSlack)) },
    'row count',
  );
  for (const c of Object.values(profile.columns)) {
    if (c.count === 0) continue;
    const completeness = c.completeness ?? 0;
    if (completeness === 1) add('expect_column_values_to_not_be_null', { column: c.name }, 'complete column');
    else if (completeness > 0) {
      const mostly = Math.floor(completeness * 100) / 100;
      if (mostly > 0)
        add('expect_column_values_to_not_be_null', { column: c.name, mostly }, `completeness ${completeness.toFixed(4)}`);
    }
    if (c.nonNullCount === 0) continue;
    if (c.distinctExact && c.distinctCount === c.nonNullCount && c.nonNullCount > 1) {
      add('expect_column_values_to_be_unique', { column: c.name }, 'all values distinct');
    }
    const categorical =
      c.distinctExact &&
      c.distinctCount <= maxCat &&
      c.distinctCount < c.nonNullCount &&
      (c.kind === 'string' || c.kind === 'boolean' || (c.kind === 'number' && c.dtype.includes('int')));
    if (categorical && c.state.freq) {
      add(
        'expect_column_values_to_be_in_set',
        { column: c.name, value_set: c.state.freq.map(([v]) => v) },
        `${c.distinctCount} categories`,
      );
    } else if (c.kind === 'number' && typeof c.min === 'number' && typeof c.max === 'number') {
      const pad = (c.max - c.min) * slack;
      add(
        'expect_column_values_to_be_between',
        { column: c.name, min_value: c.min - pad, max_value: c.max + pad },
        'observed range',
      );
      if (c.min >= 0) add('expect_column_min_to_be_between', { column: c.name, min_value: 0 }, 'non-negative');
    }
    if (c.kind === 'string' && c.lengths) {
      add(
        'expect_column_value_lengths_to_be_between',
        { column: c.name, min_value: c.lengths.min, max_value: c.lengths.max },
        'observed lengths',
      );
    }
    const typeName = c.kind === 'string' ? 'str' : c.kind === 'date' ? 'datetime64[ns]' : c.dtype;
    add('expect_column_values_to_be_of_type', { column: c.name, type_: typeName }, 'observed type');
  }
  return {
    name: opts.name ?? 'suggested',
    expectations: ex,
    meta: { generated_by: 'strata suggestSuite' },
    sourceFormat: 'strata',
  };
}
