/**
 * API keys per project with read and write scopes. A key is sent as `Authorization: Bearer <key>` or `X-API-Key`
 * (Hopsworks clients send `X-API-KEY`). With no keys configured the server is open, and `serve()` then only
 * listens on loopback.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** A refused caller: 401 (no or bad key) or 403 (key without access); the body code is UNAUTHENTICATED or FORBIDDEN. */
export class AuthError extends Error {
  constructor(
    readonly status: 401 | 403,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
  get code(): string {
    return this.status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN';
  }
}

export type Scope = 'read' | 'write';

export interface ApiKey {
  key: string;
  project: string;
  scopes: Scope[] | string[];
}

export interface Principal {
  project: string | undefined;
  scopes: Set<string>;
  open: boolean;
  /** A registry key (the control plane's identity model): a role per project; read needs viewer, write editor. */
  roles?: Record<string, 'viewer' | 'editor' | 'admin'>;
}

/** The control plane's key store (the SDK's Identity): the same keys work on serving. */
export interface KeyLookup {
  enabled(): Promise<boolean>;
  authenticate(key: string): Promise<{ roles: Record<string, 'viewer' | 'editor' | 'admin'> } | undefined>;
}

const RANK = { viewer: 1, editor: 2, admin: 3 } as const;

/** The presented key of a request (Authorization: Bearer, or X-API-Key), if any. */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  const fromBearer = typeof auth === 'string' && /^bearer /i.test(auth) ? auth.slice(7).trim() : undefined;
  const fromHeader = headers['x-api-key'];
  return fromBearer ?? (typeof fromHeader === 'string' ? fromHeader.trim() : undefined);
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export class ApiKeys {
  private readonly keys: { digest: Buffer; project: string; scopes: Set<string> }[];

  constructor(keys: ApiKey[] = []) {
    this.keys = keys.map((k) => ({ digest: digest(k.key), project: k.project, scopes: new Set(k.scopes) }));
  }

  get enabled(): boolean {
    return this.keys.length > 0;
  }

  /** The caller behind the request headers; throws 401-style errors when keys are on and none matches. */
  authenticate(headers: Record<string, string | string[] | undefined>): Principal {
    if (!this.enabled) return { project: undefined, scopes: new Set(['read', 'write']), open: true };
    const auth = headers.authorization;
    const fromBearer = typeof auth === 'string' && /^bearer /i.test(auth) ? auth.slice(7).trim() : undefined;
    const fromHeader = headers['x-api-key'];
    const presented = fromBearer ?? (typeof fromHeader === 'string' ? fromHeader.trim() : undefined);
    if (!presented) {
      throw new AuthError(401, 'an API key is required', 'send Authorization: Bearer <key> or X-API-Key: <key>');
    }
    const d = digest(presented);
    const found = this.keys.find((k) => timingSafeEqual(k.digest, d));
    if (!found) throw new AuthError(401, 'the API key is not valid');
    return { project: found.project, scopes: found.scopes, open: false };
  }

  /** Checks that the principal may use `scope` on `project`. */
  static authorize(p: Principal, project: string, scope: Scope): void {
    if (p.open) return;
    if (p.roles) {
      const own = p.roles[project];
      const all = p.roles['*'];
      const rank = Math.max(own ? RANK[own] : 0, all ? RANK[all] : 0);
      if (!rank) throw new AuthError(403, `this API key does not give access to project '${project}'`);
      if (rank < (scope === 'read' ? RANK.viewer : RANK.editor))
        throw new AuthError(403, `this API key has no '${scope}' access on project '${project}' (it is a viewer key)`);
      return;
    }
    if (p.project !== project) {
      throw new AuthError(403, `this API key does not give access to project '${project}'`);
    }
    if (!p.scopes.has(scope)) {
      throw new AuthError(403, `this API key has no '${scope}' scope on project '${project}'`);
    }
  }
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}
