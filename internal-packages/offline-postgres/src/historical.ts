/**
 * Point-in-time-correct training sets: for each entity row and each selected view, the latest feature row whose
 * event time is <= the entity row's time and within the view's TTL counted back from it (TTL 0 = no limit); ties
 * broken by created timestamp, then by commit order. Extra columns of the entity table (labels) are kept.
 *
 * The entity rows stream into a temporary table by COPY; the result streams out through a server-side cursor as
 * Arrow record batches, so neither side is held in memory whole.
 */
import type { DerivedFeatures } from './training-on-demand.js';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  type FeatureSpec,
  fromArrowType,
  invalidInput,
  isListType,
  type JoinKey,
  schemaMismatch,
  StrataError,
  toPostgresType,
  type ValueTypeName,
} from '@strata/core';
import * as arrow from 'apache-arrow';
import { from as copyFrom } from 'pg-copy-streams';
import { type CopyColumn, encodeColumns, encodeRows, RowError } from './copy-encode.js';
import { arrowColumnBatch, type ColumnBatch } from './offline.js';
import type { Pool, PoolClient } from './pool.js';
import type { ViewVersion } from './registry.js';
import { ident, qualified } from './sql.js';
import { type ReadReplica, type ReadRoute, routeRead } from './replica.js';
import { arrowSchema, cursorBatches, recordBatch } from './stream.js';

export interface HistoricalSelection {
  view: ViewVersion;
  features: FeatureSpec[];
}

/** The strategies the planner can use; tests run every one of them against the reference. */
export const PIT_STRATEGIES = ['lateral', 'merge'] as const;
export type PitStrategy = (typeof PIT_STRATEGIES)[number];
/**
 * lateral: one index probe per entity row and view (best for few entity rows against big views);
 * merge: one sort of entity and feature rows per view with window functions (best for big requests).
 */
const DEFAULT_STRATEGY: PitStrategy = 'lateral';
/** Entity rows from which streamHistoricalFeatures picks the merge strategy when none is given. */
export const MERGE_FROM_ROWS = Number.POSITIVE_INFINITY;

/** Entity rows given as typed columns and a stream of batches (a file read batch by batch). */
export interface EntityStream {
  columns: { name: string; valueType: ValueTypeName }[];
  batches: AsyncIterable<ColumnBatch> | Iterable<ColumnBatch>;
}

export interface HistoricalRequest {
  /** Entity rows: an Arrow table, or typed columns with a stream of batches. */
  entityTable?: arrow.Table;
  entityStream?: EntityStream;
  /** Column of the entity table holding each row's time (default: event_timestamp). */
  timestampColumn: string;
  selections: HistoricalSelection[];
  fullFeatureNames: boolean;
  /** Only commits with a sequence number <= this are visible (pin a training set to a commit). */
  asOfCommitSeq?: number;
  /** Only commits whose committed_at is <= this time are visible (wall-clock time travel). */
  asOfTime?: Date;
  /**
   * Drop feature rows that were not known yet at the entity row's time (backfill leakage): rows whose created
   * timestamp is after the entity time, or, where the view has no created column (or the value is null), rows whose
   * commit happened after it.
   */
  dropCreatedAfterEntityTime?: boolean;
  strategy?: PitStrategy;
  /** Rows per output record batch (default 50,000). */
  batchSize?: number;
  /** work_mem for the query (e.g. '256MB'). */
  workMem?: string;
  /**
   * How the entity rows reach the primary: 'copy' (a temp table loaded by COPY, indexed and analysed; the default)
   * or 'inline' (array parameters of the query, as on a replica). Replica reads are always inline.
   */
  entityLoad?: 'copy' | 'inline';
  onProgress?: (p: { stage: 'loading' | 'joining'; rows: number }) => void;
  /** On-demand features and transformations (computed by the training-set builder, not by the join). */
  derived?: DerivedFeatures;
}

export function outputName(view: string, feature: string, full: boolean): string {
  return full ? `${view}__${feature}` : feature;
}

