/**
 * Who is signed in: the caller and its roles (GET /api/v1/config, or /whoami + /projects on a server without it),
 * and where the Temporal Web UI is. Write actions are shown only for the roles that may do them; the API refuses
 * them anyway.
 */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { ApiError, api } from './api.js';
import { hasRole } from './lib/roles.js';
import type { Caller, ConsoleConfig, Role } from './types.js';

export interface Session extends ConsoleConfig {
  /** The server runs without API keys (open on loopback): there is nothing to sign in with. */
  open: boolean;
  signOut: () => void;
  refresh: () => Promise<void>;
}

export async function loadSession(key: string | null): Promise<ConsoleConfig> {
  try {
    return await api<ConsoleConfig>('/config', {}, key);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) throw e;
  }
  const [caller, projects] = await Promise.all([
    api<Caller>('/whoami', {}, key),
    api<{ projects: ConsoleConfig['projects'] }>('/projects', {}, key),
  ]);
  return { caller, projects: projects.projects, temporal: { uiUrl: '', namespace: 'default' } };
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside the signed-in app');
  return s;
}

export function useCan(project: string, role: Role): boolean {
  return hasRole(useSession().caller, project, role);
}
