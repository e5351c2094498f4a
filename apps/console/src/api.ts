/**
 * The console's only door to Strata: the public control-plane API under /api/v1 on the same origin, with the API key
 * the user pasted (kept in sessionStorage: gone when the tab closes) sent as `Authorization: Bearer <key>`.
 */
const KEY = 'strata.apiKey';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function storedKey(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function storeKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

export function authHeaders(key: string | null = storedKey()): Record<string, string> {
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** A path under /api/v1 (or a full /api/v1/... link the API returned). */
export function apiUrl(path: string): string {
  return path.startsWith('/api/') ? path : `/api/v1${path.startsWith('/') ? '' : '/'}${path}`;
}

export const proj = (project: string) => `/projects/${encodeURIComponent(project)}`;

async function failure(res: Response): Promise<ApiError> {
  let body: { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const e = body?.error;
  return new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? res.statusText, e?.details ?? {});
}

export async function apiFetch(path: string, init: RequestInit = {}, key: string | null = storedKey()): Promise<Response> {
  const res = await fetch(apiUrl(path), { ...init, headers: { ...authHeaders(key), ...(init.headers ?? {}) } });
  if (!res.ok) throw await failure(res);
  return res;
}

export async function api<T>(path: string, init: RequestInit = {}, key?: string | null): Promise<T> {
  const res = await apiFetch(path, { ...init, headers: { accept: 'application/json', ...(init.headers ?? {}) } }, key);
  return (await res.json()) as T;
}

export function postJson<T>(path: string, body: unknown, headers: Record<string, string> = {}): Promise<T> {
  return api<T>(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

export const q = (params: Record<string, string | number | boolean | undefined | null>): string => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') s.set(k, String(v));
  const t = s.toString();
  return t ? `?${t}` : '';
};
