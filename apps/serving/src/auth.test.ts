import { describe, expect, it } from 'vitest';
import { ApiKeys, AuthError, isLoopback } from './auth.js';

describe('API keys', () => {
  const keys = new ApiKeys([
    { key: 'read-key-0123456789', project: 'shop', scopes: ['read'] },
    { key: 'write-key-0123456789', project: 'shop', scopes: ['read', 'write'] },
  ]);

  it('is open without keys', () => {
    const p = new ApiKeys([]).authenticate({});
    expect(p.open).toBe(true);
    expect(() => ApiKeys.authorize(p, 'any', 'write')).not.toThrow();
  });

  it('needs a known key, from a bearer token or X-API-Key', () => {
    expect(() => keys.authenticate({})).toThrow(AuthError);
    expect(() => keys.authenticate({ authorization: 'Bearer nope' })).toThrow(/not valid/);
    expect(keys.authenticate({ authorization: 'Bearer read-key-0123456789' }).project).toBe('shop');
    expect(keys.authenticate({ 'x-api-key': 'write-key-0123456789' }).scopes.has('write')).toBe(true);
  });

  it('checks project and scope', () => {
    const read = keys.authenticate({ 'x-api-key': 'read-key-0123456789' });
    expect(() => ApiKeys.authorize(read, 'shop', 'read')).not.toThrow();
    const denied = (() => {
      try {
        ApiKeys.authorize(read, 'shop', 'write');
      } catch (e) {
        return e as AuthError;
      }
    })();
    expect(denied?.status).toBe(403);
    expect(denied?.code).toBe('FORBIDDEN');
    expect(() => ApiKeys.authorize(read, 'other', 'read')).toThrow(/project 'other'/);
  });

  it('knows loopback addresses', () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
  });
});
