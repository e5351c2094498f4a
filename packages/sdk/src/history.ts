/**
 * Training sets that stream (entity rows from a file into Postgres batch by batch, results out as Arrow record
 * batches) and time travel over a view's commits. The client's methods are thin wrappers over these.
 */
import {
  fromArrowType,
  invalidInput,
  parseTimestamp,
  type ResolvedSelection,
  StrataError,
  type ValueTypeName,
} from '@strata/core';
import {
  type ColumnBatch,
  type CommitInfo,
  diffSummary,
  onDemandBatch,
  type EntityStream,
  type HistoricalRequest,
  type ViewVersion,
} from '@strata/offline-postgres';
import type { OfflineStore, TrainingRequest } from '@strata/offline-store';
import * as arrow from 'apache-arrow';
import { detectFormat, inferTextType, readArrowBatches, readBatches } from './readers.js';

export interface TimeTravelOptions {
  /** Only commits up to this commit sequence number. */
  asOfCommit?: number;
  /** Only commits committed at or before this wall-clock time (Date, ISO text or epoch ms). */
  asOf?: Date | string | number;
}

export function parseAsOf(v: Date | string | number | undefined): Date | undefined {
  if (v === undefined) return undefined;
  try {
    return parseTimestamp(v);
  } catch (err) {
    throw invalidInput(`as-of time: ${(err as Error).message}`, { hint: 'give an ISO time such as 2024-05-01T12:00:00Z' });
  }
}

/** Entity rows of a file as typed columns and a stream of batches; label types come from the first batch. */
export async function entityStreamFromFile(
  path: string,
  format: string | undefined,
  types: Record<string, ValueTypeName>,
  batchSize = 50_000,
): Promise<EntityStream> {
  const f = detectFormat(path, format);
  if (f === 'arrow' || f === 'parquet') {
    const it = readArrowBatches(path, f)[Symbol.asyncIterator]();
    const first = await it.next();
    if (first.done) throw invalidInput(`${path} has no rows`, { where: path });
    const columns = first.value.schema.fields.map((fl) => {
      const t = types[fl.name] ?? fromArrowType(fl.type);
      if (!t) throw invalidInput(`entity column '${fl.name}' has an Arrow type Strata cannot read (${fl.type})`, { where: path });
      return { name: fl.name, valueType: t };
    });
    const { arrowColumnBatch } = await import('@strata/offline-postgres');
    const batches = (async function* () {
      yield arrowColumnBatch(first.value);
      for (;;) {
        const n = await it.next();
        if (n.done) return;
        yield arrowColumnBatch(n.value);
      }
    })();
    return { columns, batches };
  }
  const it = readBatches(path, { format: f, batchSize })[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) throw invalidInput(`${path} has no rows`, { where: path });
  const b0: ColumnBatch = first.value;
  const columns = b0.columnNames.map((name) => {
    const get = b0.column(name) as (i: number) => unknown;
    const sample = Array.from({ length: Math.min(b0.numRows, 10_000) }, (_v, i) => get(i));
    return { name, valueType: types[name] ?? inferTextType(sample) };
  });
  const batches = (async function* () {
    yield b0;
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      yield n.value;
    }
  })();
  return { columns, batches };
}

export interface StreamHistoricalInput extends TimeTravelOptions {
  selections: (ResolvedSelection & { vv: ViewVersion })[];
  entities: arrow.Table | { path: string; format?: string } | EntityStream;
  timestampColumn: string;
  fullFeatureNames: boolean;
  dropCreatedAfterEntityTime?: boolean;
  batchSize?: number;
  workMem?: string;
  strategy?: HistoricalRequest['strategy'];
  entityLoad?: HistoricalRequest['entityLoad'];
  onProgress?: HistoricalRequest['onProgress'];
  derived?: HistoricalRequest['derived'];
  onRoute?: TrainingRequest['onRoute'];
}

