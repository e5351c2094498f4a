/**
 * The ingest workflow's staging step for a file the worker reads itself (`ingest(view, path, { stageOn: 'worker' })`):
 * the file goes to Postgres in chunks (offline-postgres stageResumable), the activity heartbeating its row cursor
 * after each chunk and every second between. A retry (another worker after a crash) reads the cursor from its
 * heartbeat details, skips that many rows of the file and continues into the same ingestion.
 */
import { type ColumnBatch, type OfflineStore, type PgRegistry, stageResumable } from '@strata/offline-postgres';
import type { IngestFileActivities, StageFileInput, StageFileProgress } from '@strata/workflows';
import { wrap } from '@strata/workflows';
import { StrataError } from '@strata/core';
import { Context } from '@temporalio/activity';
import { readBatches } from './readers.js';

/** Rows per chunk of a worker's staging load unless told otherwise. */
export const DEFAULT_STAGE_CHUNK_ROWS = 200_000;

/** The input from row `skip` on: whole batches are skipped (chunks end at batch boundaries, and reads are repeatable). */
async function* from(batches: AsyncIterable<ColumnBatch>, skip: number, where: string): AsyncGenerator<ColumnBatch> {
  let skipped = 0;
  for await (const b of batches) {
    if (skipped < skip) {
      skipped += b.numRows;
      if (skipped > skip) {
        throw new StrataError('INTERNAL', `${where}: the resume cursor (row ${skip}) is not at a batch boundary`, {
          hint: 'the file changed since staging began; ingest it again',
        });
      }
      continue;
    }
    yield b;
  }
  if (skipped < skip) {
    throw new StrataError('INVALID_INPUT', `${where} has ${skipped} rows, but ${skip} were already staged`, {
      where,
      hint: 'the file changed (got shorter) since staging began; ingest it again',
    });
  }
}

export function createIngestFileActivities(deps: { registry: PgRegistry; offline: OfflineStore }): IngestFileActivities {
  return {
    stageIngestFile: wrap(async (input: StageFileInput): Promise<StageFileProgress> => {
      const ctx = Context.current();
      const resumed = ctx.info.heartbeatDetails as StageFileProgress | undefined;
      const starts = [...(resumed?.starts ?? [])];
      const start = { attempt: ctx.info.attempt, rows: resumed?.cursor.rows ?? 0, chunks: resumed?.cursor.chunks ?? 0 };
      starts.push(start);
      if (resumed) ctx.log.info('stageIngestFile resumes from its heartbeated cursor', { ...start });
      let state: StageFileProgress = { cursor: { rows: start.rows, chunks: start.chunks }, starts };
      const beat = setInterval(() => ctx.heartbeat(state), 1000);
      ctx.heartbeat(state);
      try {
        const vv = await deps.registry.getView(input.project, input.view);
        const chunkRows = Math.max(1, input.chunkRows ?? DEFAULT_STAGE_CHUNK_ROWS);
        const batches = readBatches(input.path, {
          ...(input.format ? { format: input.format } : {}),
          batchSize: Math.min(chunkRows, 10_000),
        });
        const staged = await stageResumable(deps.offline, vv, input.ingestionId, from(batches, start.rows, input.path), {
          workflowId: ctx.info.workflowExecution?.workflowId ?? input.ingestionId,
          chunkRows,
          ...(resumed ? { resume: resumed.cursor } : {}),
          source: input.path,
          ...(input.createdBy ? { createdBy: input.createdBy } : {}),
          onChunk: (cursor) => {
            state = { cursor, starts };
            ctx.heartbeat(state);
          },
        });
        return { cursor: staged.cursor, starts, staged: staged.rows };
      } finally {
        clearInterval(beat);
      }
    }),
  };
}