function entityColumns(req: HistoricalRequest): { name: string; valueType: ValueTypeName }[] {
  if (req.entityStream) return req.entityStream.columns;
  if (!req.entityTable) throw invalidInput('no entity rows given', { hint: 'pass an entity table, a file or a SQL query' });
  return req.entityTable.schema.fields.map((f) => {
    const t = fromArrowType(f.type);
    if (!t) throw invalidInput(`entity column '${f.name}' has an Arrow type Strata cannot read (${f.type})`);
    return { name: f.name, valueType: t };
  });
}

const INTS = new Set<ValueTypeName>(['INT32', 'INT64']);

/** Entity columns that are neither join keys nor the timestamp (labels): kept in the output. */
export function labelColumns(req: HistoricalRequest, keys: JoinKey[]): { name: string; valueType: ValueTypeName }[] {
  const keyNames = new Set(keys.map((k) => k.name));
  return entityColumns(req).filter((c) => c.name !== req.timestampColumn && !keyNames.has(c.name));
}

export { checkAsOf, entityColumns };

/** Checks names and key columns before any query; returns the join keys to upload. */
export function planHistorical(req: HistoricalRequest): JoinKey[] {
  const cols = new Map(entityColumns(req).map((f) => [f.name, f]));
  const ts = cols.get(req.timestampColumn);
  if (!ts) {
    throw invalidInput(`the entity table has no timestamp column '${req.timestampColumn}'`, {
      hint: `name it with timestampColumn; the entity table has ${[...cols.keys()].join(', ')}`,
    });
  }
  if (!['UNIX_TIMESTAMP', 'STRING', 'INT64'].includes(ts.valueType)) {
    throw schemaMismatch(`entity timestamp column '${req.timestampColumn}' is ${ts.valueType}; it must hold times`);
  }
  if (!req.selections.length) throw invalidInput('no features selected', { hint: 'select features or a feature service' });
  const keys = new Map<string, JoinKey>();
  for (const s of req.selections) {
    for (const k of s.view.joinKeys) {
      const prev = keys.get(k.name);
      if (prev && prev.valueType !== k.valueType) {
        throw schemaMismatch(`join key '${k.name}' is ${prev.valueType} in one view and ${k.valueType} in view '${s.view.name}'`);
      }
      keys.set(k.name, k);
      const col = cols.get(k.name);
      if (!col) {
        throw invalidInput(`the entity table lacks join key '${k.name}' needed by feature view '${s.view.name}'`, {
          hint: `add a '${k.name}' column (${k.valueType}); the entity table has ${[...cols.keys()].join(', ')}`,
        });
      }
      const ok = col.valueType === k.valueType || (INTS.has(col.valueType) && INTS.has(k.valueType));
      if (!ok && !(req.entityStream && col.valueType === 'STRING')) {
        throw schemaMismatch(
          `entity column '${k.name}' is ${col.valueType} but feature view '${s.view.name}' keys it as ${k.valueType}`,
          { hint: `cast the column to ${k.valueType}` },
        );
      }
    }
    for (const f of s.features) {
      if (!s.view.spec.features.some((g) => g.name === f.name)) {
        throw new StrataError('UNKNOWN_FEATURE', `feature view '${s.view.name}' has no feature '${f.name}'`, {
          hint: `its features: ${s.view.spec.features.map((g) => g.name).join(', ')}`,
        });
      }
    }
  }
  const seen = new Map<string, string>();
  for (const s of req.selections) {
    for (const f of s.features) {
      const name = outputName(s.view.name, f.name, req.fullFeatureNames);
      const other = seen.get(name);
      if (other !== undefined || cols.has(name)) {
        throw invalidInput(
          `output column '${name}' would appear twice (${other ? `views '${other}' and '${s.view.name}'` : 'already in the entity table'})`,
          {
            hint: 'set fullFeatureNames to name columns view__feature, or select fewer features',
          },
        );
      }
      seen.set(name, s.view.name);
    }
  }
  return [...keys.values()];
}

