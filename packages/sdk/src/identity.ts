/**
 * One identity model for every Strata door (the control-plane server and the serving app): API keys are principals
 * with a role per project. A key is 32 random bytes (256 bits) shown once at creation; the registry stores only its
 * SHA-256 digest (a slow password hash buys nothing for a key this long, and lookups stay one indexed query).
 * A bootstrap admin key from the configuration is never stored.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { invalidInput, StrataError } from '@strata/core';
import { type ApiKeyRecord, type AuditEntry, PgAccess, type Pool, type Role } from '@strata/offline-postgres';

export type { ApiKeyRecord, AuditEntry, Role };

export const ROLES: readonly Role[] = ['viewer', 'editor', 'admin'];
const RANK: Record<Role, number> = { viewer: 1, editor: 2, admin: 3 };

/** What a caller is: a key's id and name and its roles ('*' = every project). */
export interface KeyPrincipal {
  id: string;
  name: string;
  roles: Record<string, Role>;
  /** True when no keys exist at all and the door is open (loopback only). */
  anonymous?: boolean;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A new key: `strata_` and 43 base64url characters (256 random bits). */
export function generateApiKey(): string {
  return `strata_${randomBytes(32).toString('base64url')}`;
}

/** The role a principal has on a project (a '*' grant counts for every project), or undefined. */
export function roleOn(p: KeyPrincipal, project: string): Role | undefined {
  const own = p.roles[project];
  const all = p.roles['*'];
  if (own && all) return RANK[own] >= RANK[all] ? own : all;
  return own ?? all;
}

export function hasRole(p: KeyPrincipal, project: string, needed: Role): boolean {
  const r = roleOn(p, project);
  return r !== undefined && RANK[r] >= RANK[needed];
}

export function checkRoles(roles: unknown): Record<string, Role> {
  if (!roles || typeof roles !== 'object' || Array.isArray(roles) || !Object.keys(roles).length) {
    throw invalidInput('"roles" must map project names to viewer, editor or admin', {
      where: 'roles',
      details: { field: 'roles' },
      hint: 'e.g. {"roles": {"my_project": "editor"}}',
    });
  }
  for (const [project, role] of Object.entries(roles)) {
    if (!(ROLES as string[]).includes(role as string)) {
      throw invalidInput(`role '${String(role)}' for project '${project}' is not viewer, editor or admin`, {
        where: `roles.${project}`,
        details: { field: `roles.${project}` },
      });
    }
    if (project !== '*' && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(project)) {
      throw invalidInput(`'${project}' is not a project name`, {
        where: `roles.${project}`,
        details: { field: `roles.${project}` },
      });
    }
  }
  return roles as Record<string, Role>;
}

export interface IdentityOptions {
  /** A bootstrap admin key (every project), from the configuration; it is never stored. */
  adminKey?: string | undefined;
  /** How long a looked-up key stays cached (ms); a revoked key stops working within this time. Default 2000. */
  cacheMs?: number;
}

export class Identity {
  readonly store: PgAccess;
  private readonly admin: Buffer | undefined;
  private readonly cacheMs: number;
  private readonly cache = new Map<string, { at: number; p: KeyPrincipal | undefined }>();
  private countAt = 0;
  private count = 0;

  constructor(pool: Pool, schema: string, opts: IdentityOptions = {}) {
    this.store = new PgAccess(pool, schema);
    if (opts.adminKey !== undefined && opts.adminKey.length < 16)
      throw new StrataError('CONFIG', 'the bootstrap admin key has fewer than 16 characters', {
        where: 'server.adminKey (STRATA_ADMIN_KEY)',
        hint: 'use `openssl rand -base64 32` or `strata keys generate`',
      });
    this.admin = opts.adminKey ? Buffer.from(hashApiKey(opts.adminKey), 'hex') : undefined;
    this.cacheMs = opts.cacheMs ?? 2000;
  }

  /** True when a bootstrap key is configured or any active key exists (then every request needs a key). */
  async enabled(): Promise<boolean> {
    if (this.admin) return true;
    if (this.count > 0) return true;
    if (Date.now() - this.countAt > this.cacheMs) {
      this.count = await this.store.activeKeyCount();
      this.countAt = Date.now();
    }
    return this.count > 0;
  }

  /** The principal behind a presented key, or undefined when it is unknown or revoked. */
  async authenticate(presented: string): Promise<KeyPrincipal | undefined> {
    const digest = hashApiKey(presented);
    if (this.admin && timingSafeEqual(this.admin, Buffer.from(digest, 'hex'))) {
      return { id: 'bootstrap', name: 'bootstrap admin', roles: { '*': 'admin' } };
    }
    const hit = this.cache.get(digest);
    if (hit && Date.now() - hit.at < this.cacheMs) return hit.p;
    const rec = await this.store.findActiveKey(digest);
    const p = rec ? { id: rec.id, name: rec.name, roles: rec.roles } : undefined;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(digest, { at: Date.now(), p });
    return p;
  }

  /** Creates a key; the returned `key` is the only time it is ever shown. */
  async createKey(opts: {
    name: string;
    roles: Record<string, Role>;
    createdBy?: string;
  }): Promise<ApiKeyRecord & { key: string }> {
    if (typeof opts.name !== 'string' || !opts.name.trim() || opts.name.length > 200)
      throw invalidInput('"name" must be a non-empty string (at most 200 characters)', {
        where: 'name',
        details: { field: 'name' },
      });
    const roles = checkRoles(opts.roles);
    const key = generateApiKey();
    const rec = await this.store.createKey({
      id: randomUUID(),
      name: opts.name.trim(),
      sha256: hashApiKey(key),
      prefix: key.slice(0, 12),
      roles,
      ...(opts.createdBy ? { createdBy: opts.createdBy } : {}),
    });
    this.count = Math.max(this.count, 1);
    return { ...rec, key };
  }

  listKeys(opts: { includeRevoked?: boolean } = {}): Promise<ApiKeyRecord[]> {
    return this.store.listKeys(opts);
  }

  getKey(id: string): Promise<ApiKeyRecord | undefined> {
    return this.store.getKey(id);
  }

  async revokeKey(id: string): Promise<ApiKeyRecord> {
    const rec = await this.store.revokeKey(id);
    this.cache.clear();
    this.countAt = 0;
    this.count = 0;
    return rec;
  }

  audit(e: Omit<AuditEntry, 'id' | 'at'>): Promise<void> {
    return this.store.audit(e);
  }

  listAudit(opts: { projects?: string[]; limit?: number; beforeId?: number } = {}): Promise<AuditEntry[]> {
    return this.store.listAudit(opts);
  }
}
