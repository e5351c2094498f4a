/** What route modules get from createServer: the project-scoped SDK, the caller, role checks, the shared schemas. */
import type { KeyPrincipal, Role, Strata } from '@strata/sdk';
import type { FastifyRequest } from 'fastify';

export interface RouteContext {
  /** The local-mode Strata every project shares. */
  strata: Strata;
  strataFor(project: string): Strata;
  principal(req: FastifyRequest): KeyPrincipal;
  requireRole(req: FastifyRequest, project: string, role: Role): void;
  /** The projects a caller can see, with its role on each. */
  visibleProjects(p: KeyPrincipal): Promise<{ name: string; role: Role | null }[]>;
  runLink(project: string, workflowId: string): string;
}
