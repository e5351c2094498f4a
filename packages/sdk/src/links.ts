/** Links into the Temporal Web UI. */
import type { StrataConfig } from './config.js';

/** The Temporal Web UI page of a workflow: `<uiUrl>/namespaces/<namespace>/workflows/<workflowId>`. */
export function temporalRunUrl(temporal: Pick<StrataConfig['temporal'], 'uiUrl' | 'namespace'>, workflowId: string): string {
  return `${temporal.uiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
