import { describe, expect, it } from 'vitest';
import { onlineResponseJson, pythonFloat } from './feast-json.js';

describe("Feast's value forms", () => {
  it("writes floats as Python's repr does", () => {
    const cases: [number, string][] = [
      [85, '85.0'],
      [-3, '-3.0'],
      [0, '0.0'],
      [-0, '-0.0'],
      [0.25, '0.25'],
      [0.0001, '0.0001'],
      [0.00001, '1e-05'],
      [1.5e-7, '1.5e-07'],
      [9999999999999998, '9999999999999998.0'],
      [1e16, '1e+16'],
      [1.5e300, '1.5e+300'],
      [0.1 + 0.2, '0.30000000000000004'],
    ];
    for (const [v, text] of cases) expect({ v, text: pythonFloat(v) }).toEqual({ v, text });
  });

  it('writes FLOAT/DOUBLE columns with a decimal point and others as JSON does; feast statuses on request', () => {
    const res = {
      metadata: { feature_names: ['id', 'n', 'x', 'xs'] },
      results: [
        { values: [1, 2], statuses: ['PRESENT', 'PRESENT'], event_timestamps: ['a', 'b'] },
        { values: [10, null], statuses: ['PRESENT', 'NOT_FOUND'], event_timestamps: ['a', 'b'] },
        { values: [85, null], statuses: ['PRESENT', 'NULL_VALUE'], event_timestamps: ['a', 'b'] },
        { values: [[1, 2.5], null], statuses: ['PRESENT', 'OUTSIDE_MAX_AGE'], event_timestamps: ['a', 'b'] },
      ],
    } as Parameters<typeof onlineResponseJson>[0];
    const text = onlineResponseJson(res, [false, false, true, true]);
    expect(text).toContain('"values":[10,null]');
    expect(text).toContain('"values":[85.0,null]');
    expect(text).toContain('"values":[[1.0,2.5],null]');
    expect(JSON.parse(text)).toEqual(res);
    const feast = JSON.parse(onlineResponseJson(res, [false, false, true, true], { feastStatuses: true }));
    expect(feast.results.map((c: { statuses: string[] }) => c.statuses[1])).toEqual([
      'PRESENT',
      'PRESENT',
      'PRESENT',
      'OUTSIDE_MAX_AGE',
    ]);
  });
});
