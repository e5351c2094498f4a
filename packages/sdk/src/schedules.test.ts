import { describe, expect, it } from 'vitest';
import { loadConfig, parseApiKeys } from './config.js';
import { materializeScheduleId, parseEvery } from './schedules.js';

describe('materialization schedules', () => {
  it('parses intervals and refuses nonsense', () => {
    expect(parseEvery('15m')).toBe(900_000);
    expect(parseEvery('30s')).toBe(30_000);
    expect(parseEvery('2h')).toBe(7_200_000);
    expect(parseEvery('1d')).toBe(86_400_000);
    expect(parseEvery('90')).toBe(90_000);
    expect(() => parseEvery('soon')).toThrow(/not an interval/);
    expect(() => parseEvery('500ms')).toThrow(/shorter than one second/);
  });

  it('names schedules materialize:<project>:<view>', () => {
    expect(materializeScheduleId('shop', 'users')).toBe('materialize:shop:users');
  });
});

describe('serving API keys in the config', () => {
  it('reads STRATA_API_KEYS as project:scopes:key entries', () => {
    expect(parseApiKeys('shop:read:0123456789abcdef0123, shop:read+write:k:with:colons-000000')).toEqual([
      { project: 'shop', scopes: ['read'], key: '0123456789abcdef0123' },
      { project: 'shop', scopes: ['read', 'write'], key: 'k:with:colons-000000' },
    ]);
    expect(() => parseApiKeys('shop:read')).toThrow(/project:read\+write:key/);
    const config = loadConfig({
      env: { STRATA_API_KEYS: 'shop:read:0123456789abcdef0123' },
      configPath: undefined as unknown as string,
    });
    expect(config.serving.apiKeys).toEqual([{ project: 'shop', scopes: ['read'], key: '0123456789abcdef0123' }]);
    expect(config.serving.requestTimeoutMs).toBe(2000);
    expect(() =>
      loadConfig({ env: { STRATA_API_KEYS: 'shop:admin:0123456789abcdef0123' }, configPath: undefined as unknown as string }),
    ).toThrow(/serving.apiKeys/);
    expect(() => loadConfig({ env: { STRATA_API_KEYS: 'shop:read:short' }, configPath: undefined as unknown as string })).toThrow(
      /at least 16/,
    );
  });
});
