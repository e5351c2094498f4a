/** Links into the Temporal Web UI for a workflow id (runs from the API carry `url` already; ids alone get one here). */
import type { Session } from './session.js';

export function temporalRunUrl(session: Pick<Session, 'temporal'>, workflowId: string | null | undefined): string | null {
  if (!workflowId || !session.temporal.uiUrl) return null;
  const base = session.temporal.uiUrl.replace(/\/$/, '');
  return `${base}/namespaces/${encodeURIComponent(session.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
