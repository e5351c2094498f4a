/**
 * The columnar engine: point-in-time joins, time-travel reads and diffs run by DuckDB over the commits' Parquet files,
 * with the Postgres commit log as the manifest (which files, which commit, committed when). Semantics are the
 * Postgres path's (docs/offline-store.md): same join keys; event time <= entity time and within the TTL; the latest
 * event time, then the latest created time (null oldest), then the later commit, then the later row of the commit's
 * input. The tie rule does not depend on the entity row, so one ASOF JOIN per view picks the answer, ordering the
 * rows by the whole rule (a struct key), or by the event time alone where the manifest proves no two rows share keys
 * and event time (asofKey); the TTL is checked on the event time it carries. The leakage option (rows known by the
 * entity time) depends on the entity row, so it uses a range join ranked per entity row instead.
 */
import { createWriteStream } from 'node:fs';
import { link, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { arrowVector, invalidInput, isListType, type JoinKey, StrataError, type ValueTypeName } from '@strata/core';
import { type DuckDBConnection, JSDuckDBValueConverter } from '@duckdb/node-api';
import {
  backfillCommitFiles,
  type CommitFile,
  checkAsOf,
  checkCommitRange,
  commitFiles,
  entityColumns,
  entityRowError,
  entityRowsCsv,
  filesWithoutFacts,
  type HistoricalRequest,
  historicalColumns,
  labelColumns,
  type OfflineStore,
  outputName,
  planHistorical,
  recordFileFacts,
  resolveAsOf,
  type ViewVersion,
  viewColumns,
  writeBatches,
  checkWritable,
  DATASET_MARKER,
  outputFormat,
} from '@strata/offline-postgres';
import * as arrow from 'apache-arrow';
import { Duck, type DuckOptions, duckType, lit, publish, q, removeQuietly } from './duck.js';
import { factsOf, ParquetCommitSink } from './sink.js';

/** A training-set request, optionally with the entity rows as a Parquet file DuckDB reads itself (no JS pass). */
export interface ColumnarRequest extends HistoricalRequest {
  entityFile?: { path: string; format: 'parquet' };
}

/** One entity-key hash partition of a training set (`hash(keys) % count = index`, keys in name order). */
export interface Partition {
  index: number;
  count: number;
}

/** The SQL hash partition of a row by its join keys (names sorted, so every side hashes the same tuple). */
function partitionCond(alias: string, keys: string[], p: Partition): string {
  const list = [...keys].sort().map((k) => `${alias}.${q(k)}`);
  return `hash(${list.join(', ')}) % ${Number(p.count)} = ${Number(p.index)}`;
}

/** How a view's rows are ordered for its ASOF JOIN (ColumnarEngine.asofKey). */
export type AsofKey = { kind: 'time' } | { kind: 'packed'; bits: number } | { kind: 'struct' };

/**
 * True when the files prove that no two of their rows share join keys and event time: each file's own rows are so
 * (its recorded facts), and their event-time ranges, taken in order, do not touch (an equal bound could hold a tie).
 * A file without facts (written before they were recorded) proves nothing. Empty files are left out.
 */
export function tieFree(files: Pick<CommitFile, 'rows' | 'keyTimeUnique' | 'minEventUs' | 'maxEventUs'>[]): boolean {
  const ranges: [bigint, bigint][] = [];
  for (const f of files) {
    if (f.keyTimeUnique !== true) return false;
    if (f.minEventUs === null || f.maxEventUs === null) {
      if (f.rows > 0) return false;
      continue;
    }
    ranges.push([f.minEventUs, f.maxEventUs]);
  }
  ranges.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (let i = 1; i < ranges.length; i++) {
    if ((ranges[i] as [bigint, bigint])[0] <= (ranges[i - 1] as [bigint, bigint])[1]) return false;
  }
  return true;
}

interface TypedCol {
  name: string;
  valueType: ValueTypeName;
}

let tmpCounter = 0;
/**
 * Training-set outputs, parts and entity files: Snappy, the Parquet writers' usual default (pyarrow, pandas, DuckDB),
 * cheaper to write than zstd for files written once and mostly read once. The commits' own files (sink.ts), kept
 * and read by every join, stay zstd.
 */
const OUTPUT_PARQUET = '(FORMAT parquet, COMPRESSION snappy)';
const MAX_BIGINT = '9223372036854775807';

export class ColumnarEngine {
  readonly duck: Duck;
  readonly sink: ParquetCommitSink;

  constructor(
    readonly store: OfflineStore,
    readonly root: string,
    options: DuckOptions = {},
  ) {
    this.duck = new Duck(root, options);
    this.sink = new ParquetCommitSink(this.duck);
  }

  close(): void {
    this.duck.close();
  }

  /**
   * Writes the Parquet file of every commit that has none yet (commits made before the engine was configured), then
   * records the facts (CommitFileFacts) of files written before facts were kept, so their views can be joined on the
   * event time alone. Idempotent.
   */
  async backfill(
    project: string,
    filter: { view?: string; version?: number } = {},
    onCommit?: (c: { commitSeq: number; view: string; rows: number }) => void,
  ): Promise<{ commits: number; rows: number; facts: number }> {
    const written = await backfillCommitFiles(
      this.store,
      this.sink,
      { project, ...filter },
      (vv) => viewColumns(vv.spec, vv.joinKeys),
      onCommit,
    );
    let facts = 0;
    for (const f of await filesWithoutFacts(this.store.pool, this.store.schema, { project, ...filter })) {
      const vv = await this.store.registry.getView(project, f.view, f.version);
      const found = await this.duck.with((c) => factsOf(c, join(this.root, f.path), vv));
      await recordFileFacts(this.store.pool, this.store.schema, f.commitSeq, found);
      facts++;
    }
    return { ...written, facts };
  }

  // ---- sources ----------------------------------------------------------------------------------------------------

  /** The commits of a view visible at (commit <= maxSeq), all with their file; else a clear error. */
  private async files(vv: ViewVersion, keep: (c: CommitFile) => boolean): Promise<CommitFile[]> {
    const all = (await commitFiles(this.store.pool, this.store.schema, vv)).filter(keep);
    const missing = all.filter((c) => c.path === null);
    if (missing.length) {
      throw new StrataError(
        'INVALID_INPUT',
        `view '${vv.name}' v${vv.version} has ${missing.length} commit(s) without a columnar copy (first: commit ${missing[0]?.commitSeq})`,
        {
          hint: "write them with 'strata offline backfill' (or Strata.backfillColumnar()), or use the postgres engine",
          details: { commits: missing.map((c) => c.commitSeq) },
        },
      );
    }
    return all;
  }

  /** SQL reading the given commit files of a view (or an empty relation of the same columns). */
  private source(vv: ViewVersion, files: CommitFile[]): string {
    if (files.length) {
      const list = files.map((f) => lit(join(this.root, f.path as string))).join(', ');
      return `read_parquet([${list}])`;
    }
    const cols = [
      ...viewColumns(vv.spec, vv.joinKeys).map((c) => `CAST(NULL AS ${duckType(c.valueType)}) AS ${q(c.name)}`),
      'CAST(NULL AS BIGINT) AS "__ord"',
      'CAST(NULL AS BIGINT) AS "__commit_seq"',
      'CAST(NULL AS VARCHAR) AS "__ingestion_id"',
    ];
    return `(SELECT ${cols.join(', ')} WHERE false)`;
  }

  /** The highest commit of a view a request may see (Infinity: no pin). */
  private pinOf(req: HistoricalRequest, files: CommitFile[]): number {
    let pin = req.asOfCommitSeq ?? Number.POSITIVE_INFINITY;
    if (req.asOfTime) {
      const t = req.asOfTime.getTime();
      const seen = files.filter((f) => f.committedAt.getTime() <= t);
      pin = Math.min(pin, seen.length ? (seen[seen.length - 1] as CommitFile).commitSeq : 0);
    }
    return pin;
  }

  // ---- entity rows ------------------------------------------------------------------------------------------------

  /** Loads the entity rows into temp table `e` (__row, keys, __ts, __l0..): from a Parquet file, or via CSV. */
  private async loadEntities(c: DuckDBConnection, req: ColumnarRequest, keys: JoinKey[], labels: TypedCol[]): Promise<number> {
    const defs: string[] = [];
    if (req.entityFile) {
      defs.push('CAST(file_row_number AS BIGINT) AS "__row"');
      for (const k of keys) defs.push(`CAST(${q(k.name)} AS ${duckType(k.valueType)}) AS ${q(k.name)}`);
      defs.push(`CAST(${q(req.timestampColumn)} AS TIMESTAMPTZ) AS "__ts"`);
      labels.forEach((l, i) => {
        defs.push(`CAST(${q(l.name)} AS ${duckType(l.valueType)}) AS ${q(`__l${i}`)}`);
      });
      await c.run(
        `CREATE TEMP TABLE e AS SELECT ${defs.join(', ')} FROM read_parquet(${lit(req.entityFile.path)}, file_row_number = true)`,
      );
      const bad = await c.runAndReadAll(
        `SELECT min("__row") FROM e WHERE "__ts" IS NULL${keys.map((k) => ` OR ${q(k.name)} IS NULL`).join('')}`,
      );
      const row = bad.getRowsJS()[0]?.[0];
      if (row !== null && row !== undefined) {
        throw invalidInput(`entity row ${Number(row) + 1} has a null join key or timestamp; they are required`, {
          where: `${req.entityFile.path}, row ${Number(row) + 1}`,
        });
      }
    } else {
      for (const l of labels) {
        if (isListType(l.valueType)) {
          throw invalidInput(`entity column '${l.name}' is a list (${l.valueType}); the columnar engine takes scalar labels`, {
            hint: 'pass list columns through the postgres engine (offline.engine: postgres), or drop the column',
          });
        }
      }
      const cols: TypedCol[] = [
        { name: '__row', valueType: 'INT64' },
        ...keys.map((k) => ({ name: k.name, valueType: k.valueType })),
        { name: '__ts', valueType: 'UNIX_TIMESTAMP' },
        ...labels.map((l, i) => ({ name: `__l${i}`, valueType: l.valueType })),
      ];
      const csv = join(this.duck.tmpDir, `entities-${process.pid}-${++tmpCounter}.csv`);
      try {
        const rows = await writeEntityCsv(req, keys, labels, csv);
        const spec = cols.map((_col, i) => `${lit(`c${i}`)}: 'VARCHAR'`).join(', ');
        const conv = cols.map((col, i) => `${fromPgText(col.valueType, `c${i}`)} AS ${q(col.name)}`);
        await c.run(
          `CREATE TEMP TABLE e AS SELECT ${conv.join(', ')} FROM read_csv(${lit(csv)}, header = false, auto_detect = false,
             delim = ',', quote = '"', escape = '"', nullstr = '', allow_quoted_nulls = false, columns = {${spec}})`,
        );
        return rows;
      } finally {
        await removeQuietly(csv);
      }
    }
    const n = await c.runAndReadAll('SELECT count(*) FROM e');
    return Number(n.getRowsJS()[0]?.[0] ?? 0);
  }

  // ---- the join ---------------------------------------------------------------------------------------------------

  /** The SQL of a training set over temp table `e`, one row per entity row in entity-row order. */
  private async joinSql(
    req: HistoricalRequest,
    keys: JoinKey[],
    labels: TypedCol[],
    part?: Partition,
    withRow = false,
  ): Promise<string> {
    const partKeys = keys.map((k) => k.name).sort();
    const keyNames = new Set(keys.map((k) => k.name));
    let label = 0;
    const selects = entityColumns(req).map((c) =>
      c.name === req.timestampColumn
        ? `e."__ts" AS ${q(c.name)}`
        : keyNames.has(c.name)
          ? `e.${q(c.name)}`
          : `e.${q(`__l${label++}`)} AS ${q(c.name)}`,
    );
    if (label !== labels.length) throw new Error('label columns out of step');
    if (withRow) selects.unshift('e."__row"');
    const ctes: string[] = [];
    const joins: string[] = [];
    for (const [i, s] of req.selections.entries()) {
      const vv = s.view;
      const spec = vv.spec;
      const alias = `f${i}`;
      const files = await this.files(vv, () => true);
      const pin = this.pinOf(req, files);
      const visible = files.filter((f) => f.commitSeq <= pin);
      // A partition needs only the feature rows of its own keys when the view is keyed by exactly those keys.
      const sameKeys =
        vv.joinKeys
          .map((k) => k.name)
          .sort()
          .join(',') === partKeys.join(',');
      const src =
        part && sameKeys
          ? `(SELECT * FROM ${this.source(vv, visible)} w WHERE ${partitionCond('w', partKeys, part)})`
          : this.source(vv, visible);
      const keyList = vv.joinKeys.map((k) => q(k.name));
      const ts = q(spec.timestampField);
      const created = spec.createdTimestampField ? q(spec.createdTimestampField) : undefined;
      const feats = s.features.map((f, j) => `v.${q(f.name)} AS ${q(`c${j}`)}`);
      const rank = [...(created ? [`v.${created} DESC NULLS LAST`] : []), 'v."__commit_seq" DESC', 'v."__ord" DESC'];
      const ttl = spec.ttlSeconds > 0 ? Number(spec.ttlSeconds) : 0;
      if (!req.dropCreatedAfterEntityTime) {
        const key = await this.asofKey(visible);
        const on = keyList.map((k) => `e.${k} = ${alias}.${k}`).join(' AND ');
        if (key.kind === 'time') {
          // No two visible rows share (keys, event time) (asofKey), so there is never a tie to break: the greatest
          // event time <= the entity time is the answer, and the ASOF JOIN compares one timestamp.
          ctes.push(
            `${alias} AS (SELECT ${keyList.map((k) => `v.${k}`).join(', ')}, v.${ts} AS "__t", ${feats.join(', ')} FROM ${src} v)`,
          );
          joins.push(`ASOF LEFT JOIN ${alias} ON ${on} AND e."__ts" >= ${alias}."__t"`);
        } else {
          // One ASOF JOIN on the whole order (event time, created time with null oldest, commit, input position):
          // the entity side is (its time, +inf, +inf, +inf), so the greatest feature tuple <= it is the latest event
          // time <= the entity time and, among rows of that time, the winner of the tie rules.
          // (commit, input position) as one BIGINT when both fit (checked on the files' statistics): a three-field
          // key sorts and compares faster than four; else the four fields.
          const created0 = created ? `coalesce(v.${created}, '-infinity'::TIMESTAMPTZ)` : `'-infinity'::TIMESTAMPTZ`;
          const order =
            key.kind === 'struct'
              ? {
                  feature: `'s': v."__commit_seq", 'o': v."__ord"`,
                  entity: `'s': ${MAX_BIGINT}::BIGINT, 'o': ${MAX_BIGINT}::BIGINT`,
                }
              : { feature: `'g': (v."__commit_seq" << ${key.bits}) + v."__ord"`, entity: `'g': ${MAX_BIGINT}::BIGINT` };
          ctes.push(
            `${alias} AS (SELECT ${keyList.map((k) => `v.${k}`).join(', ')}, v.${ts} AS "__t", ${feats.join(', ')},
               {'t': v.${ts}, 'c': ${created0}, ${order.feature}} AS "__z" FROM ${src} v)`,
          );
          joins.push(
            `ASOF LEFT JOIN ${alias} ON ${on} AND {'t': e."__ts", 'c': 'infinity'::TIMESTAMPTZ, ${order.entity}} >= ${alias}."__z"`,
          );
        }
        const inTtl = ttl ? `${alias}."__t" >= e."__ts" - to_seconds(${ttl})` : undefined;
        s.features.forEach((f, j) => {
          const col = `${alias}.${q(`c${j}`)}`;
          selects.push(
            `${inTtl ? `CASE WHEN ${inTtl} THEN ${col} END` : col} AS ${q(outputName(vv.name, f.name, req.fullFeatureNames))}`,
          );
        });
      } else {
        // Rows known by the entity time: created time if set, else the commit's time; ranked per entity row.
        const at = visible.length
          ? `(VALUES ${visible.map((f) => `(${f.commitSeq}, CAST(${lit(f.committedAt.toISOString())} AS TIMESTAMPTZ))`).join(', ')}) AS ca("s", "at")`
          : '(SELECT CAST(NULL AS BIGINT) AS "s", CAST(NULL AS TIMESTAMPTZ) AS "at" WHERE false) ca';
        const known = created ? `COALESCE(v.${created}, v."__at")` : 'v."__at"';
        const conds = [
          ...keyList.map((k) => `v.${k} = e.${k}`),
          `v.${ts} <= e."__ts"`,
          ...(ttl ? [`v.${ts} >= e."__ts" - to_seconds(${ttl})`] : []),
          `${known} <= e."__ts"`,
        ];
        ctes.push(
          `${alias} AS (SELECT e."__row" AS "__r", ${feats.join(', ')} FROM e
           JOIN (SELECT w.*, ca."at" AS "__at" FROM ${src} w JOIN ${at} ON ca."s" = w."__commit_seq") v ON ${conds.join(' AND ')}
           QUALIFY row_number() OVER (PARTITION BY e."__row" ORDER BY v.${ts} DESC, ${rank.join(', ')}) = 1)`,
        );
        joins.push(`LEFT JOIN ${alias} ON ${alias}."__r" = e."__row"`);
        s.features.forEach((f, j) => {
          selects.push(`${alias}.${q(`c${j}`)} AS ${q(outputName(vv.name, f.name, req.fullFeatureNames))}`);
        });
      }
    }
    return `WITH ${ctes.join(', ')} SELECT ${selects.join(', ')} FROM e ${joins.join(' ')} ORDER BY e."__row"`;
  }

  /**
   * The ASOF key of a view's visible files. 'time' (the event time alone) when the manifest proves that no two rows
   * share their join keys and event time: each file says so of its own rows (CommitFileFacts, written by the sink),
   * and the files' event-time ranges are disjoint, so no pair can span two files either. Then the tie rules (created
   * time, commit, input position) can never decide anything, and one timestamp gives the same rows. Otherwise the
   * tie-breaking struct: 'packed' (commit and position in one BIGINT) when they fit, else 'struct'. Footers and the
   * manifest only; no rows are read.
   */
  private async asofKey(files: CommitFile[]): Promise<AsofKey> {
    if (tieFree(files)) return { kind: 'time' };
    const bits = await this.packBits(files);
    return bits === undefined ? { kind: 'struct' } : { kind: 'packed', bits };
  }

  /**
   * How a training set would be joined, view by view: the commits it reads and the ASOF key (see asofKey), or
   * 'range' for the leakage option's ranked range join. For checks and for people asking why a set is slow.
   */
  async explainTrainingSet(
    req: HistoricalRequest,
  ): Promise<{ view: string; version: number; commits: number[]; key: AsofKey['kind'] | 'range' }[]> {
    const out = [];
    for (const s of req.selections) {
      const files = await this.files(s.view, () => true);
      const pin = this.pinOf(req, files);
      const visible = files.filter((f) => f.commitSeq <= pin);
      out.push({
        view: s.view.name,
        version: s.view.version,
        commits: visible.map((f) => f.commitSeq),
        key: req.dropCreatedAfterEntityTime ? ('range' as const) : (await this.asofKey(visible)).kind,
      });
    }
    return out;
  }

  /**
   * The bits of the input position when `(commit << bits) + position` orders the rows of these files as (commit,
   * position) and stays below 2^62: from the Parquet statistics of `__ord` (footers only). Undefined when a file
   * has no statistics or the numbers do not fit.
   */
  private async packBits(files: CommitFile[]): Promise<number | undefined> {
    if (!files.length) return undefined;
    const list = files.map((f) => lit(join(this.root, f.path as string))).join(', ');
    const [row] = await this.duck.with(async (c) =>
      (
        await c.runAndReadAll(
          `SELECT max(TRY_CAST(stats_max AS BIGINT)), count(*) - count(TRY_CAST(stats_max AS BIGINT)),
             min(TRY_CAST(stats_min AS BIGINT)) FROM parquet_metadata([${list}]) WHERE path_in_schema = '__ord'`,
        )
      ).getRowsJS(),
    );
    const [maxOrd, missing, minOrd] = (row ?? []).map((v) => (v === null || v === undefined ? undefined : Number(v)));
    if (maxOrd === undefined || minOrd === undefined || missing !== 0 || minOrd < 0) return undefined;
    const bits = Math.max(1, Math.ceil(Math.log2(maxOrd + 1)));
    const maxSeq = Math.max(...files.map((f) => f.commitSeq));
    return bits < 62 && maxOrd < 2 ** bits && maxSeq < 2 ** (62 - bits) ? bits : undefined;
  }

  /** Checks, loads the entity rows and builds the join; runs fn with the SQL on the same connection. */
  private async withTrainingSet<T>(
    req: ColumnarRequest,
    fn: (c: DuckDBConnection, sql: string, columns: TypedCol[]) => Promise<T>,
  ): Promise<T> {
    const keys = planHistorical(req);
    const labels = labelColumns(req, keys);
    const client = await this.store.pool.connect();
    try {
      await checkAsOf(client, this.store.schema, req);
    } finally {
      client.release();
    }
    const sql = await this.joinSql(req, keys, labels);
    return this.duck.with(async (c) => {
      try {
        const rows = await this.loadEntities(c, req, keys, labels);
        req.onProgress?.({ stage: 'loading', rows });
        return await fn(c, sql, historicalColumns(req, keys));
      } finally {
        await c.run('DROP TABLE IF EXISTS e').catch(() => {});
      }
    });
  }

  /** A training set as Arrow record batches in entity-row order (bounded by one batch in JS). */
  streamHistoricalFeatures(req: ColumnarRequest): AsyncGenerator<arrow.RecordBatch> {
    return this.streamSql(
      (consume) => this.withTrainingSet(req, (c, sql, columns) => consume(c, sql, columns)),
      req.batchSize ?? 50_000,
      (rows) => req.onProgress?.({ stage: 'joining', rows }),
    );
  }

  /**
   * Streams the rows of a query as Arrow record batches. `open` gets a connection ready for the query (temp tables
   * loaded) and hands it with the SQL to `consume`; at most two batches are held at a time.
   */
  private async *streamSql(
    open: (consume: (c: DuckDBConnection, sql: string, columns: TypedCol[]) => Promise<void>) => Promise<void>,
    batchSize: number,
    onRows?: (rows: number) => void,
  ): AsyncGenerator<arrow.RecordBatch> {
    const out: arrow.RecordBatch[] = [];
    let notify: (() => void) | undefined;
    let pulled: (() => void) | undefined;
    let cancelled = false;
    let finished = false;
    let failure: unknown;
    const running = open(async (c, sql, columns) => {
      const schema = arrowSchemaOf(columns);
      const result = await c.stream(sql);
      let buf: unknown[][] = columns.map(() => []);
      let n = 0;
      let done = 0;
      const flush = async () => {
        out.push(batchOf(schema, columns, buf));
        done += n;
        onRows?.(done);
        buf = columns.map(() => []);
        n = 0;
        notify?.();
        // Back-pressure: wait until the consumer took what is queued.
        while (out.length > 1 && !cancelled) await new Promise<void>((r) => (pulled = r));
        if (cancelled) throw new Cancelled();
      };
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        chunk.convertColumns(JSDuckDBValueConverter).forEach((vals, j) => {
          const b = buf[j] as unknown[];
          for (const v of vals) b.push(v);
        });
        n += chunk.rowCount;
        if (n >= batchSize) await flush();
      }
      if (n > 0 || done === 0) await flush();
    })
      .catch((err) => {
        if (!(err instanceof Cancelled)) failure = err;
      })
      .finally(() => {
        finished = true;
        notify?.();
      });
    try {
      for (;;) {
        if (out.length) {
          yield out.shift() as arrow.RecordBatch;
          pulled?.();
          continue;
        }
        if (finished) break;
        await new Promise<void>((r) => (notify = r));
        notify = undefined;
      }
    } finally {
      // A consumer that stops early: let the producer run out (it drops what is queued) and close its connection.
      cancelled = true;
      pulled?.();
      await running;
    }
    if (failure) throw failure;
  }

  // ---- training sets in partitions (the workflow's activities) ----------------------------------------------------

  /**
   * Writes a training set's entity rows, checked and typed, as one Parquet file (`__row`, keys, `__ts`, labels) that
   * every partition reads. Whole or not at all.
   */
  async prepareEntities(req: ColumnarRequest, path: string): Promise<number> {
    const keys = planHistorical(req);
    const labels = labelColumns(req, keys);
    const client = await this.store.pool.connect();
    try {
      await checkAsOf(client, this.store.schema, req);
    } finally {
      client.release();
    }
    const tmp = `${path}.${process.pid}.${++tmpCounter}.tmp`;
    try {
      const rows = await this.duck.with(async (c) => {
        try {
          const n = await this.loadEntities(c, req, keys, labels);
          await mkdir(dirnameOf(path), { recursive: true });
          await c.run(`COPY e TO ${lit(tmp)} ${OUTPUT_PARQUET}`);
          return n;
        } finally {
          await c.run('DROP TABLE IF EXISTS e').catch(() => {});
        }
      });
      await publish(tmp, path);
      return rows;
    } catch (err) {
      await removeQuietly(tmp);
      throw err;
    }
  }

  /**
   * Joins one entity-key hash partition of prepared entity rows into a Parquet part (the output columns and
   * `__row`). The part appears whole under its name or not at all, so a retried partition (another worker, after
   * this one died) simply writes it again; each entity row is in exactly one partition.
   */
  async buildPartition(
    req: HistoricalRequest,
    prepared: string,
    part: Partition,
    out: string,
    opts: { withRow?: boolean } = {},
  ): Promise<number> {
    const keys = planHistorical(req);
    const labels = labelColumns(req, keys);
    // `__row` lets the merge restore entity-row order; a part of a folder dataset is final and has the output's columns.
    const sql = await this.joinSql(req, keys, labels, part, opts.withRow ?? true);
    const tmp = `${out}.${process.pid}.${++tmpCounter}.tmp`;
    try {
      const rows = await this.duck.with(async (c) => {
        try {
          await c.run(
            `CREATE TEMP TABLE e AS SELECT * FROM read_parquet(${lit(prepared)}) e WHERE ${partitionCond(
              'e',
              keys.map((k) => k.name),
              part,
            )}`,
          );
          const r = await c.run(`COPY (${sql}) TO ${lit(tmp)} ${OUTPUT_PARQUET}`);
          return r.rowsChanged;
        } finally {
          await c.run('DROP TABLE IF EXISTS e').catch(() => {});
        }
      });
      await publish(tmp, out);
      return rows;
    } catch (err) {
      await removeQuietly(tmp);
      throw err;
    }
  }

  /** Presents the parts as one file in entity-row order (without `__row`), whole or not at all. */
  async mergeParts(
    req: HistoricalRequest,
    parts: string[],
    path: string,
    format?: string,
  ): Promise<{ path: string; rows: number }> {
    const f = outputFormat(path, format);
    await checkWritable(path, f);
    const src = `(SELECT * EXCLUDE ("__row") FROM read_parquet([${parts.map(lit).join(', ')}]) ORDER BY "__row")`;
    if (f !== 'parquet') {
      const columns = historicalColumns(req, planHistorical(req));
      const batches = this.streamSql((consume) => this.duck.with((c) => consume(c, `SELECT * FROM ${src}`, columns)), 50_000);
      return writeBatches(batches, path, { format: f });
    }
    const tmp = join(dirnameOf(path), `.${basenameOf(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
    try {
      const rows = await this.duck.with(async (c) => (await c.run(`COPY ${src} TO ${lit(tmp)} ${OUTPUT_PARQUET}`)).rowsChanged);
      await publish(tmp, path);
      return { path, rows };
    } catch (err) {
      await removeQuietly(tmp);
      throw err;
    }
  }

  /**
   * Presents the parts as one folder dataset at `path` (no merge pass): the parts are hard-linked into a hidden
   * folder beside it with a `_SUCCESS` manifest (files and row counts), which is then renamed to `path`, so the
   * folder appears whole or not at all. Rows are in partition order, entity-row order within a part. A retry (the
   * finish step after a crash) starts the hidden folder again; the parts stay in place until the set is cleaned up.
   */
  async publishDataset(parts: string[], path: string): Promise<{ path: string; rows: number }> {
    const done = await readManifest(path);
    if (done) return { path, rows: done.rows };
    await checkWritable(path, 'parquet-dataset');
    const tmp = join(dirnameOf(path), `.${basenameOf(path)}.dataset.tmp`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp);
    try {
      const files: { name: string; rows: number }[] = [];
      for (const [i, part] of parts.entries()) {
        const name = `part-${String(i).padStart(5, '0')}.parquet`;
        await link(part, join(tmp, name));
        files.push({ name, rows: 0 });
      }
      // Row counts from the Parquet footers (no data read).
      const counts = parts.length
        ? await this.duck.with(async (c) =>
            (
              await c.runAndReadAll(
                `SELECT file_name, sum(row_group_num_rows) FROM (SELECT DISTINCT file_name, row_group_id, row_group_num_rows FROM parquet_metadata([${parts
                  .map((_p, i) => lit(join(tmp, files[i]?.name as string)))
                  .join(', ')}])) GROUP BY file_name`,
              )
            ).getRowsJS(),
          )
        : [];
      const byName = new Map(counts.map((r) => [basenameOf(String(r[0])), Number(r[1])]));
      for (const f of files) f.rows = byName.get(f.name) ?? 0;
      const rows = files.reduce((a, f) => a + f.rows, 0);
      const marker = join(tmp, DATASET_MARKER);
      await writeFile(marker, `${JSON.stringify({ format: 'parquet-dataset', rows, files }, null, 2)}\n`);
      await fsyncPath(marker);
      await publish(tmp, path);
      return { path, rows };
    } catch (err) {
      await rm(tmp, { recursive: true, force: true }).catch(() => {});
      throw err;
    }
  }

  /** A whole training set as one Arrow table (small requests). */
  async getHistoricalFeatures(req: ColumnarRequest): Promise<arrow.Table> {
    const batches: arrow.RecordBatch[] = [];
    for await (const b of this.streamHistoricalFeatures(req)) batches.push(b);
    return new arrow.Table(batches);
  }

  /**
   * Writes a training set to a file. Parquet is written by DuckDB itself (no rows through JS); other formats stream
   * through the Arrow writers. Whole or not at all: a temporary name beside the target, fsynced, then renamed.
   */
  async writeHistoricalFeatures(req: ColumnarRequest, path: string, format?: string): Promise<{ path: string; rows: number }> {
    const f = outputFormat(path, format);
    await checkWritable(path, f);
    if (f !== 'parquet') return writeBatches(this.streamHistoricalFeatures(req), path, { format: f });
    const tmp = join(dirnameOf(path), `.${basenameOf(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
    try {
      const rows = await this.withTrainingSet(req, async (c, sql) => {
        const r = await c.run(`COPY (${sql}) TO ${lit(tmp)} ${OUTPUT_PARQUET}`);
        return r.rowsChanged;
      });
      await publish(tmp, path);
      return { path, rows };
    } catch (err) {
      await removeQuietly(tmp);
      throw err;
    }
  }

  // ---- time travel ------------------------------------------------------------------------------------------------

  private columnsOf(vv: ViewVersion): TypedCol[] {
    return [
      ...viewColumns(vv.spec, vv.joinKeys).map((c) => ({ name: c.name, valueType: c.valueType })),
      { name: '__commit_seq', valueType: 'INT64' },
      { name: '__ingestion_id', valueType: 'STRING' },
    ];
  }

  private readSql(sql: string, columns: TypedCol[], batchSize: number): AsyncGenerator<arrow.RecordBatch> {
    return this.streamSql((consume) => this.duck.with((c) => consume(c, sql, columns)), batchSize);
  }

  /** A view as of a commit or time: every row committed by then, or the latest row per entity then. */
  async *readViewAsOf(
    vv: ViewVersion,
    opts: { commitSeq?: number; time?: Date; latest?: boolean; batchSize?: number } = {},
  ): AsyncGenerator<arrow.RecordBatch> {
    const seq =
      opts.commitSeq === undefined && opts.time === undefined
        ? Number.POSITIVE_INFINITY
        : await resolveAsOf(this.store, vv, opts);
    const files = await this.files(vv, (f) => f.commitSeq <= seq);
    const cols = this.columnsOf(vv);
    const list = cols.map((c) => `v.${q(c.name)}`).join(', ');
    const keys = vv.joinKeys.map((k) => `v.${q(k.name)}`);
    const ts = `v.${q(vv.spec.timestampField)}`;
    const created = vv.spec.createdTimestampField ? `v.${q(vv.spec.createdTimestampField)}` : undefined;
    const src = this.source(vv, files);
    const sql = opts.latest
      ? `SELECT ${list} FROM ${src} v QUALIFY row_number() OVER (PARTITION BY ${keys.join(', ')} ORDER BY ${ts} DESC, ${created ? `${created} DESC NULLS LAST, ` : ''}v."__commit_seq" DESC, v."__ord" DESC) = 1 ORDER BY ${keys.join(', ')}`
      : `SELECT ${list} FROM ${src} v ORDER BY v."__commit_seq", ${keys.join(', ')}, ${ts}, v."__ord"`;
    yield* this.readSql(sql, cols, opts.batchSize ?? 50_000);
  }

  /** The rows that commits (from, to] added to a view, in commit order. */
  async *diffCommits(
    vv: ViewVersion,
    from: number,
    to: number,
    opts: { batchSize?: number } = {},
  ): AsyncGenerator<arrow.RecordBatch> {
    await checkCommitRange(this.store, vv, from, to);
    const files = await this.files(vv, (f) => f.commitSeq > from && f.commitSeq <= to);
    const cols = this.columnsOf(vv);
    const keys = vv.joinKeys.map((k) => `v.${q(k.name)}`);
    const sql = `SELECT ${cols.map((c) => `v.${q(c.name)}`).join(', ')} FROM ${this.source(vv, files)} v
      ORDER BY v."__commit_seq", ${keys.join(', ')}, v.${q(vv.spec.timestampField)}, v."__ord"`;
    yield* this.readSql(sql, cols, opts.batchSize ?? 50_000);
  }
}

class Cancelled extends Error {}

function dirnameOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '.' : i === 0 ? '/' : p.slice(0, i);
}

/** The manifest of a finished folder dataset at `path`, if there is one. */
async function readManifest(path: string): Promise<{ rows: number } | undefined> {
  const text = await readFile(join(path, DATASET_MARKER), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const m = JSON.parse(text) as { rows?: unknown };
  return typeof m.rows === 'number' ? { rows: m.rows } : undefined;
}

async function fsyncPath(p: string): Promise<void> {
  const h = await open(p, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

function basenameOf(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

function arrowSchemaOf(columns: TypedCol[]): arrow.Schema {
  return new arrow.Schema(columns.map((c) => new arrow.Field(c.name, arrowVector(c.valueType, []).type, true)));
}

function batchOf(schema: arrow.Schema, columns: TypedCol[], values: unknown[][]): arrow.RecordBatch {
  const length = values[0]?.length ?? 0;
  const children = columns.map((c, j) => arrowVector(c.valueType, values[j] as unknown[]).data[0] as arrow.Data);
  return new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(schema.fields), length, nullCount: 0, children }));
}

/** DuckDB expression reading Postgres COPY text (what encodeRows writes) of a scalar value type. */
function fromPgText(t: ValueTypeName, c: string): string {
  if (t === 'BOOL') return `(${c} = 't')`;
  if (t === 'BYTES') return `unhex(${c}[3:])`;
  if (t === 'STRING') return c;
  return `CAST(${c} AS ${duckType(t)})`;
}

/** Writes the entity rows as CSV (coerced and checked like the Postgres path's COPY); returns the row count. */
async function writeEntityCsv(req: HistoricalRequest, keys: JoinKey[], labels: TypedCol[], path: string): Promise<number> {
  const counter = { rows: 0 };
  try {
    await pipeline(Readable.from(entityRowsCsv(req, keys, labels, counter)), createWriteStream(path));
  } catch (err) {
    throw entityRowError(err, req);
  }
  return counter.rows;
}
