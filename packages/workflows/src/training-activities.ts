/**
 * Activities of the training-set workflow: build one chunk of entity rows into a part file (heartbeating its row
 * count), stream the parts into the output file, or record a failure. All I/O is here; see workflows/training.ts.
 */
import { StrataError } from '@strata/core';
import {
  buildTrainingChunk,
  failTrainingSet,
  finishTrainingSet,
  type OfflineStore,
  translatePgError,
} from '@strata/offline-postgres';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';

function failure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = err instanceof StrataError ? err : translatePgError(err);
  return ApplicationFailure.create({
    type: e.code,
    message: e.where ? `${e.message} (at ${e.where})` : e.message,
    nonRetryable: !e.retryable && e.code !== 'INTERNAL',
    details: [e.toJSON()],
  });
}

export function createTrainingActivities(deps: { offline: OfflineStore }) {
  const { offline } = deps;
  return {
    async buildTrainingChunk(id: string, chunk: number, from: number, to: number): Promise<number> {
      try {
        const ctx = (() => {
          try {
            return Context.current();
          } catch {
            return undefined;
          }
        })();
        return await buildTrainingChunk(offline, id, chunk, { from, to }, (rows) => ctx?.heartbeat({ rows }));
      } catch (err) {
        throw failure(err);
      }
    },
    async finishTrainingSet(id: string, chunks: number): Promise<{ uri: string; rows: number }> {
      try {
        return await finishTrainingSet(offline, id, chunks);
      } catch (err) {
        throw failure(err);
      }
    },
    async failTrainingSet(id: string, error: unknown): Promise<void> {
      try {
        await failTrainingSet(offline, id, error);
      } catch (err) {
        throw failure(err);
      }
    },
  };
}
