/**
 * Activities of the training-set workflow: build one chunk of entity rows into a part file (heartbeating its row
 * count), stream the parts into the output file, or record a failure. All I/O is here; see workflows/training.ts.
 */
import { buildTrainingChunk, failTrainingSet, finishTrainingSet, type OfflineStore } from '@strata/offline-postgres';
import { Context } from '@temporalio/activity';
import { wrap } from './failure.js';

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

export function createTrainingActivities(deps: { offline: OfflineStore }) {
  const { offline } = deps;
  return {
    buildTrainingChunk: wrap(async (id: string, chunk: number, from: number, to: number): Promise<number> => {
      const ctx = currentContext();
      return buildTrainingChunk(offline, id, chunk, { from, to }, (rows) => ctx?.heartbeat({ rows }));
    }),
    finishTrainingSet: wrap(
      async (id: string, chunks: number): Promise<{ uri: string; rows: number }> => finishTrainingSet(offline, id, chunks),
    ),
    failTrainingSet: wrap(async (id: string, error: unknown): Promise<void> => failTrainingSet(offline, id, error)),
  };
}