/** The output schema's columns: the entity columns (keys typed as the views key them), then the features. */
export function historicalColumns(req: HistoricalRequest, keys: JoinKey[]): { name: string; valueType: ValueTypeName }[] {
  const keyType = new Map(keys.map((k) => [k.name, k.valueType]));
  return [
    ...entityColumns(req).map((c) => ({
      name: c.name,
      valueType:
        c.name === req.timestampColumn ? ('UNIX_TIMESTAMP' as const) : ((keyType.get(c.name) ?? c.valueType) as ValueTypeName),
    })),
    ...req.selections.flatMap((s) =>
      s.features.map((f) => ({ name: outputName(s.view.name, f.name, req.fullFeatureNames), valueType: f.valueType })),
    ),
  ];
}

/** The highest commit of a view visible at a wall-clock time (0 when none). */
async function seqAtTime(client: PoolClient, schema: string, vv: ViewVersion, t: Date): Promise<number> {
  const { rows } = await client.query<{ s: string | null }>(
    `SELECT max(commit_seq) AS s FROM ${qualified(schema, 'ingestions')}
     WHERE project = $1 AND view = $2 AND version = $3 AND status = 'committed' AND committed_at <= $4`,
    [vv.project, vv.name, vv.version, t],
  );
  return Number(rows[0]?.s ?? 0);
}

async function firstCommit(client: PoolClient, schema: string, vv: ViewVersion): Promise<{ seq: number; at: Date } | undefined> {
  const { rows } = await client.query<{ commit_seq: string; committed_at: Date }>(
    `SELECT commit_seq, committed_at FROM ${qualified(schema, 'ingestions')}
     WHERE project = $1 AND view = $2 AND version = $3 AND status = 'committed' ORDER BY commit_seq LIMIT 1`,
    [vv.project, vv.name, vv.version],
  );
  return rows[0] ? { seq: Number(rows[0].commit_seq), at: rows[0].committed_at } : undefined;
}

/**
 * Refuses an as-of (commit or time) that is before the first commit of every selected view that has commits:
 * such a request can only give nulls, and is almost always a mistake.
 */
async function checkAsOf(client: PoolClient, schema: string, req: HistoricalRequest): Promise<void> {
  if (req.asOfCommitSeq === undefined && req.asOfTime === undefined) return;
  const firsts: { seq: number; at: Date }[] = [];
  for (const s of req.selections) {
    const f = await firstCommit(client, schema, s.view);
    if (f) firsts.push(f);
  }
  if (!firsts.length) return;
  const visible = firsts.some(
    (f) =>
      (req.asOfCommitSeq === undefined || f.seq <= req.asOfCommitSeq) &&
      (req.asOfTime === undefined || f.at.getTime() <= req.asOfTime.getTime()),
  );
  if (!visible) {
    const first = firsts.reduce((a, b) => (a.seq < b.seq ? a : b));
    throw invalidInput(
      `the as-of ${req.asOfTime ? `time ${req.asOfTime.toISOString()}` : `commit ${req.asOfCommitSeq}`} is before the first commit of the selected views`,
      { hint: `the first commit is ${first.seq} at ${first.at.toISOString()}; see 'strata history <view>'` },
    );
  }
}

/**
 * Where entity rows live: a session temp table, an unlogged table in the schema (for training-set workflows), or
 * inline: array parameters of the query itself (`inlineEntities`), for a read-only server.
 */
export interface EntityTableRef {
  /** The quoted (maybe schema-qualified) table name, or the CTE's name. */
  sql: string;
  kind: 'temp' | 'unlogged' | 'inline';
  /** For inline rows: the CTE that defines `sql`. */
  cte?: string;
}

