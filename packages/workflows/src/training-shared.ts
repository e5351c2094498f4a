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
  /**
   * 'columnar': the entity rows are a Parquet file and the set is split into `partitions` entity-key hash partitions
   * (default: entityRows / chunkRows), each joined by an activity on whichever worker takes it.
   */
  engine?: 'postgres' | 'columnar';
  partitions?: number;
  /**
   * How long a chunk or partition may go without a heartbeat before it is retried elsewhere (default 2 minutes; a
   * Temporal duration such as '30s'). Activities heartbeat every second, so seconds are enough on a healthy worker.
   */
  heartbeatTimeout?: string;
  /** Entity rows per segment file of a chunk, the unit a retried chunk resumes at (default 50,000). */
  segmentRows?: number;
}

/**
 * A chunk's heartbeat details and result: its cursor (entity rows [from, next) are in `segments` segment files), the
 * rows written so far, and where each attempt began (the evidence that a retry resumed rather than restarted).
 */
export interface TrainingChunkProgress {
  cursor: { chunk: number; from: number; next: number; segments: number; segmentRows: number };
  rows: number;
  starts: { attempt: number; next: number; segments: number }[];
  /** With a read replica (offline.readUrl): where the chunk's join ran, and why not the replica when it did not. */
  route?: { server: 'replica' | 'primary'; reason?: string };
}

export interface TrainingSetResult {
  id: string;
  uri: string;
  rows: number;
  chunks: number;
  /** Columnar engine: per partition, its rows and the worker that built it. */
  partitions?: { index: number; rows: number; worker: string }[];
  /** Postgres engine with a read replica (offline.readUrl): per chunk, in chunk order, where its join ran. */
  routes?: { chunk: number; server: 'replica' | 'primary'; reason?: string }[];
}

export function trainingSetWorkflowId(project: string, id: string): string {
  return `training:${project}:${id}`;
}
