import { describe, expect, it } from 'vitest';
import { parseEntityArgs, publicSource } from './explain.js';

describe('parseEntityArgs', () => {
  it('reads key=value pairs, keeping = inside the value', () => {
    expect(parseEntityArgs(['user_id=7', 'org=a=b'])).toEqual({ user_id: '7', org: 'a=b' });
  });
  it('refuses a pair without a key, and a key given twice', () => {
    expect(() => parseEntityArgs(['7'])).toThrow(/'7' is not key=value/);
    expect(() => parseEntityArgs(['=7'])).toThrow(/not key=value/);
    expect(() => parseEntityArgs(['a=1', 'a=2'])).toThrow(/join key 'a' is given twice/);
  });
});

describe('publicSource', () => {
  it('shows a file path by its name only, anything else as recorded', () => {
    expect(publicSource('/srv/strata/data/uploads/upload-1.csv')).toBe('upload-1.csv');
    expect(publicSource('data/users.csv')).toBe('data/users.csv');
    expect(publicSource('upload:users.csv')).toBe('upload:users.csv');
    expect(publicSource(null)).toBeNull();
  });
});