/** The entity rows of a request batch by batch as checked columns: `__row`, the join keys, `__ts`, the labels. */
async function* entityCopyBatches(
  req: HistoricalRequest,
  keys: JoinKey[],
  labels: { name: string; valueType: ValueTypeName }[],
  counter: { rows: number },
): AsyncGenerator<{ columns: CopyColumn[]; rows: number; base: number }> {
  const columns = [
    ...keys.map((k) => ({ name: k.name, source: k.name, valueType: k.valueType, required: true })),
    { name: '__ts', source: req.timestampColumn, valueType: 'UNIX_TIMESTAMP' as const, required: true },
    ...labels.map((l) => ({ name: l.name, source: l.name, valueType: l.valueType, required: false })),
  ];
  const batches: AsyncIterable<ColumnBatch> | Iterable<ColumnBatch> = req.entityStream
    ? req.entityStream.batches
    : (req.entityTable as arrow.Table).batches.map(arrowColumnBatch);
  for await (const batch of batches) {
    const base = counter.rows;
    const copyCols: CopyColumn[] = [
      { name: '__row', valueType: 'INT64', required: true, get: (i: number) => base + i },
      ...columns.map((c) => {
        const get = batch.column(c.source);
        if (!get) throw invalidInput(`entity rows lack column '${c.source}'`, { where: `entity rows from row ${base + 1}` });
        return { name: c.name, valueType: c.valueType, required: c.required, get };
      }),
    ];
    yield { columns: copyCols, rows: batch.numRows, base };
    counter.rows += batch.numRows;
    req.onProgress?.({ stage: 'loading', rows: counter.rows });
  }
}

/**
 * The entity rows of a request as COPY csv text, batch by batch: `__row` (the row's position), the join keys, `__ts`
 * (the row's time) and the label columns, each value coerced and checked like any staged value. Both offline engines
 * load entity rows through it (Postgres by COPY, the columnar engine from a file), so a bad row gets the same verdict
 * on either. `counter.rows` counts the rows encoded so far.
 */
export async function* entityRowsCsv(
  req: HistoricalRequest,
  keys: JoinKey[],
  labels: { name: string; valueType: ValueTypeName }[],
  counter: { rows: number },
): AsyncGenerator<string> {
  for await (const b of entityCopyBatches(req, keys, labels, counter)) {
    const text = encodeRows(b.columns, b.rows, b.base);
    if (text) yield text;
  }
}

/**
 * The entity rows in chunks of about `chunkRows` rows, each column as an array of Postgres input text (same coercion
 * and checks as entityRowsCsv): the parameters of an inline entity source (`inlineEntities`).
 */
export async function* entityRowChunks(
  req: HistoricalRequest,
  keys: JoinKey[],
  labels: { name: string; valueType: ValueTypeName }[],
  chunkRows: number,
  counter: { rows: number } = { rows: 0 },
): AsyncGenerator<(string | null)[][]> {
  const width = keys.length + labels.length + 2;
  const fresh = () => Array.from({ length: width }, () => [] as (string | null)[]);
  let chunk = fresh();
  for await (const b of entityCopyBatches(req, keys, labels, counter)) {
    let from = 0;
    while (from < b.rows) {
      const take = Math.min(b.rows - from, chunkRows - (chunk[0] as unknown[]).length);
      const offset = from;
      const cols = b.columns.map((c) => ({ ...c, get: (i: number) => c.get(i + offset) }));
      encodeColumns(cols, take, b.base + offset, chunk);
      from += take;
      if ((chunk[0] as unknown[]).length >= chunkRows) {
        yield chunk;
        chunk = fresh();
      }
    }
  }
  if ((chunk[0] as unknown[]).length) yield chunk;
}

/**
 * Entity rows given to the query as array parameters instead of a table: a CTE over `unnest($1::bigint[], ...)`.
 * Nothing is written, so this works where temporary tables cannot be created (a hot-standby replica). The parameter
 * order is entityRowChunks' column order.
 */
