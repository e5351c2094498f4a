/**
 * Training sets built by a workflow: the SDK loads the entity rows into an unlogged table and records the request
 * (pinned to a commit, so retries and rebuilds read the same data); activities then build the output in chunks of
 * entity rows (each chunk a run of Arrow IPC segment files, each written whole or not at all, heartbeated as a cursor
 * so a retried chunk resumes after its last segment) and finally stream the parts into the
 * requested file. The registry row keeps the status, progress and the output's URI, so the result is fetched by
 * reference.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type FittedTransform, invalidInput, type JoinKey, StrataError, unknownObject, type ValueTypeName } from '@strata/core';
import * as arrow from 'apache-arrow';
import {
  buildQuery,
  checkAsOf,
  entityColumns,
  type EntityTableRef,
  type HistoricalRequest,
  historicalColumns,
  INLINE_CHUNK_ROWS,
  inlineEntities,
  labelColumns,
  loadEntities,
  planHistorical,
} from './historical.js';
import type { OfflineStore } from './offline.js';
import { checkWritable, outputFormat, writeBatches } from './output.js';
import type { Pool, PoolClient } from './pool.js';
import { type ReadRoute, routeRead } from './replica.js';
import { ident, qualified } from './sql.js';
import { cursorBatches } from './stream.js';
import { applyFittedBatch, type DerivedFeatures, fitTransformations, onDemandBatch } from './training-on-demand.js';

export interface TrainingSetSpec {
  selections: { view: string; version: number; features: string[] }[];
  entityColumns: { name: string; valueType: ValueTypeName }[];
  timestampColumn: string;
  fullFeatureNames: boolean;
  asOfCommitSeq: number;
  asOfTime?: string;
  dropCreatedAfterEntityTime?: boolean;
  /** 'columnar': entity rows in a Parquet file beside the output, partitions joined by DuckDB (ADR 0006). */
  engine?: 'postgres' | 'columnar';
  /** On-demand features and model-dependent transformations computed when the set is finished. */
  derived?: DerivedFeatures;
}

export type TrainingSetStatus = 'loaded' | 'building' | 'done' | 'failed';

export interface TrainingSet {
  id: string;
  project: string;
  status: TrainingSetStatus;
  spec: TrainingSetSpec;
  entityRows: number;
  rowsDone: number;
  outputUri: string | null;
  outputFormat: string | null;
  asOfCommitSeq: number | null;
  workflowId: string | null;
  error: unknown;
  createdBy: string | null;
  createdAt: Date;
  finishedAt: Date | null;
  /** The model-dependent transformations fitted on the set (set when it is done). */
  transformations: FittedTransform[] | null;
}

function entityTableName(id: string): string {
  return `tse_${createHash('sha1').update(id).digest('hex').slice(0, 24)}`;
}

function toTrainingSet(r: Record<string, unknown>): TrainingSet {
  return {
    id: r.id as string,
    project: r.project as string,
    status: r.status as TrainingSetStatus,
    spec: r.spec as TrainingSetSpec,
    entityRows: Number(r.entity_rows),
    rowsDone: Number(r.rows_done),
    outputUri: (r.output_uri as string) ?? null,
    outputFormat: (r.output_format as string) ?? null,
    asOfCommitSeq: r.as_of_commit_seq === null ? null : Number(r.as_of_commit_seq),
    workflowId: (r.workflow_id as string) ?? null,
    error: r.error ?? null,
    createdBy: (r.created_by as string) ?? null,
    createdAt: r.created_at as Date,
    finishedAt: (r.finished_at as Date) ?? null,
    transformations: (r.transformations as FittedTransform[] | null) ?? null,
  };
}

export async function getTrainingSet(store: OfflineStore, id: string): Promise<TrainingSet> {
  const { rows } = await store.pool.query(`SELECT * FROM ${qualified(store.schema, 'training_sets')} WHERE id = $1`, [id]);
  if (!rows[0]) throw unknownObject('training set', id, [], { hint: "list them with 'strata training-sets'" });
  return toTrainingSet(rows[0]);
}

