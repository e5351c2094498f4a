import { describe, expect, it } from 'vitest';
import { tableFromRows } from './arrow-build.js';
import { fromArrowType } from './types.js';

describe('tableFromRows', () => {
  it('builds typed columns that map back to the same value types', () => {
    const cols = [
      { name: 'user_id', valueType: 'INT64' as const },
      { name: 'ts', valueType: 'UNIX_TIMESTAMP' as const },
      { name: 'x', valueType: 'DOUBLE' as const },
      { name: 'tags', valueType: 'STRING_LIST' as const },
    ];
    const t = tableFromRows(cols, [
      { user_id: 1, ts: new Date('2020-12-07T00:00:00Z'), x: 1.5, tags: ['a'] },
      { user_id: 2n, ts: null, x: null, tags: null },
    ]);
    expect(t.numRows).toBe(2);
    expect(t.schema.fields.map((f) => fromArrowType(f.type))).toEqual(['INT64', 'UNIX_TIMESTAMP', 'DOUBLE', 'STRING_LIST']);
    expect(t.getChild('user_id')?.get(1)).toBe(2n);
    expect(t.getChild('ts')?.get(0)).toBe(Date.parse('2020-12-07T00:00:00Z'));
    expect(t.getChild('x')?.get(1)).toBeNull();
  });
});