export function inlineEntities(keys: JoinKey[], labels: { name: string; valueType: ValueTypeName }[]): EntityTableRef {
  const cols = [
    { name: '__row', valueType: 'INT64' as ValueTypeName },
    ...keys.map((k) => ({ name: k.name, valueType: k.valueType })),
    { name: '__ts', valueType: 'UNIX_TIMESTAMP' as ValueTypeName },
    ...labels.map((l, i) => ({ name: `__l${i}`, valueType: l.valueType })),
  ];
  // A list value travels as the text of an array literal (unnest would flatten a 2-D array) and is cast per row.
  const args = cols.map((c, i) => `$${i + 1}::${isListType(c.valueType) ? 'text' : toPostgresType(c.valueType)}[]`);
  const names = cols.map((_c, i) => ident(`u${i}`));
  const selects = cols.map(
    (c, i) => `${names[i]}${isListType(c.valueType) ? `::${toPostgresType(c.valueType)}` : ''} AS ${ident(c.name)}`,
  );
  return {
    sql: '"__entities"',
    kind: 'inline',
    cte: `"__entities" AS (SELECT ${selects.join(', ')} FROM unnest(${args.join(', ')}) AS u(${names.join(', ')}))`,
  };
}

/** A bad entity value (a RowError) as INVALID_INPUT in the request's terms (row, column); anything else as it is. */
export function entityRowError(err: unknown, req: HistoricalRequest): unknown {
  if (!(err instanceof RowError)) return err;
  const col = err.column === '__ts' ? req.timestampColumn : err.column;
  return invalidInput(`entity table row ${err.row}: ${err.message.replace("'__ts'", `'${req.timestampColumn}'`)}`, {
    where: `entity table, row ${err.row}, column '${col}'`,
  });
}

export async function loadEntities(
  client: PoolClient,
  tmp: EntityTableRef,
  req: HistoricalRequest,
  keys: JoinKey[],
  labels: { name: string; valueType: ValueTypeName }[],
): Promise<number> {
  const defs = [
    '"__row" bigint NOT NULL',
    ...keys.map((k) => `${ident(k.name)} ${toPostgresType(k.valueType)}`),
    '"__ts" timestamptz NOT NULL',
    ...labels.map((l, i) => `${ident(`__l${i}`)} ${toPostgresType(l.valueType)}`),
  ];
  await client.query(
    tmp.kind === 'temp'
      ? `CREATE TEMP TABLE ${tmp.sql} (${defs.join(', ')}) ON COMMIT PRESERVE ROWS`
      : `CREATE UNLOGGED TABLE ${tmp.sql} (${defs.join(', ')})`,
  );
  const counter = { rows: 0 };
  try {
    await pipeline(
      Readable.from(entityRowsCsv(req, keys, labels, counter)),
      client.query(copyFrom(`COPY ${tmp.sql} FROM STDIN WITH (FORMAT csv)`)),
    );
  } catch (err) {
    throw entityRowError(err, req);
  }
  await client.query(`CREATE INDEX ON ${tmp.sql} ("__row")`);
  await client.query(`ANALYZE ${tmp.sql}`);
  return counter.rows;
}