export async function listTrainingSets(store: OfflineStore, project: string, limit = 100): Promise<TrainingSet[]> {
  const { rows } = await store.pool.query(
    `SELECT * FROM ${qualified(store.schema, 'training_sets')} WHERE project = $1 ORDER BY created_at DESC LIMIT $2`,
    [project, limit],
  );
  return rows.map(toTrainingSet);
}

/**
 * Records a training-set request and loads its entity rows (streamed by COPY) into an unlogged table. The request
 * is pinned to the latest commit now unless a commit is given, so the workflow (and any rebuild) reads exactly this.
 */
export async function createTrainingSet(
  store: OfflineStore,
  project: string,
  id: string,
  req: HistoricalRequest,
  out: { uri: string; format?: string; createdBy?: string },
  /** Another home for the entity rows (the columnar engine's Parquet file): loads them, returns the row count. */
  columnar?: { loadEntities(req: HistoricalRequest, ts: { id: string; outputUri: string }): Promise<number> },
): Promise<TrainingSet> {
  const keys = planHistorical(req);
  if (columnar && (req.derived?.onDemand?.length || req.derived?.transformations?.length)) {
    throw invalidInput('on-demand features and model-dependent transformations are built by the postgres engine only', {
      hint: 'start this training set with offline.engine: postgres (the default)',
    });
  }
  const format = outputFormat(out.uri, out.format);
  if (format === 'parquet-dataset' && !columnar) {
    throw invalidInput('a folder dataset (parquet-dataset) is built by the columnar engine only', {
      where: out.uri,
      hint: 'start this training set with offline.engine: columnar, or write one .parquet file',
    });
  }
  await checkWritable(out.uri, format);
  const existing = await store.pool.query(`SELECT 1 FROM ${qualified(store.schema, 'training_sets')} WHERE id = $1`, [id]);
  if (existing.rowCount) throw new StrataError('CONFLICT', `training set '${id}' already exists`, { hint: 'use a new id' });
  const client = await store.pool.connect();
  const table = entityTableName(id);
  const ref: EntityTableRef = { sql: qualified(store.schema, table), kind: 'unlogged' };
  try {
    await checkAsOf(client, store.schema, req);
    const pin =
      req.asOfCommitSeq ??
      Number(
        (
          await client.query<{ s: string | null }>(
            `SELECT max(commit_seq) AS s FROM ${qualified(store.schema, 'ingestions')} WHERE status = 'committed'`,
          )
        ).rows[0]?.s ?? 0,
      );
    const spec: TrainingSetSpec = {
      selections: req.selections.map((s) => ({
        view: s.view.name,
        version: s.view.version,
        features: s.features.map((f) => f.name),
      })),
      entityColumns: historicalColumns(req, keys).slice(0, entityColumns(req).length),
      timestampColumn: req.timestampColumn,
      fullFeatureNames: req.fullFeatureNames,
      asOfCommitSeq: pin,
      ...(req.asOfTime ? { asOfTime: req.asOfTime.toISOString() } : {}),
      ...(req.dropCreatedAfterEntityTime ? { dropCreatedAfterEntityTime: true } : {}),
      ...(columnar ? { engine: 'columnar' as const } : {}),
      ...(req.derived ? { derived: req.derived } : {}),
    };
    const rows = columnar
      ? await columnar.loadEntities({ ...req, asOfCommitSeq: pin }, { id, outputUri: out.uri })
      : await loadEntities(client, ref, req, keys, labelColumns(req, keys));
    await client.query(
      `INSERT INTO ${qualified(store.schema, 'training_sets')} (id, project, status, spec, entity_table, entity_rows, output_uri, output_format, as_of_commit_seq, created_by)
       VALUES ($1,$2,'loaded',$3,$4,$5,$6,$7,$8,$9)`,
      [id, project, JSON.stringify(spec), columnar ? null : table, rows, out.uri, format, pin, out.createdBy ?? null],
    );
    return await getTrainingSet(store, id);
  } catch (err) {
    await client.query(`DROP TABLE IF EXISTS ${ref.sql}`).catch(() => {});
    if (columnar) await rm(partsDir({ id, outputUri: out.uri }), { recursive: true, force: true }).catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** The request a training set was recorded with (views of the pinned versions, the pin, the options). */
export async function requestOf(store: OfflineStore, ts: TrainingSet): Promise<HistoricalRequest> {
  const spec = ts.spec;
  const selections = [];
  for (const s of spec.selections) {
    const view = await store.registry.getView(ts.project, s.view, s.version);
    selections.push({
      view,
      features: s.features.map((name) => {
        const f = view.spec.features.find((g) => g.name === name);
        if (!f) throw invalidInput(`feature '${name}' is no longer in view '${s.view}' v${s.version}`);
        return f;
      }),
    });
  }
  return {
    entityStream: { columns: spec.entityColumns, batches: [] },
    timestampColumn: spec.timestampColumn,
    selections,
    fullFeatureNames: spec.fullFeatureNames,
    asOfCommitSeq: spec.asOfCommitSeq,
    ...(spec.asOfTime ? { asOfTime: new Date(spec.asOfTime) } : {}),
    ...(spec.dropCreatedAfterEntityTime ? { dropCreatedAfterEntityTime: true } : {}),
  };
}

/** Where the part files of a training set go (beside the output, removed when it is done). */
export function partsDir(ts: Pick<TrainingSet, 'id' | 'outputUri'>): string {
  return join(dirname(ts.outputUri as string), `.${ts.id}.parts`);
}

/** Entity rows per segment file of a chunk (the unit a retried chunk resumes at) unless told otherwise. */
export const DEFAULT_SEGMENT_ROWS = 50_000;

/** Segment `segment` of chunk `chunk`: an Arrow IPC file of consecutive entity rows, written whole or not at all. */
export function segmentPath(ts: Pick<TrainingSet, 'id' | 'outputUri'>, chunk: number, segment: number): string {
  return join(partsDir(ts), `part-${String(chunk).padStart(6, '0')}-${String(segment).padStart(6, '0')}.arrow`);
}

/** The segment files of a chunk that exist, by segment number. */
async function chunkSegments(ts: Pick<TrainingSet, 'id' | 'outputUri'>, chunk: number): Promise<number[]> {
  const prefix = `part-${String(chunk).padStart(6, '0')}-`;
  const names = await readdir(partsDir(ts)).catch(() => [] as string[]);
  return names
    .filter((n) => n.startsWith(prefix) && n.endsWith('.arrow'))
    .map((n) => Number(n.slice(prefix.length, -'.arrow'.length)))
    .filter((n) => Number.isInteger(n))
    .sort((a, b) => a - b);
}

/**
 * Where the build of a chunk stands, heartbeated after each segment file lands: entity rows [from, next) are in
 * segment files 0 .. segments-1, each `segmentRows` rows (the last one maybe fewer). A retry given this cursor
 * continues at `next` with the next segment number; the segments before it are not built again.
 */
export interface TrainingChunkCursor {
  chunk: number;
  from: number;
  next: number;
  segments: number;
  segmentRows: number;
}

/** Checks a resume cursor against the chunk and the files: the cursor to start at (a fresh one without `resume`). */
async function startCursor(
  ts: TrainingSet,
  chunk: number,
  range: { from: number; to: number },
  segmentRows: number,
  resume: TrainingChunkCursor | undefined,
): Promise<TrainingChunkCursor> {
  const fresh = { chunk, from: range.from, next: range.from, segments: 0, segmentRows };
  if (!resume) return fresh;
  const shaped =
    resume.chunk === chunk &&
    resume.from === range.from &&
    Number.isInteger(resume.segments) &&
    resume.segments >= 0 &&
    Number.isInteger(resume.segmentRows) &&
    resume.segmentRows > 0 &&
    resume.next === Math.min(range.to, range.from + resume.segments * resume.segmentRows);
  if (!shaped) {
    throw new StrataError('INTERNAL', `training set '${ts.id}': chunk ${chunk} cannot resume from ${JSON.stringify(resume)}`, {
      hint: `the cursor does not describe entity rows [${range.from}, ${range.to}); start the training set again`,
    });
  }
  const have = new Set(await chunkSegments(ts, chunk));
  for (let s = 0; s < resume.segments; s++) {
    if (!have.has(s)) {
      throw new StrataError('INTERNAL', `training set '${ts.id}': chunk ${chunk} segment ${s} is missing`, {
        where: segmentPath(ts, chunk, s),
        hint: 'every worker must see the same folder beside the output; start the training set again',
      });
    }
  }
  return { ...resume };
}

/**
 * The entity rows [from, to) of a training set's table on the primary, each column as an array of Postgres input
 * text in inlineEntities' order (`__row`, join keys, `__ts`, labels): the parameters of the same join on a replica,
 * which cannot read the primary's unlogged table. Text round-trips every type exactly (timestamps carry their
 * offset, doubles print shortest-exact, a list prints as the array literal inlineEntities casts back).
 */
async function entityArrays(
  primary: Pool,
  table: string,
  keys: JoinKey[],
  labelCount: number,
  range: { from: number; to: number },
): Promise<(string | null)[][]> {
  const cols = ['__row', ...keys.map((k) => k.name), '__ts', ...Array.from({ length: labelCount }, (_v, i) => `__l${i}`)];
  const { rows } = await primary.query<(string | null)[]>({
    text: `SELECT ${cols.map((c) => `${ident(c)}::text`).join(', ')} FROM ${table} WHERE "__row" >= $1 AND "__row" < $2 ORDER BY "__row"`,
    values: [range.from, range.to],
    rowMode: 'array',
  });
  if (rows.length !== range.to - range.from) {
    throw new StrataError('INTERNAL', `entity table ${table} holds ${rows.length} rows in [${range.from}, ${range.to})`, {
      hint: 'the training set was changed while it was built; start it again',
    });
  }
  return cols.map((_c, j) => rows.map((r) => r[j] as string | null));
}

/**
 * The join of entity rows [from, to) on a read replica, `segmentRows` rows per batch: the entity rows are read from
 * the primary's table a run of whole segments at a time (about INLINE_CHUNK_ROWS) and passed as array parameters,
 * so every batch but the last is exactly one segment, as on the primary. `client` is in the chunk's transaction.
 */
async function* replicaBatches(
  store: OfflineStore,
  client: PoolClient,
  id: string,
  req: HistoricalRequest,
  keys: JoinKey[],
  range: { from: number; to: number },
  segmentRows: number,
  inlineRows: number,
): AsyncGenerator<arrow.RecordBatch> {
  const labels = labelColumns(req, keys);
  const sql = await buildQuery(client, store.schema, inlineEntities(keys, labels), req, keys, labels.length);
  const step = segmentRows * Math.max(1, Math.floor(inlineRows / segmentRows));
  const table = qualified(store.schema, entityTableName(id));
  let from = range.from;
  do {
    const to = Math.min(range.to, from + step);
    const params = await entityArrays(store.pool, table, keys, labels.length, { from, to });
    yield* cursorBatches(client, sql, params, historicalColumns(req, keys), segmentRows);
    from = to;
  } while (from < range.to);
}

/** The result of building a chunk: its rows, its final cursor, and where its join ran when a replica is configured. */
export interface TrainingChunkResult {
  rows: number;
  cursor: TrainingChunkCursor;
  /** Set when the store has a read replica (offline.readUrl): the replica, or the primary and why. */
  route?: ReadRoute;
}

/**
 * Builds entity rows [from, to) into the segment files of chunk `chunk` (Arrow IPC, `segmentRows` entity rows each,
 * each written whole or not at all), reporting the cursor after each segment (`onSegment`, which heartbeats it).
 * Given the last reported cursor, it continues there: one query over the rows not yet written, segment numbers
 * going on from the cursor's, so every entity row lands in exactly one segment. Segments a killed attempt wrote after
 * its last reported cursor are removed first (they are built again, cut the same way).
 *
 * With a read replica (offline.readUrl, ADR 0015), the join runs there once it has replayed every commit the pin
 * needs (routeRead: waits up to readMaxWaitMs, else the primary, with the reason): the entity rows stay in the
 * primary's unlogged table and travel to the replica as array parameters, a run of segments per query, all in one
 * read-only repeatable-read transaction on the replica, so the chunk reads one snapshot either way.
 */
export async function buildTrainingChunk(
  store: OfflineStore,
  id: string,
  chunk: number,
  range: { from: number; to: number },
  opts: {
    resume?: TrainingChunkCursor;
    segmentRows?: number;
    /** Awaited before the cursor moves on (the join's transaction is still open). */
    onSegment?: (cursor: TrainingChunkCursor) => void | Promise<void>;
    onRoute?: (route: ReadRoute) => void;
    /** On a replica: entity rows per query, rounded down to whole segments (default INLINE_CHUNK_ROWS). */
    inlineRows?: number;
  } = {},
): Promise<TrainingChunkResult> {
  const ts = await getTrainingSet(store, id);
  if (ts.status === 'done' || ts.status === 'failed') throw invalidInput(`training set '${id}' is ${ts.status}`);
  const segmentRows = Math.max(1, Math.floor(opts.segmentRows ?? DEFAULT_SEGMENT_ROWS));
  const cursor = await startCursor(ts, chunk, range, segmentRows, opts.resume);
  const req = await requestOf(store, ts);
  const keys = planHistorical(req);
  await mkdir(partsDir(ts), { recursive: true });
  for (const s of await chunkSegments(ts, chunk)) {
    if (s >= cursor.segments) await rm(segmentPath(ts, chunk, s), { force: true });
  }
  const todo = cursor.next < range.to || cursor.segments === 0;
  const replica = store.options.replica;
  let route: ReadRoute | undefined;
  if (replica && todo) {
    route = await routeRead(
      store.pool,
      replica,
      store.schema,
      req.selections.map((s) => s.view),
      {
        ...(req.asOfCommitSeq !== undefined ? { asOfCommitSeq: req.asOfCommitSeq } : {}),
        ...(req.asOfTime ? { asOfTime: req.asOfTime } : {}),
      },
    );
    opts.onRoute?.(route);
  }
  const onReplica = route?.server === 'replica';
  const client = await (onReplica ? (replica as NonNullable<typeof replica>).pool : store.pool).connect();
  try {
    if (todo) {
      const rest = { from: cursor.next, to: range.to };
      let batches: AsyncGenerator<arrow.RecordBatch>;
      if (onReplica) {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        batches = replicaBatches(store, client, id, req, keys, rest, cursor.segmentRows, opts.inlineRows ?? INLINE_CHUNK_ROWS);
      } else {
        const ref: EntityTableRef = { sql: qualified(store.schema, entityTableName(id)), kind: 'unlogged' };
        const sql = await buildQuery(client, store.schema, ref, req, keys, labelColumns(req, keys).length, rest);
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        batches = cursorBatches(client, sql, [], historicalColumns(req, keys), cursor.segmentRows);
      }
      // One cursor read is one segment: its file is written (temp name, rename) before the cursor moves past it.
      for await (const batch of batches) {
        if (batch.numRows === 0 && cursor.segments > 0) continue;
        await writeBatches(
          (async function* () {
            yield batch;
          })(),
          segmentPath(ts, chunk, cursor.segments),
          { format: 'arrow' },
        );
        cursor.segments += 1;
        cursor.next += batch.numRows;
        await opts.onSegment?.({ ...cursor });
      }
      await client.query('COMMIT');
    }
    if (cursor.next !== range.to) {
      throw new StrataError(
        'INTERNAL',
        `training set '${id}': chunk ${chunk} ended at entity row ${cursor.next}, not ${range.to}`,
      );
    }
    await store.pool.query(
      `UPDATE ${qualified(store.schema, 'training_sets')} SET status = 'building', rows_done = GREATEST(rows_done, $2) WHERE id = $1`,
      [id, range.to],
    );
    return { rows: range.to - range.from, cursor, ...(route ? { route } : {}) };
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    client.release();
  }
}

/** Streams the parts, in order, into the requested output file; drops the entity table and the parts. */
export async function finishTrainingSet(
  store: OfflineStore,
  id: string,
  chunks: number,
  /** Merges the parts another way (the columnar engine's Parquet parts); must write the output whole. */
  merge?: (ts: TrainingSet) => Promise<{ path: string; rows: number }>,
): Promise<{ uri: string; rows: number }> {
  const ts = await getTrainingSet(store, id);
  if (ts.status === 'done') return { uri: ts.outputUri as string, rows: ts.rowsDone };
  if (merge) {
    const m = await merge(ts);
    if (m.rows !== ts.entityRows) {
      throw new StrataError('INTERNAL', `training set '${id}': the parts hold ${m.rows} rows, the request ${ts.entityRows}`);
    }
    await store.pool.query(
      `UPDATE ${qualified(store.schema, 'training_sets')} SET status = 'done', rows_done = $2, finished_at = now() WHERE id = $1`,
      [id, m.rows],
    );
    await cleanupTrainingSet(store, ts);
    return { uri: m.path, rows: m.rows };
  }
  const derived = ts.spec.derived ?? {};
  const full = ts.spec.fullFeatureNames;
  // Every chunk's segments in order; the output is only kept when it holds each entity row once.
  async function* parts() {
    let rows = 0;
    for (let c = 0; c < chunks; c++) {
      const segments = await chunkSegments(ts, c);
      if (!segments.length || segments.some((s, i) => s !== i)) {
        throw new StrataError('INTERNAL', `training set '${id}': chunk ${c} has segments [${segments.join(', ')}]`);
      }
      for (const s of segments) {
        const reader = await arrow.RecordBatchReader.from(createReadStream(segmentPath(ts, c, s)));
        for await (const b of reader) {
          // The same on-demand code as serving, on each row's point-in-time features and its own request columns.
          const out = onDemandBatch(b, derived, full, rows);
          rows += b.numRows;
          yield out;
        }
      }
    }
    if (rows !== ts.entityRows) {
      throw new StrataError('INTERNAL', `training set '${id}': the parts hold ${rows} rows, the request ${ts.entityRows}`);
    }
  }
  // Transformations are fitted on the whole set (one pass), then applied while the output is written (a second).
  const fitted = derived.transformations?.length ? await fitTransformations(parts(), derived.transformations, full) : [];
  async function* output() {
    for await (const b of parts()) yield applyFittedBatch(b, fitted);
  }
  const w = await writeBatches(output(), ts.outputUri as string, { format: ts.outputFormat ?? undefined });
  await store.pool.query(
    `UPDATE ${qualified(store.schema, 'training_sets')} SET status = 'done', rows_done = $2, finished_at = now(), transformations = $3 WHERE id = $1`,
    [id, w.rows, fitted.length ? JSON.stringify(fitted) : null],
  );
  await cleanupTrainingSet(store, ts);
  return { uri: w.path, rows: w.rows };
}

/** Records the workflow that builds a training set (its id is shown with the set and used to follow it). */
export async function setTrainingSetWorkflow(store: OfflineStore, id: string, workflowId: string): Promise<void> {
  await store.pool.query(`UPDATE ${qualified(store.schema, 'training_sets')} SET workflow_id = $2 WHERE id = $1`, [
    id,
    workflowId,
  ]);
}

/** Marks a training set as being built (a partition or chunk started). */
export async function markTrainingSetBuilding(store: OfflineStore, id: string): Promise<void> {
  await store.pool.query(
    `UPDATE ${qualified(store.schema, 'training_sets')} SET status = 'building' WHERE id = $1 AND status IN ('loaded', 'building')`,
    [id],
  );
}

async function cleanupTrainingSet(store: OfflineStore, ts: TrainingSet): Promise<void> {
  await store.pool.query(`DROP TABLE IF EXISTS ${qualified(store.schema, entityTableName(ts.id))}`);
  if (ts.outputUri) await rm(partsDir(ts), { recursive: true, force: true });
}

export async function failTrainingSet(store: OfflineStore, id: string, error: unknown): Promise<void> {
  const ts = await getTrainingSet(store, id).catch(() => undefined);
  if (!ts || ts.status === 'done') return;
  await store.pool.query(
    `UPDATE ${qualified(store.schema, 'training_sets')} SET status = 'failed', error = $2, finished_at = now() WHERE id = $1`,
    [id, JSON.stringify(error)],
  );
  await cleanupTrainingSet(store, ts);
}
