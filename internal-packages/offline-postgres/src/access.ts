/**
 * Principals and the audit log on Postgres: API keys (only their SHA-256 digest is stored, never the key), each with
 * a role per project ('*' for every project), and one append-only row per write request. The tables live in the
 * registry's schema and are created on first use.
 */
import { StrataError } from '@strata/core';
import type { Pool } from './pool.js';
import { withTransaction } from './pool.js';
import { ident, qualified } from './sql.js';

export type Role = 'viewer' | 'editor' | 'admin';

export interface ApiKeyRecord {
  id: string;
  name: string;
  /** The first characters of the key (not secret: enough to recognise it in a list). */
  prefix: string;
  roles: Record<string, Role>;
  createdBy: string | null;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

export interface AuditEntry {
  id: number;
  at: Date;
  principalId: string | null;
  principalName: string | null;
  project: string | null;
  action: string;
  target: string | null;
  status: number;
  outcome: 'ok' | 'denied' | 'failed';
  errorCode: string | null;
}

function rowToKey(r: Record<string, unknown>): ApiKeyRecord {
  return {
    id: r.id as string,
    name: r.name as string,
    prefix: r.prefix as string,
    roles: r.roles as Record<string, Role>,
    createdBy: (r.created_by as string) ?? null,
    createdAt: r.created_at as Date,
    revokedAt: (r.revoked_at as Date) ?? null,
    lastUsedAt: (r.last_used_at as Date) ?? null,
  };
}

export class PgAccess {
  private ready: Promise<void> | undefined;

  constructor(
    readonly pool: Pool,
    readonly schema: string,
  ) {
    ident(schema);
  }

  private t(name: string): string {
    return qualified(this.schema, name);
  }

  init(): Promise<void> {
    this.ready ??= withTransaction(this.pool, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`strata-access:${this.schema}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${ident(this.schema)}`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${this.t('api_keys')} (
        id text PRIMARY KEY, name text NOT NULL, key_sha256 text NOT NULL UNIQUE, prefix text NOT NULL,
        roles jsonb NOT NULL, created_by text, created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz, last_used_at timestamptz)`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${this.t('audit_log')} (
        id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), principal_id text, principal_name text,
        project text, action text NOT NULL, target text, status integer NOT NULL, outcome text NOT NULL,
        error_code text)`);
      await c.query(`CREATE INDEX IF NOT EXISTS audit_log_project ON ${this.t('audit_log')} (project, id)`);
    }).catch((err) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  async createKey(k: {
    id: string;
    name: string;
    sha256: string;
    prefix: string;
    roles: Record<string, Role>;
    createdBy?: string;
  }) {
    await this.init();
    const { rows } = await this.pool.query(
      `INSERT INTO ${this.t('api_keys')} (id, name, key_sha256, prefix, roles, created_by) VALUES ($1,$2,$3,$4,$5,$6)
       RETURNING *`,
      [k.id, k.name, k.sha256, k.prefix, JSON.stringify(k.roles), k.createdBy ?? null],
    );
    return rowToKey(rows[0]);
  }

  async listKeys(opts: { includeRevoked?: boolean } = {}): Promise<ApiKeyRecord[]> {
    await this.init();
    const { rows } = await this.pool.query(
      `SELECT * FROM ${this.t('api_keys')} WHERE $1 OR revoked_at IS NULL ORDER BY created_at, id`,
      [opts.includeRevoked ?? false],
    );
    return rows.map(rowToKey);
  }

  async getKey(id: string): Promise<ApiKeyRecord | undefined> {
    await this.init();
    const { rows } = await this.pool.query(`SELECT * FROM ${this.t('api_keys')} WHERE id = $1`, [id]);
    return rows[0] ? rowToKey(rows[0]) : undefined;
  }

  async revokeKey(id: string): Promise<ApiKeyRecord> {
    await this.init();
    const { rows } = await this.pool.query(
      `UPDATE ${this.t('api_keys')} SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING *`,
      [id],
    );
    if (!rows[0])
      throw new StrataError('UNKNOWN_OBJECT', `no API key with id '${id}'`, { hint: 'list them with `strata keys list`' });
    return rowToKey(rows[0]);
  }

  /** The active key with this digest, if any (and notes when it was last used, at most once a minute). */
  async findActiveKey(sha256: string): Promise<ApiKeyRecord | undefined> {
    await this.init();
    const { rows } = await this.pool.query(
      `UPDATE ${this.t('api_keys')} SET last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < now() - interval '1 minute'
         THEN now() ELSE last_used_at END
       WHERE key_sha256 = $1 AND revoked_at IS NULL RETURNING *`,
      [sha256],
    );
    return rows[0] ? rowToKey(rows[0]) : undefined;
  }

  async activeKeyCount(): Promise<number> {
    await this.init();
    const { rows } = await this.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${this.t('api_keys')} WHERE revoked_at IS NULL`,
    );
    return rows[0]?.n ?? 0;
  }

  async audit(e: Omit<AuditEntry, 'id' | 'at'>): Promise<void> {
    await this.init();
    await this.pool.query(
      `INSERT INTO ${this.t('audit_log')} (principal_id, principal_name, project, action, target, status, outcome, error_code)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
      [e.principalId, e.principalName, e.project, e.action, e.target, e.status, e.outcome, e.errorCode],
    );
  }

  /** Newest first; `projects` limits to those projects (undefined: all). */
  async listAudit(opts: { projects?: string[]; limit?: number; beforeId?: number } = {}): Promise<AuditEntry[]> {
    await this.init();
    const { rows } = await this.pool.query(
      `SELECT * FROM ${this.t('audit_log')}
       WHERE ($1::text[] IS NULL OR project = ANY($1)) AND ($2::bigint IS NULL OR id < $2)
       ORDER BY id DESC LIMIT $3`,
      [opts.projects ?? null, opts.beforeId ?? null, Math.min(opts.limit ?? 100, 1000)],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      at: r.at,
      principalId: r.principal_id,
      principalName: r.principal_name,
      project: r.project,
      action: r.action,
      target: r.target,
      status: r.status,
      outcome: r.outcome,
      errorCode: r.error_code,
    }));
  }
}
