/** Payload types and ids of the training-set workflow. Workflow-safe: no Node imports. Ids and counts only. */

export interface TrainingSetInput {
  /** Training-set id (registry `training_sets.id`); its entity rows are already loaded. */
  id: string;
  project: string;
  entityRows: number;
  /** Entity rows per chunk activity (default 250,000). */
  chunkRows?: number;
  /** Chunks built at the same time (default 2). */
  parallel?: number;
}

export interface TrainingSetResult {
  id: string;
  uri: string;
  rows: number;
  chunks: number;
}

export function trainingSetWorkflowId(project: string, id: string): string {
  return `training:${project}:${id}`;
}
