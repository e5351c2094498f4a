/**
 * Parity with the real Great Expectations: runs compat/great-expectations (GE on pandas) and Strata on the same CSV and
 * suite, and requires equal success, unexpected and missing counts, observed values and exceptions per expectation.
 * Needs STRATA_GX_PYTHON: a Python with great_expectations and pandas (see compat/great-expectations/README.md).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as arrow from 'apache-arrow';
import { requireOrSkip } from '@strata/testkit';
import { describe, expect, it } from 'vitest';
import { parseSuite } from './suite.js';
import { SuiteValidator } from './validator.js';

const compat = fileURLToPath(new URL('../../../compat/great-expectations/', import.meta.url));
const python = process.env.STRATA_GX_PYTHON;
const reason =
  'STRATA_GX_PYTHON is not set: set STRATA_GX_PYTHON to a Python with great_expectations and pandas (compat/great-expectations/README.md)';

export function readCsv(csvText: string, schema: Record<string, string>): arrow.Table {
  const lines = csvText.trim().split('\n');
  const header = lines[0]!.split(',');
  const cols: Record<string, (string | null)[]> = Object.fromEntries(header.map((h) => [h, []]));
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    header.forEach((h, i) => {
      const c = cells[i] ?? '';
      cols[h]!.push(c === '' ? null : c);
    });
  }
  const vecs: Record<string, arrow.Vector> = {};
  for (const h of header) {
    const t = schema[h];
    const raw = cols[h]!;
    if (t === 'int64')
      vecs[h] = arrow.vectorFromArray(
        raw.map((v) => (v === null ? null : BigInt(v))),
        new arrow.Int64(),
      );
    else if (t === 'float64')
      vecs[h] = arrow.vectorFromArray(
        raw.map((v) => (v === null ? null : Number(v))),
        new arrow.Float64(),
      );
    else vecs[h] = arrow.vectorFromArray(raw, new arrow.Utf8());
  }
  return new arrow.Table(vecs);
}

function close(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number')
    return a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => close(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    return (
      ka.length === Object.keys(b).length &&
      ka.every((k) => close((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
    );
  }
  return a === b;
}

interface GeRow {
  index: number;
  type: string;
  success: boolean;
  element_count?: number | null;
  unexpected_count?: number | null;
  missing_count?: number | null;
  observed_value?: unknown;
  exception?: string | null;
}

describe.skipIf(requireOrSkip('Great Expectations parity', !python && reason))('parity with Great Expectations', () => {
  it('gives the same verdicts and counts as GE on the parity suite', async () => {
    const { stdout } = await promisify(execFile)('bash', [`${compat}run.sh`], {
      env: { ...process.env, STRATA_GX_PYTHON: python },
      maxBuffer: 64 * 1024 * 1024,
    });
    const ge = JSON.parse(stdout) as { great_expectations: string; results: GeRow[] };
    const schema = JSON.parse(readFileSync(`${compat}schema.json`, 'utf8')) as Record<string, string>;
    const table = readCsv(readFileSync(`${compat}data.csv`, 'utf8'), schema);
    const suite = parseSuite(JSON.parse(readFileSync(`${compat}suite.json`, 'utf8')), { source: 'suite.json' });
    const v = new SuiteValidator(suite, { resultFormat: 'SUMMARY' });
    // stream it in uneven batches
    for (let off = 0; off < table.numRows; off += 97) v.update(table.slice(off, off + 97));
    const ours = v.finish().results;
    expect(ours.length).toBe(ge.results.length);
    const mismatches: string[] = [];
    ge.results.forEach((g, i) => {
      const s = ours[i]!;
      const r = s.result as Record<string, unknown>;
      const label = `#${i} ${g.type} ${JSON.stringify(suite.expectations[i]!.kwargs)}`;
      if (s.success !== g.success) mismatches.push(`${label}: success ${s.success} vs GE ${g.success}`);
      if (Boolean(g.exception) !== s.exception_info.raised_exception) {
        mismatches.push(`${label}: exception ${s.exception_info.exception_message} vs GE ${g.exception}`);
      }
      for (const k of ['unexpected_count', 'missing_count', 'element_count'] as const) {
        if (g[k] !== null && g[k] !== undefined && r[k] !== g[k]) mismatches.push(`${label}: ${k} ${r[k]} vs GE ${g[k]}`);
      }
      if (g.observed_value !== null && g.observed_value !== undefined && !close(r.observed_value, g.observed_value)) {
        mismatches.push(`${label}: observed_value ${JSON.stringify(r.observed_value)} vs GE ${JSON.stringify(g.observed_value)}`);
      }
    });
    expect(mismatches, `GE ${ge.great_expectations}`).toEqual([]);
  });
});
