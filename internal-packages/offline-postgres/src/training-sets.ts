/**
 * Training sets built by a workflow: the SDK loads the entity rows into an unlogged table and records the request
 * (pinned to a commit, so retries and rebuilds read the same data); activities then build the output in chunks of
 * entity rows (each chunk an Arrow IPC part file, written whole or not at all) and finally stream the parts into the
 * requested file. The registry row keeps the status, progress and the output's URI, so the result is fetched by
 * reference.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { invalidInput, StrataError, unknownObject, type ValueTypeName } from '@strata/core';
import * as arrow from 'apache-arrow';
import {
  buildQuery,
  checkAsOf,
  entityColumns,
  type EntityTableRef,
  type HistoricalRequest,
  historicalColumns,
  labelColumns,
  loadEntities,
  planHistorical,
} from './historical.js';
import type { OfflineStore } from './offline.js';
import { checkWritable, outputFormat, writeBatches } from './output.js';
import { qualified } from './sql.js';
import { cursorBatches } from './stream.js';

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
  const format = outputFormat(out.uri, out.format);
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

export function partPath(ts: TrainingSet, chunk: number): string {
  return join(partsDir(ts), `part-${String(chunk).padStart(6, '0')}.arrow`);
}

/**
 * Builds entity rows [from, to) into part file `chunk` (Arrow IPC). Idempotent: a retried chunk rewrites its part.
 */
export async function buildTrainingChunk(
  store: OfflineStore,
  id: string,
  chunk: number,
  range: { from: number; to: number },
  onRows?: (rows: number) => void,
): Promise<number> {
  const ts = await getTrainingSet(store, id);
  if (ts.status === 'done' || ts.status === 'failed') throw invalidInput(`training set '${id}' is ${ts.status}`);
  const req = await requestOf(store, ts);
  const keys = planHistorical(req);
  const client = await store.pool.connect();
  try {
    const ref: EntityTableRef = { sql: qualified(store.schema, entityTableName(id)), kind: 'unlogged' };
    const sql = await buildQuery(client, store.schema, ref, req, keys, labelColumns(req, keys).length, range);
    await mkdir(partsDir(ts), { recursive: true });
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const w = await writeBatches(
      cursorBatches(client, sql, [], historicalColumns(req, keys), 50_000, onRows),
      partPath(ts, chunk),
      {
        format: 'arrow',
      },
    );
    await client.query('COMMIT');
    await store.pool.query(
      `UPDATE ${qualified(store.schema, 'training_sets')} SET status = 'building', rows_done = GREATEST(rows_done, $2) WHERE id = $1`,
      [id, range.from + w.rows],
    );
    return w.rows;
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
  async function* parts() {
    for (let c = 0; c < chunks; c++) {
      const reader = await arrow.RecordBatchReader.from(createReadStream(partPath(ts, c)));
      for await (const b of reader) yield b;
    }
  }
  const w = await writeBatches(parts(), ts.outputUri as string, { format: ts.outputFormat ?? undefined });
  await store.pool.query(
    `UPDATE ${qualified(store.schema, 'training_sets')} SET status = 'done', rows_done = $2, finished_at = now() WHERE id = $1`,
    [id, w.rows],
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
