/**
 * Builds a big training set: entity rows (already loaded by the client) are joined in chunks, each chunk an activity
 * writing segment files and heartbeating its cursor (a retried chunk resumes after its last segment), a few at a time; then the parts are streamed into the output file, whose URI the registry
 * keeps. The `progress` query reports rows done; a failure marks the training set failed and removes its parts.
 */
import { ApplicationFailure, proxyActivities, setHandler } from '@temporalio/workflow';
import type { createTrainingActivities } from '../training-activities.js';
import type { TrainingSetInput, TrainingSetResult } from '../training-shared.js';
import { activityRetry, type Progress, progressQuery } from '../shared.js';

type Activities = ReturnType<typeof createTrainingActivities>;

const NON_RETRYABLE = ['INVALID_INPUT', 'INVALID_SPEC', 'SCHEMA_MISMATCH', 'UNKNOWN_OBJECT', 'UNKNOWN_FEATURE'];

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '2 minutes',
  retry: activityRetry(20, NON_RETRYABLE),
});

/** The chunk and partition builders: a worker that stops heartbeating for `heartbeatTimeout` loses its activity. */
function builders(input: TrainingSetInput) {
  return proxyActivities<Activities>({
    startToCloseTimeout: '6 hours',
    heartbeatTimeout: input.heartbeatTimeout ?? '2 minutes',
    retry: activityRetry(20, [...NON_RETRYABLE, 'CONFIG']),
  });
}

export async function trainingSetWorkflow(input: TrainingSetInput): Promise<TrainingSetResult> {
  const progress: Progress = { stage: 'joining', rowsTotal: input.entityRows, rowsDone: 0 };
  setHandler(progressQuery, () => progress);
  const size = Math.max(1, input.chunkRows ?? 250_000);
  const chunks = Math.max(1, Math.ceil(input.entityRows / size));
  const parallel = Math.max(1, input.parallel ?? 2);
  if (input.engine === 'columnar') return partitioned(input, progress, Math.max(1, input.partitions ?? chunks), parallel);
  const build = builders(input);
  const routes: NonNullable<TrainingSetResult['routes']> = [];
  try {
    let next = 0;
    const worker = async () => {
      for (;;) {
        const c = next++;
        if (c >= chunks) return;
        const from = c * size;
        const to = Math.min(input.entityRows, from + size);
        const built = input.segmentRows
          ? await build.buildTrainingChunk(input.id, c, from, to, input.segmentRows)
          : await build.buildTrainingChunk(input.id, c, from, to);
        // Runs started before chunks resumed from a cursor got a bare row count back.
        progress.rowsDone += typeof built === 'number' ? built : built.rows;
        if (typeof built !== 'number' && built.route) routes.push({ chunk: c, ...built.route });
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, chunks) }, worker));
    progress.stage = 'writing';
    const out = await acts.finishTrainingSet(input.id, chunks);
    progress.stage = 'done';
    routes.sort((a, b) => a.chunk - b.chunk);
    return { id: input.id, uri: out.uri, rows: out.rows, chunks, ...(routes.length ? { routes } : {}) };
  } catch (err) {
    progress.stage = 'failed';
    const e = err as { message?: string; cause?: { type?: string; message?: string } };
    await acts.failTrainingSet(input.id, { message: e.cause?.message ?? e.message, type: e.cause?.type });
    if (err instanceof ApplicationFailure) throw err;
    throw err;
  }
}

/**
 * The columnar engine's plan: entity-key hash partitions, each an activity writing a Parquet part (any worker; a
 * partition whose worker stops heartbeating is retried on another), then one activity merging the parts in
 * entity-row order into the output and checking that it holds every entity row exactly once.
 */
async function partitioned(
  input: TrainingSetInput,
  progress: Progress,
  count: number,
  parallel: number,
): Promise<TrainingSetResult> {
  const part = builders(input);
  const done: { index: number; rows: number; worker: string }[] = [];
  try {
    let next = 0;
    const worker = async () => {
      for (;;) {
        const p = next++;
        if (p >= count) return;
        const r = await part.buildTrainingPartition(input.id, p, count);
        done.push({ index: p, ...r });
        progress.rowsDone += r.rows;
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
    progress.stage = 'writing';
    const out = await acts.finishTrainingSet(input.id, count);
    progress.stage = 'done';
    return { id: input.id, uri: out.uri, rows: out.rows, chunks: count, partitions: done.sort((a, b) => a.index - b.index) };
  } catch (err) {
    progress.stage = 'failed';
    const e = err as { message?: string; cause?: { type?: string; message?: string } };
    await acts.failTrainingSet(input.id, { message: e.cause?.message ?? e.message, type: e.cause?.type });
    throw err;
  }
}