/** SQL that returns one row per entity row, ordered by __row: the entity columns, then every selected feature. */
export async function buildQuery(
  client: PoolClient,
  schema: string,
  tmp: EntityTableRef,
  req: HistoricalRequest,
  keys: JoinKey[],
  labelCount: number,
  range?: { from: number; to: number },
): Promise<string> {
  const entityCols = entityColumns(req);
  const keyNames = new Set(keys.map((k) => k.name));
  let label = 0;
  const selects: string[] = entityCols.map((c) =>
    c.name === req.timestampColumn ? 'e."__ts"' : keyNames.has(c.name) ? `e.${ident(c.name)}` : `e.${ident(`__l${label++}`)}`,
  );
  if (label !== labelCount) throw new Error('label columns out of step');
  const joins: string[] = [];
  const ctes: string[] = [];
  const merge = (req.strategy ?? DEFAULT_STRATEGY) === 'merge' && !req.dropCreatedAfterEntityTime;
  const rangeCond = range ? `e."__row" >= ${Number(range.from)} AND e."__row" < ${Number(range.to)}` : 'true';
  for (const [i, s] of req.selections.entries()) {
    const alias = `f${i}`;
    if (merge) {
      // Sort-merge: entity rows and feature rows in one sort by (keys, time, kind, created, commit); a running count
      // of feature rows numbers the groups, so each entity row's group starts with its latest feature row.
      const spec = s.view.spec;
      const keyList = s.view.joinKeys.map((k) => ident(k.name));
      const created = spec.createdTimestampField ? `v.${ident(spec.createdTimestampField)}` : 'NULL::timestamptz';
      const where: string[] = [];
      if (req.asOfCommitSeq !== undefined) where.push(`v."__commit_seq" <= ${Number(req.asOfCommitSeq)}`);
      if (req.asOfTime !== undefined) where.push(`v."__commit_seq" <= ${await seqAtTime(client, schema, s.view, req.asOfTime)}`);
      const feats = s.features.map((f, j) => ({
        col: ident(`c${j}`),
        src: `v.${ident(f.name)}`,
        type: toPostgresType(f.valueType),
      }));
      const fside = `SELECT ${keyList.map((k) => `v.${k}`).join(', ')}, v.${ident(spec.timestampField)} AS "__t", 0 AS "__k", ${created} AS "__c", v."__commit_seq" AS "__s", NULL::bigint AS "__r"${feats.map((f) => `, ${f.src} AS ${f.col}`).join('')} FROM ${qualified(schema, s.view.tableName)} v${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
      const eside = `SELECT ${keyList.map((k) => `e.${k}`).join(', ')}, e."__ts", 1, NULL::timestamptz, NULL::bigint, e."__row"${feats.map((f) => `, NULL::${f.type}`).join('')} FROM ${tmp.sql} e WHERE ${rangeCond}`;
      const part = keyList.join(', ');
      ctes.push(
        `${alias}_g AS (SELECT *, count(*) FILTER (WHERE "__k" = 0) OVER (PARTITION BY ${part} ORDER BY "__t", "__k", "__c" NULLS FIRST, "__s" ROWS UNBOUNDED PRECEDING) AS "__grp" FROM (${fside} UNION ALL ${eside}) u)`,
      );
      const ttl = spec.ttlSeconds > 0 ? ` AND "__ft" >= "__t" - make_interval(secs => ${Number(spec.ttlSeconds)})` : '';
      ctes.push(
        `${alias} AS (SELECT "__r"${feats.map((f) => `, CASE WHEN "__ft" IS NOT NULL${ttl} THEN ${f.col} END AS ${f.col}`).join('')} FROM (SELECT "__r", "__k", "__t", first_value("__t") OVER w AS "__ft"${feats.map((f) => `, first_value(${f.col}) OVER w AS ${f.col}`).join('')} FROM ${alias}_g WINDOW w AS (PARTITION BY ${part}, "__grp" ORDER BY "__k")) x WHERE "__k" = 1)`,
      );
      joins.push(`LEFT JOIN ${alias} ON ${alias}."__r" = e."__row"`);
      for (const f of feats) selects.push(`${alias}.${f.col}`);
      continue;
    }
    const spec = s.view.spec;
    const t = qualified(schema, s.view.tableName);
    const ts = `v.${ident(spec.timestampField)}`;
    const created = spec.createdTimestampField ? `v.${ident(spec.createdTimestampField)}` : undefined;
    const conds = [...s.view.joinKeys.map((k) => `v.${ident(k.name)} = e.${ident(k.name)}`), `${ts} <= e."__ts"`];
    if (spec.ttlSeconds > 0) conds.push(`${ts} >= e."__ts" - make_interval(secs => ${Number(spec.ttlSeconds)})`);
    if (req.asOfCommitSeq !== undefined) conds.push(`v."__commit_seq" <= ${Number(req.asOfCommitSeq)}`);
    if (req.asOfTime !== undefined) conds.push(`v."__commit_seq" <= ${await seqAtTime(client, schema, s.view, req.asOfTime)}`);
    if (req.dropCreatedAfterEntityTime) {
      const committedAt = `(SELECT i.committed_at FROM ${qualified(schema, 'ingestions')} i WHERE i.commit_seq = v."__commit_seq")`;
      conds.push(`${created ? `COALESCE(${created}, ${committedAt})` : committedAt} <= e."__ts"`);
    }
    const order = [`${ts} DESC`, ...(created ? [`${created} DESC NULLS LAST`] : []), 'v."__commit_seq" DESC'];
    const inner = s.features.map((f, j) => `v.${ident(f.name)} AS ${ident(`c${j}`)}`);
    joins.push(
      `LEFT JOIN LATERAL (SELECT ${inner.join(', ')} FROM ${t} v WHERE ${conds.join(' AND ')} ORDER BY ${order.join(', ')} LIMIT 1) ${alias} ON true`,
    );
    for (let j = 0; j < s.features.length; j++) selects.push(`${alias}.${ident(`c${j}`)}`);
  }
  const where = range ? `WHERE ${rangeCond}` : '';
  if (tmp.cte) ctes.unshift(tmp.cte);
  const with_ = ctes.length ? `WITH ${ctes.join(', ')} ` : '';
  return `${with_}SELECT ${selects.join(', ')} FROM ${tmp.sql} e ${joins.join(' ')} ${where} ORDER BY e."__row"`;
}

let tmpCounter = 0;

/** Entity rows per query when they travel inline as array parameters (bounded memory, one cursor per chunk). */
export const INLINE_CHUNK_ROWS = 50_000;

export interface HistoricalReadOptions {
  /** A read-only replica to run the join on when it has replayed every commit the request needs (replica.ts). */
  replica?: ReadReplica;
  /** Told where the join ran (replica or primary, and why not the replica). */
  onRoute?: (route: ReadRoute) => void;
}

/** The request's work_mem for the join's transaction (letters and digits only, e.g. 256MB). */
async function setWorkMem(client: PoolClient, req: HistoricalRequest): Promise<void> {
  if (req.workMem) await client.query(`SET LOCAL work_mem = '${req.workMem.replace(/[^0-9A-Za-z]/g, '')}'`);
}

/** Errors of the join in the request's terms. */
function joinError(err: unknown): unknown {
  if (err instanceof StrataError) return err;
  const e = err as { code?: string; message?: string };
  if (e.code === '22P02' || e.code === '22003')
    return invalidInput(`the entity table has a value of the wrong type: ${e.message}`);
  return err;
}

/**
 * Streams a training set as Arrow record batches in entity-row order. On the primary the entity rows are loaded
 * first (COPY into a temp table; `entityLoad: 'inline'` passes them as array parameters instead), then a server-side
 * cursor reads the join `batchSize` rows at a time. With a replica that has caught up, the join runs there, entity
 * rows inline (a hot standby cannot create tables).
 */
export async function* streamHistoricalFeatures(
  pool: Pool,
  schema: string,
  req: HistoricalRequest,
  opts: HistoricalReadOptions = {},
): AsyncGenerator<arrow.RecordBatch> {
  const keys = planHistorical(req);
  if (opts.replica) {
    const pin = {
      ...(req.asOfCommitSeq !== undefined ? { asOfCommitSeq: req.asOfCommitSeq } : {}),
      ...(req.asOfTime ? { asOfTime: req.asOfTime } : {}),
    };
    const route = await routeRead(
      pool,
      opts.replica,
      schema,
      req.selections.map((s) => s.view),
      pin,
    );
    opts.onRoute?.(route);
    if (route.server === 'replica') {
      yield* streamInline(opts.replica.pool, schema, req, keys);
      return;
    }
  }
  yield* req.entityLoad === 'inline' ? streamInline(pool, schema, req, keys) : streamCopied(pool, schema, req, keys);
}

/** Entity rows by COPY into a session temp table, then the join through one cursor (primary only). */
async function* streamCopied(
  pool: Pool,
  schema: string,
  req: HistoricalRequest,
  keys: JoinKey[],
): AsyncGenerator<arrow.RecordBatch> {
  const labels = labelColumns(req, keys);
  const outCols = historicalColumns(req, keys);
  const client = await pool.connect();
  const tmp: EntityTableRef = {
    sql: ident(`strata_entities_${process.pid}_${Date.now().toString(36)}_${++tmpCounter}`),
    kind: 'temp',
  };
  let inTx = false;
  try {
    await checkAsOf(client, schema, req);
    const rows = await loadEntities(client, tmp, req, keys, labels);
    // Measured (docs/benchmarks.md, P4): index probes beat the sort-merge plan at every size tried so far, so
    // 'lateral' is the default; 'merge' is kept, tested against the reference, for views much larger than memory.
    const strategy = req.strategy ?? (rows >= MERGE_FROM_ROWS ? 'merge' : 'lateral');
    const sql = await buildQuery(client, schema, tmp, { ...req, strategy }, keys, labels.length);
    await client.query('BEGIN');
    await setWorkMem(client, req);
    inTx = true;
    yield* cursorBatches(client, sql, [], outCols, req.batchSize ?? 50_000, (rows) =>
      req.onProgress?.({ stage: 'joining', rows }),
    );
    await client.query('COMMIT');
    inTx = false;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw joinError(err);
  } finally {
    if (inTx) await client.query('ROLLBACK').catch(() => {});
    await client.query(`DROP TABLE IF EXISTS ${tmp.sql}`).catch(() => {});
    client.release();
  }
}

/**
 * Entity rows as array parameters, INLINE_CHUNK_ROWS at a time, every chunk joined in one read-only
 * repeatable-read transaction (one snapshot for the whole training set). Writes nothing, so it runs on a hot standby.
 */
async function* streamInline(
  pool: Pool,
  schema: string,
  req: HistoricalRequest,
  keys: JoinKey[],
): AsyncGenerator<arrow.RecordBatch> {
  const labels = labelColumns(req, keys);
  const outCols = historicalColumns(req, keys);
  const client = await pool.connect();
  let inTx = false;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    inTx = true;
    await setWorkMem(client, req);
    await checkAsOf(client, schema, req);
    const sql = await buildQuery(
      client,
      schema,
      inlineEntities(keys, labels),
      { ...req, strategy: req.strategy ?? DEFAULT_STRATEGY },
      keys,
      labels.length,
    );
    let joined = 0;
    let yielded = false;
    try {
      for await (const params of entityRowChunks(req, keys, labels, INLINE_CHUNK_ROWS)) {
        for await (const b of cursorBatches(client, sql, params, outCols, req.batchSize ?? 50_000, (rows) =>
          req.onProgress?.({ stage: 'joining', rows: joined + rows }),
        )) {
          if (!b.numRows) continue;
          yielded = true;
          yield b;
        }
        joined += (params[0] as unknown[]).length;
      }
    } catch (err) {
      throw entityRowError(err, req);
    }
    if (!yielded) yield recordBatch(arrowSchema(outCols), outCols, []);
    await client.query('COMMIT');
    inTx = false;
  } catch (err) {
    throw joinError(err);
  } finally {
    if (inTx) await client.query('ROLLBACK').catch(() => {});
    client.release();
  }
}

/** A whole training set as one Arrow table (small requests; big ones should stream). */
export async function getHistoricalFeatures(pool: Pool, schema: string, req: HistoricalRequest): Promise<arrow.Table> {
  const batches: arrow.RecordBatch[] = [];
  for await (const b of streamHistoricalFeatures(pool, schema, req)) batches.push(b);
  return new arrow.Table(batches);
}