export async function historicalRequest(input: StreamHistoricalInput): Promise<HistoricalRequest> {
  const types: Record<string, ValueTypeName> = { [input.timestampColumn]: 'UNIX_TIMESTAMP' };
  for (const s of input.selections) for (const k of s.vv.joinKeys) types[k.name] = k.valueType;
  const e = input.entities;
  const source: Pick<HistoricalRequest, 'entityTable' | 'entityStream'> =
    e instanceof arrow.Table
      ? { entityTable: e }
      : 'path' in e
        ? { entityStream: await entityStreamFromFile(e.path, e.format, types, input.batchSize) }
        : { entityStream: e };
  const asOfTime = parseAsOf(input.asOf);
  return {
    ...source,
    timestampColumn: input.timestampColumn,
    selections: input.selections.map((s) => ({ view: s.vv, features: s.features })),
    fullFeatureNames: input.fullFeatureNames,
    ...(input.asOfCommit !== undefined ? { asOfCommitSeq: input.asOfCommit } : {}),
    ...(asOfTime ? { asOfTime } : {}),
    ...(input.dropCreatedAfterEntityTime ? { dropCreatedAfterEntityTime: true } : {}),
    ...(input.batchSize ? { batchSize: input.batchSize } : {}),
    ...(input.workMem ? { workMem: input.workMem } : {}),
    ...(input.strategy ? { strategy: input.strategy } : {}),
    ...(input.entityLoad ? { entityLoad: input.entityLoad } : {}),
    ...(input.onProgress ? { onProgress: input.onProgress } : {}),
    ...(input.derived ? { derived: input.derived } : {}),
  };
}

/** The request for an offline store: an engine that reads Parquet itself is also given the entity file. */
export async function trainingRequest(store: OfflineStore, input: StreamHistoricalInput): Promise<TrainingRequest> {
  const req: TrainingRequest = await historicalRequest(input);
  if (input.onRoute) req.onRoute = input.onRoute;
  const e = input.entities;
  if (store.engine === 'columnar' && !(e instanceof arrow.Table) && 'path' in e && detectFormat(e.path, e.format) === 'parquet') {
    req.entityFile = { path: e.path, format: 'parquet' };
  }
  return req;
}

export async function* streamTrainingSet(store: OfflineStore, input: StreamHistoricalInput): AsyncGenerator<arrow.RecordBatch> {
  const derived = input.derived;
  if (!derived?.onDemand?.length && !derived?.hidden?.length) {
    yield* store.streamTrainingSet(await trainingRequest(store, input));
    return;
  }
  // On-demand features on each streamed batch, with the serving app's code. Fitted transformations need a stored
  // training set (startTrainingSet), which keeps their statistics for serving.
  let row = 0;
  for await (const b of store.streamTrainingSet(await trainingRequest(store, input))) {
    yield onDemandBatch(b, derived, input.fullFeatureNames, row);
    row += b.numRows;
  }
}

export function history(store: OfflineStore, project: string, view: string): Promise<CommitInfo[]> {
  return store.history(project, view);
}

export function readView(
  store: OfflineStore,
  vv: ViewVersion,
  opts: TimeTravelOptions & { latest?: boolean; batchSize?: number } = {},
): AsyncGenerator<arrow.RecordBatch> {
  const time = parseAsOf(opts.asOf);
  if (opts.asOfCommit !== undefined && (!Number.isSafeInteger(opts.asOfCommit) || opts.asOfCommit < 0))
    throw invalidInput(`--as-of-commit must be a commit number (got ${opts.asOfCommit})`);
  return store.readAsOf(vv, {
    ...(opts.asOfCommit !== undefined ? { commitSeq: opts.asOfCommit } : {}),
    ...(time ? { time } : {}),
    ...(opts.latest ? { latest: true } : {}),
    ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
  });
}

export function diff(store: OfflineStore, vv: ViewVersion, from: number, to: number): AsyncGenerator<arrow.RecordBatch> {
  return store.diff(vv, from, to);
}

export { diffSummary };

/** Collects batches into a table (for small results and previews). */
export async function collect(batches: AsyncIterable<arrow.RecordBatch>, limit = Number.POSITIVE_INFINITY): Promise<arrow.Table> {
  const out: arrow.RecordBatch[] = [];
  let n = 0;
  for await (const b of batches) {
    out.push(b);
    n += b.numRows;
    if (n >= limit) break;
  }
  if (!out.length) throw new StrataError('INTERNAL', 'the read returned no batches');
  return new arrow.Table(out);
}
