import type { ViewVersion } from '@strata/offline-postgres';
import { describe, expect, it } from 'vitest';
import { checkPush } from './push.js';

const vv = {
  project: 'p',
  name: 'stats',
  version: 1,
  joinKeys: [{ name: 'user_id', valueType: 'INT64' }],
  spec: {
    name: 'stats',
    entities: ['user'],
    timestampField: 'ts',
    ttlSeconds: 0,
    online: true,
    features: [{ name: 'n', valueType: 'INT64' }],
  },
} as unknown as ViewVersion;

describe('checkPush', () => {
  it('reads timestamps without an offset as UTC, and epoch milliseconds', () => {
    const { rows } = checkPush(vv, {
      df: { user_id: [1, 2, 3], ts: ['2024-01-02T03:04:05', '2024-01-02', 1_700_000_000_000], n: [1, 2, 3] },
    });
    expect(rows.map((r) => (r.ts as Date).toISOString())).toEqual([
      '2024-01-02T03:04:05.000Z',
      '2024-01-02T00:00:00.000Z',
      new Date(1_700_000_000_000).toISOString(),
    ]);
  });

  it('refuses columns that do not match, bad values and a bad target before anything is written', () => {
    expect(() => checkPush(vv, { df: { user_id: [1], ts: ['2024-01-01T00:00:00Z'] } })).toThrow(/missing: n/);
    expect(() => checkPush(vv, { df: { user_id: [1], ts: ['2024-01-01T00:00:00Z'], n: [1], x: [1] } })).toThrow(
      /not in the view: x/,
    );
    expect(() => checkPush(vv, { df: { user_id: [null], ts: ['2024-01-01T00:00:00Z'], n: [1] } })).toThrow(/required/);
    expect(() => checkPush(vv, { df: { user_id: [1], ts: ['2024-01-01T00:00:00Z'], n: ['x'] } })).toThrow(/'n'/);
    expect(() => checkPush(vv, { df: { user_id: [], ts: [], n: [] } })).toThrow(/no rows/);
    expect(() => checkPush(vv, { to: 'elsewhere' as never, df: { user_id: [1], ts: ['2024-01-01T00:00:00Z'], n: [1] } })).toThrow(
      /"to"/,
    );
  });
});
