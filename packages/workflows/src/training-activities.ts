/**
 * Activities of the training-set workflow: build one chunk of entity rows into segment files (heartbeating a cursor
 * it resumes from after a crash), or, on the columnar engine, one entity-key hash partition into a Parquet part (heartbeating while DuckDB
 * joins); stream or merge the parts into the output file (or present them as a folder dataset), or record a failure. All I/O is here; see
 * workflows/training.ts.
 */
import { join } from 'node:path';
import { StrataError } from '@strata/core';
import type { ColumnarEngine } from '@strata/offline-columnar';
import {
  buildTrainingChunk,
  failTrainingSet,
  finishTrainingSet,
  getTrainingSet,
  markTrainingSetBuilding,
  type OfflineStore,
  partsDir,
  requestOf,
  type TrainingSet,
} from '@strata/offline-postgres';
import { Context } from '@temporalio/activity';
import { wrap } from './failure.js';
import type { TrainingChunkProgress } from './training-shared.js';

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** Where the columnar engine keeps a training set's entity rows and its parts (beside the output). */
export function columnarEntitiesPath(ts: Pick<TrainingSet, 'id' | 'outputUri'>): string {
  return join(partsDir(ts), 'entities.parquet');
}

export function columnarPartPath(ts: Pick<TrainingSet, 'id' | 'outputUri'>, partition: number): string {
  return join(partsDir(ts), `part-${String(partition).padStart(5, '0')}.parquet`);
}

export function createTrainingActivities(deps: { offline: OfflineStore; columnar?: ColumnarEngine }) {
  const { offline } = deps;
  const engine = (): ColumnarEngine => {
    if (!deps.columnar) {
      throw new StrataError('CONFIG', 'this worker has no columnar engine, but the training set was started on it', {
        hint: 'give every worker the same offline.columnarRoot (STRATA_COLUMNAR_ROOT) as the client',
      });
    }
    return deps.columnar;
  };
  return {
    /**
     * Builds entity rows [from, to) as chunk `chunk`, segment by segment, heartbeating its cursor (TrainingChunkProgress)
     * after each segment and every second while a segment is being read. A retry (another worker after a crash, or
     * this one after a fault) continues from the cursor of the last heartbeat the server kept. With offline.readUrl
     * the join runs on the replica when it has caught up; the result says where (`route`).
     */
    buildTrainingChunk: wrap(
      async (id: string, chunk: number, from: number, to: number, segmentRows?: number): Promise<TrainingChunkProgress> => {
        const ctx = currentContext();
        const resumed = ctx?.info.heartbeatDetails as TrainingChunkProgress | undefined;
        const starts = [...(resumed?.starts ?? [])];
        const start = {
          attempt: ctx?.info.attempt ?? 1,
          next: resumed?.cursor.next ?? from,
          segments: resumed?.cursor.segments ?? 0,
        };
        starts.push(start);
        if (resumed) ctx?.log.info('buildTrainingChunk resumes from its heartbeated cursor', { chunk, ...start });
        let state: TrainingChunkProgress | undefined = resumed ? { ...resumed, starts } : undefined;
        const beat = setInterval(() => {
          if (state) ctx?.heartbeat(state);
          else ctx?.heartbeat();
        }, 1000);
        try {
          const built = await buildTrainingChunk(
            offline,
            id,
            chunk,
            { from, to },
            {
              ...(resumed ? { resume: resumed.cursor } : {}),
              ...(segmentRows ? { segmentRows } : {}),
              onSegment: (cursor) => {
                state = { cursor, rows: cursor.next - from, starts };
                ctx?.heartbeat(state);
              },
            },
          );
          if (built.route?.server === 'primary')
            ctx?.log.warn('buildTrainingChunk read the primary, not the replica', { chunk, reason: built.route.reason });
          return { cursor: built.cursor, rows: built.rows, starts, ...(built.route ? { route: built.route } : {}) };
        } finally {
          clearInterval(beat);
        }
      },
    ),
    /**
     * Joins partition `index` of `count` (entity-key hash) into its Parquet part. Heartbeats while it runs, so a dead
     * worker's partition times out and is retried on another worker, which writes the same part again.
     */
    buildTrainingPartition: wrap(async (id: string, index: number, count: number): Promise<{ rows: number; worker: string }> => {
      const ctx = currentContext();
      const ts = await getTrainingSet(offline, id);
      if (ts.status === 'done' || ts.status === 'failed')
        throw new StrataError('INVALID_INPUT', `training set '${id}' is ${ts.status}`);
      const req = await requestOf(offline, ts);
      await markTrainingSetBuilding(offline, id);
      const beat = setInterval(() => ctx?.heartbeat({ partition: index }), 1000);
      try {
        ctx?.heartbeat({ partition: index });
        const rows = await engine().buildPartition(req, columnarEntitiesPath(ts), { index, count }, columnarPartPath(ts, index), {
          withRow: ts.outputFormat !== 'parquet-dataset',
        });
        return { rows, worker: `pid ${process.pid}` };
      } finally {
        clearInterval(beat);
      }
    }),
    finishTrainingSet: wrap(async (id: string, chunks: number): Promise<{ uri: string; rows: number }> => {
      const ts = await getTrainingSet(offline, id);
      if (ts.spec.engine !== 'columnar') return finishTrainingSet(offline, id, chunks);
      const req = await requestOf(offline, ts);
      const parts = Array.from({ length: chunks }, (_v, p) => columnarPartPath(ts, p));
      // A folder dataset is the parts themselves (no merge pass); any other format merges them into one file.
      return finishTrainingSet(offline, id, chunks, (t) =>
        t.outputFormat === 'parquet-dataset'
          ? engine().publishDataset(parts, t.outputUri as string)
          : engine().mergeParts(req, parts, t.outputUri as string, t.outputFormat ?? undefined),
      );
    }),
    failTrainingSet: wrap(async (id: string, error: unknown): Promise<void> => failTrainingSet(offline, id, error)),
  };
}
