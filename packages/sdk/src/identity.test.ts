import { describe, expect, it } from 'vitest';
import { checkRoles, generateApiKey, hashApiKey, hasRole, roleOn } from './identity.js';

describe('identity', () => {
  it('makes 256-bit keys and hashes them with SHA-256', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a).toMatch(/^strata_[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(hashApiKey(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(a)).toBe(hashApiKey(a));
  });

  it('ranks roles per project, with * for every project', () => {
    const p = { id: 'k', name: 'k', roles: { shop: 'viewer' as const, '*': 'editor' as const } };
    expect(roleOn(p, 'shop')).toBe('editor');
    expect(roleOn(p, 'other')).toBe('editor');
    expect(hasRole(p, 'shop', 'editor')).toBe(true);
    expect(hasRole(p, 'shop', 'admin')).toBe(false);
    const v = { id: 'v', name: 'v', roles: { shop: 'viewer' as const } };
    expect(hasRole(v, 'shop', 'viewer')).toBe(true);
    expect(hasRole(v, 'shop', 'editor')).toBe(false);
    expect(roleOn(v, 'other')).toBeUndefined();
  });

  it('refuses bad role maps with the field', () => {
    expect(() => checkRoles({})).toThrow(/must map project names/);
    expect(() => checkRoles({ shop: 'owner' })).toThrow(/not viewer, editor or admin/);
    try {
      checkRoles({ 'bad name': 'viewer' });
    } catch (e) {
      expect((e as { details: { field: string } }).details.field).toBe('roles.bad name');
    }
  });
});
