/** How many entity-key hash partitions a materialization fans out into (the reads themselves: OfflineStore.latestPage). */

export interface Partition {
  index: number;
  count: number;
}

/** Partitions for a run: the caller's choice, else one per `rowsPerPartition` rows, at most `max`. */
export function partitionCount(rows: number, requested?: number, rowsPerPartition = 250_000, max = 16): number {
  if (requested !== undefined) return Math.max(1, Math.min(64, Math.floor(requested)));
  return Math.max(1, Math.min(max, Math.ceil(rows / rowsPerPartition)));
}
