/**
 * The Strata client: what users import. apply/plan the registry, ingest tables and files (staged by COPY, then an
 * ingest workflow), materialize (a workflow), read online features and build point-in-time-correct training sets.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import {
  type Change,
  type EntitySpec,
  type FeatureServiceSpec,
  type FeatureViewSpec,
  formatPlan,
  inferFeatureView,
  type InferOptions,
  invalidInput,
  parseRepoDocuments,
  type RepoSpec,
  type ResolvedSelection,
  resolveFeatureRefs,
  resolveFeatureService,
  StrataError,
} from '@strata/core';
import {
  arrowColumnBatch,
  type ColumnBatch,
  createPool,
  type CommitInfo,
  createTrainingSet,
  csvFastPathHeader,
  getTrainingSet,
  listTrainingSets,
  type TrainingSet,
  type Ingestion,
  OfflineStore,
  type Pool,
  PgRegistry,
  stageCsvFile,
  type ViewVersion,
} from '@strata/offline-postgres';
import { RedisOnlineStore } from '@strata/online-redis';
import {
  type IngestInput,
  type IngestResult,
  ingestWorkflowId,
  type MaterializeInput,
  type MaterializeResult,
  materializeWorkflowId,
  type Progress,
  progressQuery,
  SA,
  type TrainingSetInput,
  type TrainingSetResult,
  trainingSetWorkflowId,
} from '@strata/workflows';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import * as arrow from 'apache-arrow';
import { parseAllDocuments } from 'yaml';
import { type LoadConfigOptions, loadConfig, type StrataConfig } from './config.js';
import { entityRowsFromColumns, type OnlineFeaturesResponse, readOnline } from './online.js';
import {
  collect,
  diff,
  diffSummary,
  historicalRequest,
  history,
  readView,
  streamTrainingSet,
  type TimeTravelOptions,
} from './history.js';
import { bundleTransformations } from './pipeline/code.js';
import { detectFormat, readBatches, readTable, viewColumnTypes } from './readers.js';
import { checkWritable, writeBatches } from './writers.js';

export interface ConnectOptions extends LoadConfigOptions {
  /** A ready config (skips loading strata.yaml). */
  config?: StrataConfig;
}

/** A running or finished workflow that the SDK started, with progress and a typed result. */
export class RunHandle<R> {
  constructor(
    readonly workflowId: string,
    private readonly handle: WorkflowHandle,
    private readonly uiUrl: string,
    private readonly namespace: string,
  ) {}

  /** The Temporal Web UI page of this run. */
  get url(): string {
    return `${this.uiUrl}/namespaces/${this.namespace}/workflows/${encodeURIComponent(this.workflowId)}`;
  }

  progress(): Promise<Progress> {
    return this.handle.query(progressQuery);
  }

  /** Waits for the result; a failed run becomes a StrataError with the failure's code and details. */
  async result(): Promise<R> {
    try {
      return (await this.handle.result()) as R;
    } catch (err) {
      throw fromWorkflowError(err, this.workflowId);
    }
  }
}

function fromWorkflowError(err: unknown, workflowId: string): unknown {
  if (!(err instanceof WorkflowFailedError)) return err;
  let cause: unknown = err.cause;
  while (cause && (cause as { cause?: unknown }).cause && !(cause as { type?: string }).type)
    cause = (cause as { cause?: unknown }).cause;
  const failure = cause as { type?: string; message?: string; details?: unknown[] } | undefined;
  const code = (failure?.type ?? 'INTERNAL') as StrataError['code'];
  const details = (failure?.details?.[0] ?? {}) as Record<string, unknown>;
  const known = [
    'SOURCE_FAILED',
    'TRANSFORM_FAILED',
    'INVALID_SPEC',
    'INVALID_INPUT',
    'SCHEMA_MISMATCH',
    'UNKNOWN_OBJECT',
    'UNKNOWN_FEATURE',
    'CONFLICT',
    'VALIDATION_FAILED',
    'CONFIG',
    'UNAVAILABLE',
    'INTERNAL',
  ];
  return new StrataError(known.includes(code) ? code : 'INTERNAL', failure?.message ?? err.message, {
    where: `workflow ${workflowId}`,
    details,
    cause: err,
    ...(code === 'VALIDATION_FAILED'
      ? { hint: 'see the failed expectations in details.failed; fix the data or the suite, then ingest again' }
      : {}),
  });
}

