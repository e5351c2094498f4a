import { describe, expect, it } from 'vitest';
import { StrataError } from './errors.js';
import { validateRepo } from './model.js';
import { checkReadOnlyQuery, parseWindow, sqlStatementCount, windowsBetween } from './pipeline.js';

const user = { name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' as const }] };
const view = (extra: Record<string, unknown>) => ({
  name: 'agg',
  entities: ['user'],
  timestampField: 'dt',
  ttlSeconds: 0,
  online: true,
  features: [{ name: 'n', valueType: 'INT64' as const }],
  ...extra,
});

function problems(extra: Record<string, unknown>): string[] {
  try {
    validateRepo({ entities: [user], featureViews: [view(extra) as never], featureServices: [] });
    return [];
  } catch (err) {
    expect(StrataError.is(err, 'INVALID_SPEC')).toBe(true);
    return (err as StrataError).details.problems as string[];
  }
}

describe('sources, transformations and pipeline settings', () => {
  it('counts statements, skipping strings, dollar quotes and comments', () => {
    expect(sqlStatementCount('SELECT 1')).toBe(1);
    expect(sqlStatementCount('SELECT 1;')).toBe(1);
    expect(sqlStatementCount("SELECT ';' AS x; -- ;\n")).toBe(1);
    expect(sqlStatementCount('SELECT $$;$$, /* ; */ 2')).toBe(1);
    expect(sqlStatementCount('SELECT 1; DELETE FROM t')).toBe(2);
    expect(sqlStatementCount('  ')).toBe(0);
    expect(checkReadOnlyQuery('DELETE FROM t', 'q')[0]).toMatch(/must be a SELECT/);
    expect(checkReadOnlyQuery('WITH x AS (SELECT 1) SELECT * FROM x', 'q')).toEqual([]);
  });

  it('accepts a sound sql source with a pipeline', () => {
    expect(
      problems({
        source: { kind: 'sql', query: 'SELECT user_id, dt, n FROM ev', connection: 'warehouse' },
        transformation: { kind: 'sql', query: 'SELECT * FROM source' },
        pipeline: { window: '1d', start: '2024-01-01T00:00:00Z' },
      }),
    ).toEqual([]);
    expect(
      problems({ source: { kind: 'files', path: 'data/*.parquet' }, pipeline: { window: '1mo', start: '2024-01-01' } }),
    ).toEqual([]);
  });

  it('reports every problem in words a user can act on', () => {
    const p = problems({
      source: { kind: 'sql', query: 'SELECT 1; DROP TABLE ev', url: 'postgres://u:p@h/db' },
      transformation: { kind: 'python' },
      pipeline: { window: 'daily', start: 'yesterday' },
    });
    expect(p.join('\n')).toMatch(/exactly one statement/);
    expect(p.join('\n')).toMatch(/credentials never go in the registry/);
    expect(p.join('\n')).toMatch(/transformation.kind must be sql or typescript/);
    expect(p.join('\n')).toMatch(/pipeline.window "daily" is not a window length/);
    expect(p.join('\n')).toMatch(/pipeline.start must be an ISO 8601 time/);
    expect(problems({ source: { kind: 'kafka' }, pipeline: { window: '1d', start: '2024-01-01' } }).join()).toMatch(
      /'kafka' is not a known source kind/,
    );
    expect(problems({ source: { kind: 'sql', query: 'SELECT 1' } }).join()).toMatch(/needs pipeline/);
    expect(problems({ transformation: { kind: 'sql', query: 'SELECT 1' } }).join()).toMatch(/needs a source/);
    expect(
      problems({
        source: { kind: 'files', path: 'x.csv' },
        transformation: { kind: 'sql', query: 'SELECT 1' },
        pipeline: { window: '1d', start: '2024-01-01' },
      }).join(),
    ).toMatch(/sql transformation runs over a sql source/);
  });

  it('cuts event time into aligned windows (fixed and calendar months)', () => {
    const day = parseWindow('1d');
    const ws = windowsBetween(
      new Date('2024-01-01T00:00:00Z'),
      day,
      new Date('2024-01-02T05:00:00Z'),
      new Date('2024-01-05T01:00:00Z'),
    );
    expect(ws.map((w) => w.start.toISOString().slice(0, 10))).toEqual(['2024-01-03', '2024-01-04']);
    const mo = windowsBetween(
      new Date('2024-01-01T00:00:00Z'),
      parseWindow('1mo'),
      new Date('2024-01-01Z'),
      new Date('2024-04-15Z'),
    );
    expect(mo.map((w) => [w.start.toISOString().slice(0, 10), w.end.toISOString().slice(0, 10)])).toEqual([
      ['2024-01-01', '2024-02-01'],
      ['2024-02-01', '2024-03-01'],
      ['2024-03-01', '2024-04-01'],
    ]);
  });
});
