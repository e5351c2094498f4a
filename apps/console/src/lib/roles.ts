/** The caller's role on a project, as the server decides it: the project's own role, else the `'*'` role. */
import type { Caller, Role } from '../types.js';

const RANK: Record<Role, number> = { viewer: 1, editor: 2, admin: 3 };

export function roleOn(caller: Pick<Caller, 'roles'> | null | undefined, project: string): Role | undefined {
  if (!caller) return undefined;
  return caller.roles[project] ?? caller.roles['*'];
}

export function hasRole(caller: Pick<Caller, 'roles'> | null | undefined, project: string, needed: Role): boolean {
  const r = roleOn(caller, project);
  return r !== undefined && RANK[r] >= RANK[needed];
}

/** Admin of at least one project (the admin page lists keys and the audit log of those projects). */
export function isAnyAdmin(caller: Pick<Caller, 'roles'> | null | undefined): boolean {
  return !!caller && Object.values(caller.roles).some((r) => r === 'admin');
}