export interface IngestOptions {
  /** Idempotency key: ingesting again with the same id commits nothing new. Default: a fresh UUID. */
  ingestionId?: string;
  /** File format when the extension does not tell (csv, parquet, arrow, jsonl). */
  format?: string;
  /** Materialize the new commit online when it lands. */
  materialize?: boolean;
  validationPolicy?: 'NONE' | 'ALWAYS' | 'STRICT';
  onStaged?: (rows: number) => void;
  createdBy?: string;
  /**
   * CSV files whose header is exactly the view's columns go to COPY byte for byte (default true); false forces the
   * batch path, which coerces each value in JavaScript.
   */
  fastCsv?: boolean;
}

export interface IngestHandle extends RunHandle<IngestResult> {
  ingestionId: string;
  stagedRows: number;
  ignoredColumns: string[];
}

export type FeatureSelection = { features: string[] } | { featureService: string };

export interface HistoricalOptions {
  /** Entity rows: an Arrow table, a file, or a SQL query against the offline store. */
  entities: arrow.Table | { path: string; format?: string } | { sql: string };
  timestampColumn?: string;
  fullFeatureNames?: boolean;
  /** Pin the result to what was committed up to this commit sequence number. */
  asOfCommit?: number;
  /** Pin the result to what was committed at or before this wall-clock time. */
  asOf?: Date | string | number;
  /** Drop feature rows created (or, without a created column, committed) after the entity row's time. */
  dropCreatedAfterEntityTime?: boolean;
  /** Rows per streamed record batch. */
  batchSize?: number;
  /** Postgres work_mem for the join (e.g. '256MB'). */
  workMem?: string;
  /** Join plan: 'lateral' (index probes) or 'merge' (one sort per view); default by entity row count. */
  strategy?: 'lateral' | 'merge';
  onProgress?: (p: { stage: 'loading' | 'joining'; rows: number }) => void;
}

export class Strata {
  readonly registry: PgRegistry;
  readonly offline: OfflineStore;
  private onlineStore: RedisOnlineStore | undefined;
  private temporal: Client | undefined;
  private connection: Connection | undefined;

  private constructor(
    readonly config: StrataConfig,
    readonly pool: Pool,
  ) {
    this.registry = new PgRegistry(pool, config.postgres.schema);
    this.offline = new OfflineStore(pool, this.registry);
  }

