/** History of materialization runs (the registry's materializations table): rows, durations, status. */
import { type MaterializationRun, materializationRuns } from '@strata/offline-postgres';
import type { Strata } from './client.js';

export type { MaterializationRun };

export function materializationHistory(strata: Strata, view?: string, limit = 50): Promise<MaterializationRun[]> {
  return materializationRuns(strata.registry, strata.project, view, limit);
}