  static async connect(opts: ConnectOptions = {}): Promise<Strata> {
    const config = opts.config ?? loadConfig(opts);
    const pool = createPool(config.postgres.url, { max: config.postgres.poolSize, applicationName: 'strata-sdk' });
    const s = new Strata(config, pool);
    try {
      await s.registry.init();
    } catch (err) {
      await pool.end().catch(() => {});
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ECONNREFUSED' || /connect|timeout/i.test(e.message ?? '')) {
        throw new StrataError('UNAVAILABLE', `cannot reach Postgres at ${redact(config.postgres.url)}: ${e.message}`, {
          hint: 'start the local stack with `strata stack up` (or `bash infra/stack.sh up`), or set STRATA_POSTGRES_URL',
        });
      }
      throw err;
    }
    return s;
  }

  get project(): string {
    return this.config.project;
  }

  get online(): RedisOnlineStore {
    this.onlineStore ??= RedisOnlineStore.connect(this.config.redis.url);
    return this.onlineStore;
  }

  async workflowClient(): Promise<Client> {
    if (!this.temporal) {
      try {
        this.connection = await Connection.connect({ address: this.config.temporal.address, connectTimeout: '10s' });
      } catch (err) {
        throw new StrataError(
          'UNAVAILABLE',
          `cannot reach Temporal at ${this.config.temporal.address}: ${(err as Error).message}`,
          {
            hint: 'start the local stack with `strata stack up`, or set TEMPORAL_ADDRESS',
          },
        );
      }
      this.temporal = new Client({ connection: this.connection, namespace: this.config.temporal.namespace });
    }
    return this.temporal;
  }

  async close(): Promise<void> {
    await this.onlineStore?.close().catch(() => {});
    await this.connection?.close().catch(() => {});
    await this.pool.end().catch(() => {});
  }

  // ---- registry -------------------------------------------------------------------------------------------------

  /** Reads a YAML/JSON spec file (Strata's format or Feast 0.x FeatureSet documents). */
  static readSpecFile(path: string): RepoSpec & { project?: string } {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw invalidInput(`cannot read ${path}: ${(err as Error).message}`, { where: path });
    }
    const docs = parseAllDocuments(text);
    const bad = docs.flatMap((d) => d.errors);
    if (bad.length) {
      const e = bad[0] as { message: string; linePos?: { line: number; col: number }[] };
      throw new StrataError('INVALID_SPEC', `${path} is not valid YAML: ${e.message.split('\n')[0]}`, {
        where: e.linePos?.[0] ? `${path}:${e.linePos[0].line}:${e.linePos[0].col}` : path,
      });
    }
    const repo = parseRepoDocuments(
      docs.map((d) => d.toJS()),
      path,
    );
    // Transformation modules are named relative to the spec file.
    for (const v of repo.featureViews) {
      const t = v.transformation;
      if (t?.kind === 'typescript' && typeof t.module === 'string') t.module = resolvePath(dirname(path), t.module);
    }
    return repo;
  }

  async plan(repo: Partial<RepoSpec>, opts: { baseDir?: string } = {}): Promise<Change[]> {
    return this.registry.plan(this.project, fullRepo(await bundleTransformations(repo, opts.baseDir)));
  }

  /** Applies a repo spec; TypeScript transformations are bundled first (module paths relative to baseDir, default cwd). */
  async apply(repo: Partial<RepoSpec>, opts: { baseDir?: string } = {}): Promise<{ changes: Change[]; text: string }> {
    const { changes } = await this.registry.apply(this.project, fullRepo(await bundleTransformations(repo, opts.baseDir)));
    return { changes, text: formatPlan(changes) };
  }

  loadRepo(): Promise<RepoSpec> {
    return this.registry.loadRepo(this.project);
  }

  getView(name: string, version?: number): Promise<ViewVersion> {
    return this.registry.getView(this.project, name, version);
  }

  /** Infers a feature view from a table or file (like Feast 0.x's infer_fields_from_df). */
  async inferFeatureView(source: arrow.Table | string, opts: InferOptions): Promise<FeatureViewSpec> {
    const table = typeof source === 'string' ? await readTable(source) : source;
    return inferFeatureView(table, opts);
  }

  // ---- ingest ---------------------------------------------------------------------------------------------------

  async ingest(
    viewName: string,
    input: arrow.Table | string | AsyncIterable<ColumnBatch>,
    opts: IngestOptions = {},
  ): Promise<IngestHandle> {
    const vv = await this.getView(viewName);
    const ingestionId = opts.ingestionId ?? randomUUID();
    const source = typeof input === 'string' ? input : input instanceof arrow.Table ? 'arrow table' : 'stream';
    const expected = new Set(Object.keys(viewColumnTypes(vv.spec, vv.joinKeys)));
    const ignored = new Set<string>();
    const existing: Ingestion | undefined = await this.offline.getIngestion(ingestionId);
    let rows = existing?.rowCount ?? 0;
    if (existing && existing.status === 'failed') {
      await this.pool.query(`DELETE FROM "${this.registry.schema}".ingestions WHERE id = $1 AND status = 'failed'`, [
        ingestionId,
      ]);
    }
    const fastHeader =
      (!existing || existing.status === 'failed') &&
      typeof input === 'string' &&
      opts.fastCsv !== false &&
      !input.toLowerCase().endsWith('.tsv') &&
      detectFormat(input, opts.format) === 'csv'
        ? await csvFastPathHeader(vv, input)
        : undefined;
    if (fastHeader && typeof input === 'string') {
      // The file's columns match the view: its bytes go to COPY as they are (Postgres types every value).
      const staged = await stageCsvFile(this.offline, vv, ingestionId, input, fastHeader, {
        source,
        ...(opts.createdBy ? { createdBy: opts.createdBy } : {}),
        ...(opts.onStaged ? { onProgress: opts.onStaged } : {}),
      });
      rows = staged.rows;
    } else if (!existing || existing.status === 'failed') {
      const batches: AsyncIterable<ColumnBatch> | Iterable<ColumnBatch> =
        typeof input === 'string'
          ? readBatches(input, opts.format ? { format: opts.format } : {})
          : input instanceof arrow.Table
            ? input.batches.map(arrowColumnBatch)
            : input;
      const watched = (async function* () {
        for await (const b of batches) {
          for (const n of b.columnNames) if (!expected.has(n)) ignored.add(n);
          yield b;
        }
      })();
      const staged = await this.offline.stage(vv, ingestionId, watched, {
        source,
        ...(opts.createdBy ? { createdBy: opts.createdBy } : {}),
        ...(opts.onStaged ? { onProgress: opts.onStaged } : {}),
      });
      rows = staged.rows;
    } else if (existing.project !== this.project || existing.view !== viewName) {
      throw new StrataError(
        'CONFLICT',
        `ingestion id '${ingestionId}' belongs to view '${existing.view}' of project '${existing.project}'`,
      );
    }
    const run = await this.startIngest(viewName, vv.version, ingestionId, rows, source, opts);
    return Object.assign(run, { ingestionId, stagedRows: rows, ignoredColumns: [...ignored] }) as IngestHandle;
  }

  /**
   * Validates a quarantined ingestion again (after its view's suite was fixed and applied) and commits it when it
   * passes. Its staged rows are used as they are; nothing is read again.
   */
  async release(
    viewName: string,
    ingestionId: string,
    opts: Pick<IngestOptions, 'materialize' | 'validationPolicy'> = {},
  ): Promise<IngestHandle> {
    const ing = await this.offline.getIngestion(ingestionId);
    if (!ing || ing.project !== this.project || ing.view !== viewName) {
      throw invalidInput(`no ingestion '${ingestionId}' of view '${viewName}' in project '${this.project}'`, {
        hint: 'list them with `strata ingestions`',
      });
    }
    if (ing.status !== 'quarantined') {
      throw invalidInput(`ingestion '${ingestionId}' is ${ing.status}; only quarantined ingestions can be released`);
    }
    const vv = await this.getView(viewName);
    const run = await this.startIngest(viewName, vv.version, ingestionId, ing.rowCount, 'release', opts);
    return Object.assign(run, { ingestionId, stagedRows: ing.rowCount, ignoredColumns: [] }) as IngestHandle;
  }

  private async startIngest(
    viewName: string,
    version: number,
    ingestionId: string,
    rows: number,
    source: string,
    opts: Pick<IngestOptions, 'materialize' | 'validationPolicy'>,
  ): Promise<RunHandle<IngestResult>> {
    const client = await this.workflowClient();
    const workflowId = ingestWorkflowId(this.project, viewName, ingestionId);
    const args: IngestInput = {
      project: this.project,
      view: viewName,
      ingestionId,
      rows,
      ...(opts.materialize ? { materialize: true } : {}),
      ...(opts.validationPolicy ? { validationPolicy: opts.validationPolicy } : {}),
    };
    const handle = await client.workflow.start('ingestWorkflow', {
      workflowId,
      taskQueue: this.config.temporal.taskQueue,
      args: [args],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: [
        { key: SA.project, value: this.project },
        { key: SA.view, value: viewName },
        { key: SA.stage, value: 'staged' },
        { key: SA.ingestionId, value: ingestionId },
        { key: SA.rows, value: rows },
      ],
      memo: { rows, source, version },
    });
    return new RunHandle<IngestResult>(workflowId, handle, this.config.temporal.uiUrl, this.config.temporal.namespace);
  }

  // ---- materialize ----------------------------------------------------------------------------------------------

  async materialize(
    viewName: string,
    opts: { start?: Date | string; end?: Date | string; incremental?: boolean; batchSize?: number; partitions?: number } = {},
  ): Promise<RunHandle<MaterializeResult>> {
    const vv = await this.getView(viewName);
    if (!vv.spec.online)
      throw invalidInput(`feature view '${viewName}' is not online`, { hint: 'set online: true and apply it first' });
    const windowed = opts.start !== undefined || opts.end !== undefined;
    const toSeq = await this.offline.maxCommitSeq(this.project, viewName);
    const input: MaterializeInput = windowed
      ? {
          project: this.project,
          view: viewName,
          mode: 'window',
          start: new Date(opts.start ?? 0).toISOString(),
          end: new Date(opts.end ?? Date.now()).toISOString(),
          toSeq,
        }
      : { project: this.project, view: viewName, mode: 'incremental', toSeq };
    if (opts.batchSize) input.batchSize = opts.batchSize;
    if (opts.partitions) input.partitions = opts.partitions;
    const fromSeq = windowed ? 0 : await this.offline.getWatermark(this.project, viewName);
    const workflowId = materializeWorkflowId(this.project, viewName, input, fromSeq);
    const client = await this.workflowClient();
    const handle = await client.workflow.start('materializeWorkflow', {
      workflowId,
      taskQueue: this.config.temporal.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: [
        { key: SA.project, value: this.project },
        { key: SA.view, value: viewName },
        { key: SA.stage, value: 'planning' },
      ],
      memo: { version: vv.version, mode: input.mode, fromSeq, toSeq },
    });
    return new RunHandle<MaterializeResult>(workflowId, handle, this.config.temporal.uiUrl, this.config.temporal.namespace);
  }

  // ---- reads ----------------------------------------------------------------------------------------------------

  async resolve(selection: FeatureSelection): Promise<(ResolvedSelection & { vv: ViewVersion })[]> {
    const repo = await this.loadRepo();
    const resolved =
      'featureService' in selection
        ? resolveFeatureService(repo, selection.featureService)
        : resolveFeatureRefs(repo, selection.features);
    return Promise.all(resolved.map(async (r) => ({ ...r, vv: await this.getView(r.view.name) })));
  }

  /**
   * Latest feature values for entities, in Feast's response shape. `entities` is columnar ({user_id: [1, 2]}) or
   * a list of rows.
   */
  async getOnlineFeatures(
    opts: FeatureSelection & { entities: Record<string, unknown[]> | Record<string, unknown>[]; fullFeatureNames?: boolean },
  ): Promise<OnlineFeaturesResponse> {
    const sels = await this.resolve(opts);
    const rows = Array.isArray(opts.entities) ? opts.entities : entityRowsFromColumns(opts.entities);
    return readOnline(
      this.online,
      this.project,
      sels.map((s) => ({ ...s, view: s.vv.spec, joinKeys: s.vv.joinKeys })),
      rows,
      { fullFeatureNames: opts.fullFeatureNames ?? false },
    );
  }

  /** What every training-set path shares: the resolved features, the entity rows and the time-travel options. */
  private async trainingRequest(opts: FeatureSelection & HistoricalOptions) {
    const selections = await this.resolve(opts);
    const entities = 'sql' in opts.entities ? await this.queryTable(opts.entities.sql) : opts.entities;
    return {
      selections,
      entities,
      timestampColumn: opts.timestampColumn ?? 'event_timestamp',
      fullFeatureNames: opts.fullFeatureNames ?? false,
      ...(opts.asOfCommit !== undefined ? { asOfCommit: opts.asOfCommit } : {}),
      ...(opts.asOf !== undefined ? { asOf: opts.asOf } : {}),
      ...(opts.dropCreatedAfterEntityTime ? { dropCreatedAfterEntityTime: true as const } : {}),
    };
  }

  /** A point-in-time-correct training set: entity rows joined with feature values as of each row's time. */
  async getHistoricalFeatures(opts: FeatureSelection & HistoricalOptions): Promise<arrow.Table> {
    return collect(this.streamHistoricalFeatures(opts));
  }

  /** The same training set as a stream of Arrow record batches in entity-row order (bounded memory). */
  async *streamHistoricalFeatures(opts: FeatureSelection & HistoricalOptions): AsyncGenerator<arrow.RecordBatch> {
    yield* streamTrainingSet(this.offline, {
      ...(await this.trainingRequest(opts)),
      ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
      ...(opts.workMem ? { workMem: opts.workMem } : {}),
      ...(opts.strategy ? { strategy: opts.strategy } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
  }

  /** Streams a training set into a file (CSV, Parquet, Arrow IPC, JSON lines); the file appears whole or not at all. */
  async writeHistoricalFeatures(
    opts: FeatureSelection & HistoricalOptions & { out: string; format?: string },
  ): Promise<{ path: string; rows: number }> {
    await checkWritable(opts.out, opts.format);
    return writeBatches(this.streamHistoricalFeatures(opts), opts.out, opts.format ? { format: opts.format } : {});
  }

  /**
   * Starts a big training set as a workflow: the entity rows are loaded now (streamed into Postgres) and the request
   * is pinned to the latest commit (or the one given); the worker builds it in chunks and writes `out`. The handle's
   * progress() shows rows done; the output's URI is kept in the registry (`trainingSet(id)`).
   */
  async startTrainingSet(
    opts: FeatureSelection &
      HistoricalOptions & {
        out: string;
        format?: string;
        id?: string;
        chunkRows?: number;
        parallel?: number;
        createdBy?: string;
      },
  ): Promise<RunHandle<TrainingSetResult> & { id: string; entityRows: number }> {
    const id = opts.id ?? randomUUID();
    const req = await historicalRequest({
      ...(await this.trainingRequest(opts)),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    await checkWritable(opts.out, opts.format);
    const ts = await createTrainingSet(this.offline, this.project, id, req, {
      uri: resolvePath(opts.out),
      ...(opts.format ? { format: opts.format } : {}),
      ...(opts.createdBy ? { createdBy: opts.createdBy } : {}),
    });
    const client = await this.workflowClient();
    const workflowId = trainingSetWorkflowId(this.project, id);
    const input: TrainingSetInput = {
      id,
      project: this.project,
      entityRows: ts.entityRows,
      ...(opts.chunkRows ? { chunkRows: opts.chunkRows } : {}),
      ...(opts.parallel ? { parallel: opts.parallel } : {}),
    };
    const handle = await client.workflow.start('trainingSetWorkflow', {
      workflowId,
      taskQueue: this.config.temporal.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [
        { key: SA.project, value: this.project },
        { key: SA.stage, value: 'training-set' },
        { key: SA.rows, value: ts.entityRows },
      ],
      memo: { trainingSet: id, rows: ts.entityRows, asOfCommit: ts.asOfCommitSeq },
    });
    await this.pool.query(`UPDATE "${this.registry.schema}".training_sets SET workflow_id = $2 WHERE id = $1`, [id, workflowId]);
    const run = new RunHandle<TrainingSetResult>(workflowId, handle, this.config.temporal.uiUrl, this.config.temporal.namespace);
    return Object.assign(run, { id, entityRows: ts.entityRows }) as RunHandle<TrainingSetResult> & {
      id: string;
      entityRows: number;
    };
  }

  /** A training set built by a workflow: status, rows, the pinned commit and the output's URI. */
  trainingSet(id: string): Promise<TrainingSet> {
    return getTrainingSet(this.offline, id);
  }

  listTrainingSets(): Promise<TrainingSet[]> {
    return listTrainingSets(this.offline, this.project);
  }

  /** A view's commits (and failed or pending ingestions): rows, event-time range, who, when, status. */
  history(view: string): Promise<CommitInfo[]> {
    return history(this.offline, this.project, view);
  }

  /** A view as of a commit or a wall-clock time: every row committed by then, or the latest per entity. */
  async *readView(
    view: string,
    opts: TimeTravelOptions & { latest?: boolean; version?: number; batchSize?: number } = {},
  ): AsyncGenerator<arrow.RecordBatch> {
    yield* readView(this.offline, await this.getView(view, opts.version), opts);
  }

  /** The rows that the commits after `from` up to `to` added to a view. */
  async *diff(view: string, from: number, to: number, opts: { version?: number } = {}): AsyncGenerator<arrow.RecordBatch> {
    yield* diff(this.offline, await this.getView(view, opts.version), from, to);
  }

  async diffSummary(view: string, from: number, to: number, opts: { version?: number } = {}) {
    return diffSummary(this.offline, await this.getView(view, opts.version), from, to);
  }

  /** Runs a read-only SQL query against the offline store and returns the rows as an Arrow table. */
  async queryTable(sql: string): Promise<arrow.Table> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN READ ONLY');
      const res = await client.query(sql);
      await client.query('ROLLBACK');
      const { fromPgResult } = await import('./pg-arrow.js');
      return fromPgResult(res);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      if (err instanceof StrataError) throw err;
      throw invalidInput(`the entity query failed: ${(err as Error).message}`, {
        hint: 'check the SQL; it runs read-only against the offline store',
      });
    } finally {
      client.release();
    }
  }

  listIngestions(view?: string): Promise<Ingestion[]> {
    return this.offline.listIngestions(this.project, view);
  }
}

function fullRepo(repo: Partial<RepoSpec>): RepoSpec {
  return { entities: repo.entities ?? [], featureViews: repo.featureViews ?? [], featureServices: repo.featureServices ?? [] };
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');
}

/** Shorthands for defining objects in code. */
export function entity(
  name: string,
  joinKeys: EntitySpec['joinKeys'] | string,
  valueType?: EntitySpec['joinKeys'][number]['valueType'],
  extra: Partial<EntitySpec> = {},
): EntitySpec {
  return {
    name,
    joinKeys: typeof joinKeys === 'string' ? [{ name: joinKeys, valueType: valueType ?? 'INT64' }] : joinKeys,
    ...extra,
  };
}

export function featureService(
  name: string,
  features: FeatureServiceSpec['features'],
  extra: Partial<FeatureServiceSpec> = {},
): FeatureServiceSpec {
  return { name, features, ...extra };
}
