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
  type ObjectKind,
  oneOf,
  parseRepoDocuments,
  type RepoSpec,
  type FeaturePlan,
  onDemandInputs,
  OnDemandRunners,
  planFeatureRefs,
  planFeatureService,
  type ResolvedSelection,
  StrataError,
} from '@strata/core';
import {
  arrowColumnBatch,
  type ColumnBatch,
  createPool,
  type CommitInfo,
  createTrainingSet,
  type DerivedFeatures,
  writeBatches,
  csvFastPathHeader,
  getTrainingSet,
  listTrainingSets,
  type TrainingSet,
  type Ingestion,
  type IngestionSummary,
  type OfflineStore,
  type Pool,
  PgRegistry,
  ENTITY_SQL_TIMEOUT_MS,
  runEntityQuery,
  setTrainingSetWorkflow,
  stageCsvFile,
  type ViewVersion,
} from '@strata/offline-postgres';
import { openOfflineStore, type PostgresOfflineStore } from '@strata/offline-store';
import { openOnlineStore } from '@strata/online-redis';
import type { OnlineStore } from '@strata/online-store';
import {
  columnarEntitiesPath,
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
import type { IngestRun, Run, RunInfo, StrataClient, TrainingSetRun } from './api.js';
import { type LoadConfigOptions, loadConfig, offlineOptions, type StrataConfig } from './config.js';
import { type Explanation, type ExplainOptions, explainValue } from './explain.js';
import { type LineageGraph, lineage } from './lineage.js';
import { temporalRunUrl } from './links.js';
import { type MaterializationState, materializationState } from './materializations.js';
import { listRuns, type RunStep, type RunSummary, runSteps } from './runs.js';
import { type StatisticsSeries, statisticsSeries } from './statistics-series.js';
import { addOnDemand, applyFittedOnline, typedAnswer } from './on-demand-online.js';
import { entityRowsFromColumns, type OnlineFeaturesResponse, readOnline } from './online.js';
import {
  collect,
  diff,
  diffSummary,
  history,
  readView,
  streamTrainingSet,
  type TimeTravelOptions,
  trainingRequest,
} from './history.js';
import { bundleTransformations } from './pipeline/code.js';
import { checkFile, detectFormat, readBatches, readTable, viewColumnTypes } from './readers.js';
import { checkWritable } from './writers.js';

/** The validation policies an ingestion can ask for. */
export const VALIDATION_POLICIES = ['NONE', 'ALWAYS', 'STRICT'] as const;

/** Checks a validation policy given as an option (any case); anything else is an error that names the valid ones. */
export function parseValidationPolicy(value: string, where = 'validationPolicy'): 'NONE' | 'ALWAYS' | 'STRICT' {
  return oneOf(value, VALIDATION_POLICIES, 'validation policy', { where });
}

/** Asking for validation (ALWAYS, STRICT) of a view that has no suite would check nothing: an error, not a pass. */
function checkPolicyHasSuite(vv: ViewVersion, policy: IngestOptions['validationPolicy']): void {
  if (policy && policy !== 'NONE' && !vv.spec.expectationSuite) {
    throw invalidInput(`validation policy ${policy} was asked for, but feature view '${vv.name}' has no expectation suite`, {
      where: `feature view '${vv.name}' v${vv.version}`,
      hint: 'add an expectationSuite to the view and apply it, or leave the policy out (NONE)',
    });
  }
}

export interface ConnectOptions extends LoadConfigOptions {
  /** A ready config (skips loading strata.yaml). */
  config?: StrataConfig;
}

/** A running or finished workflow that the SDK started, with progress and a typed result. */
export class RunHandle<R> implements Run<R> {
  constructor(
    readonly workflowId: string,
    private readonly handle: WorkflowHandle,
    private readonly uiUrl: string,
    private readonly namespace: string,
  ) {}

  /** The Temporal Web UI page of this run. */
  get url(): string {
    return temporalRunUrl({ uiUrl: this.uiUrl, namespace: this.namespace }, this.workflowId);
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
  /** What the ingestion records as its source (default: the file's path, or 'arrow table' / 'stream'). */
  source?: string;
  /**
   * CSV files whose header is exactly the view's columns go to COPY byte for byte (default true); false forces the
   * batch path, which coerces each value in JavaScript.
   */
  fastCsv?: boolean;
  /**
   * 'worker': a file is staged by the worker that runs the ingest workflow (the path must be readable there), in
   * chunks of `chunkRows` rows whose cursor it heartbeats, so a worker that dies mid-file is replaced by one that
   * continues at the last chunk instead of starting over. Default 'client': this process stages it before the run.
   */
  stageOn?: 'client' | 'worker';
  /** Rows per chunk of a worker's staging load (default 200,000). */
  chunkRows?: number;
}

export interface IngestHandle extends RunHandle<IngestResult>, IngestRun {
  ingestionId: string;
  stagedRows: number;
  ignoredColumns: string[];
}

export type FeatureSelection = { features: string[] } | { featureService: string };

export interface HistoricalOptions {
  /**
   * Entity rows: an Arrow table, a file, or a SQL query against the offline store (one read-only SELECT, see
   * {@link Strata.queryTable}; `timeoutMs` bounds it, 5 minutes by default).
   */
  entities: arrow.Table | { path: string; format?: string } | { sql: string; timeoutMs?: number };
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
  /** How entity rows reach Postgres: 'copy' (a temp table, the default) or 'inline' (array parameters, as on a replica). */
  entityLoad?: 'copy' | 'inline';
  onProgress?: (p: { stage: 'loading' | 'joining'; rows: number }) => void;
  /** Told where the join ran when offline.readUrl is set: the replica, or the primary and why (lag, unreachable). */
  onRoute?: (route: { server: 'replica' | 'primary'; reason?: string }) => void;
}

export class Strata implements StrataClient {
  readonly mode = 'local' as const;
  readonly registry: PgRegistry;
  /** The Postgres store: registry, staging, commits (each commit also writes its Parquet file when configured). */
  readonly offline: OfflineStore;
  /** The offline store behind training sets and time travel (the configured engine, docs/offline-store.md). */
  readonly store: PostgresOfflineStore;
  private onlineStore: OnlineStore | undefined;
  private readonly onDemandRunners = new OnDemandRunners();
  private temporal: Client | undefined;
  private connection: Connection | undefined;

  private constructor(
    readonly config: StrataConfig,
    readonly pool: Pool,
    private readonly parent?: Strata,
  ) {
    this.registry =
      parent?.registry ?? new PgRegistry(pool, config.postgres.schema, { viewPartitions: config.postgres.viewPartitions });
    this.store = parent?.store ?? openOfflineStore(pool, this.registry, offlineOptions(config));
    this.offline = this.store.postgres;
  }

  /**
   * The same connections (Postgres pool, Temporal client, Redis) scoped to another project, for a process that serves
   * many projects (the Strata server). Closing it closes nothing; close the Strata it came from.
   */
  forProject(project: string): Strata {
    if (project === this.project) return this;
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(project))
      throw invalidInput(`'${project}' is not a project name`, { hint: 'letters, digits and _, starting with a letter or _' });
    return new Strata({ ...this.config, project }, this.pool, this.parent ?? this);
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

  get online(): OnlineStore {
    if (this.parent) return this.parent.online;
    this.onlineStore ??= openOnlineStore(this.config.redis);
    return this.onlineStore;
  }

  async workflowClient(): Promise<Client> {
    if (this.parent) return this.parent.workflowClient();
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
    if (this.parent) return;
    await this.onlineStore?.close().catch(() => {});
    await this.connection?.close().catch(() => {});
    await this.store.close().catch(() => {});
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
    return Strata.parseSpecText(text, path);
  }

  /** Parses spec text (YAML or JSON, one or more documents) in the formats readSpecFile reads. */
  static parseSpecText(text: string, path = 'spec'): RepoSpec & { project?: string } {
    const docs = parseAllDocuments(text);
    const bad = docs.flatMap((d) => d.errors);
    if (bad.length) {
      const e = bad[0] as { message: string; linePos?: { line: number; col: number }[] };
      throw new StrataError('INVALID_SPEC', `${path} is not valid YAML: ${e.message.split('\n')[0]}`, {
        where: e.linePos?.[0] ? `${path}:${e.linePos[0].line}:${e.linePos[0].col}` : path,
      });
    }
    const repo = parseRepoDocuments(
      docs.map((d) => yamlToJs(d, path)),
      path,
    );
    // Transformation modules are named relative to the spec file.
    for (const v of repo.featureViews) {
      const t = v.transformation;
      if (t?.kind === 'typescript' && typeof t.module === 'string') t.module = resolvePath(dirname(path), t.module);
    }
    for (const v of repo.onDemandFeatureViews ?? []) {
      const t = v.transformation;
      if (t?.kind === 'typescript' && typeof t.module === 'string') t.module = resolvePath(dirname(path), t.module);
    }
    return repo;
  }

  async plan(repo: Partial<RepoSpec>, opts: { baseDir?: string } = {}): Promise<Change[]> {
    return this.registry.plan(this.project, fullRepo(await bundleTransformations(repo, opts.baseDir)));
  }

  /**
   * Applies a repo spec; TypeScript transformations are bundled first (module paths relative to baseDir, default
   * cwd). With basedOn (a registry revision), a registry changed since then is a CONFLICT.
   */
  async apply(
    repo: Partial<RepoSpec>,
    opts: { basedOn?: string; baseDir?: string } = {},
  ): Promise<{ changes: Change[]; text: string; revision: string }> {
    const bundled = fullRepo(await bundleTransformations(repo, opts.baseDir));
    const { changes, revision } = await this.registry.apply(
      this.project,
      bundled,
      opts.basedOn !== undefined ? { basedOn: opts.basedOn } : {},
    );
    return { changes, text: formatPlan(changes), revision };
  }

  registryRevision(): Promise<string> {
    return this.registry.revision(this.project);
  }

  listViewVersions(name?: string): Promise<ViewVersion[]> {
    return this.registry.listViewVersions(this.project, name);
  }

  async deleteObject(kind: ObjectKind, name: string): Promise<{ droppedIngestions: string[] }> {
    const { droppedIngestions } = await this.delete(kind, name);
    return { droppedIngestions };
  }

  async getIngestion(id: string): Promise<Ingestion | undefined> {
    const ing = await this.offline.getIngestion(id);
    return ing && ing.project === this.project ? ing : undefined;
  }

  /**
   * A workflow of this project: its status, its `progress` query and, once closed, its result or error. Unknown ids
   * and other projects' workflows give UNKNOWN_OBJECT.
   */
  async getRun(workflowId: string): Promise<RunInfo> {
    const client = await this.workflowClient();
    const handle = client.workflow.getHandle(workflowId);
    let desc: Awaited<ReturnType<typeof handle.describe>>;
    try {
      desc = await handle.describe();
    } catch (err) {
      if ((err as Error).name === 'WorkflowNotFoundError')
        throw new StrataError('UNKNOWN_OBJECT', `no run '${workflowId}' in project '${this.project}'`);
      throw err;
    }
    if (desc.typedSearchAttributes.get(SA.project) !== this.project)
      throw new StrataError('UNKNOWN_OBJECT', `no run '${workflowId}' in project '${this.project}'`);
    const run = new RunHandle<unknown>(workflowId, handle, this.config.temporal.uiUrl, this.config.temporal.namespace);
    const info: RunInfo = {
      workflowId,
      url: run.url,
      type: desc.type,
      status: desc.status.name as RunInfo['status'],
      startTime: desc.startTime ?? null,
      closeTime: desc.closeTime ?? null,
      progress: null,
    };
    try {
      // A deadline on the call itself (not a race beside it): no query retry outlives it, or the connection.
      info.progress = await client.withDeadline(Date.now() + 3000, () => run.progress());
    } catch {
      // No worker to answer the query (or it timed out): the run is still described by its status.
    }
    if (desc.status.name === 'COMPLETED') info.result = await handle.result();
    else if (desc.status.name !== 'RUNNING') {
      try {
        await run.result();
      } catch (err) {
        const e = err instanceof StrataError ? err : new StrataError('INTERNAL', (err as Error).message);
        info.error = { code: e.code, message: e.message, details: e.details };
      }
    }
    return info;
  }

  /**
   * Deletes an entity, feature view or feature service. A feature view goes with its offline tables and the staging
   * tables of its unfinished (staged, quarantined, failed) ingestions.
   */
  async delete(kind: string, name: string): Promise<{ kind: ObjectKind; name: string; droppedIngestions: string[] }> {
    const k = oneOf(
      kind.replace(/-/g, '_'),
      ['entity', 'feature_view', 'on_demand_feature_view', 'feature_service'] as const,
      'object kind',
      { hint: 'use entity, feature-view, on-demand-feature-view or feature-service' },
    );
    await this.registry.delete(this.project, k, name);
    const droppedIngestions = k === 'feature_view' ? await this.offline.dropViewStaging(this.project, name) : [];
    return { kind: k, name, droppedIngestions };
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
    if (opts.validationPolicy !== undefined) opts = { ...opts, validationPolicy: parseValidationPolicy(opts.validationPolicy) };
    if (opts.validationPolicy) checkPolicyHasSuite(await this.getView(viewName), opts.validationPolicy);
    if (opts.stageOn === 'worker') return this.ingestOnWorker(viewName, input, opts);
    const { vv, ingestionId, rows, source, ignoredColumns } = await this.stage(viewName, input, opts);
    const run = await this.startIngest(viewName, vv.version, ingestionId, rows, source, opts);
    return Object.assign(run, { ingestionId, stagedRows: rows, ignoredColumns }) as IngestHandle;
  }

  /** Starts an ingest whose file the worker stages (see IngestOptions.stageOn); nothing is read here. */
  private async ingestOnWorker(
    viewName: string,
    input: arrow.Table | string | AsyncIterable<ColumnBatch>,
    opts: IngestOptions,
  ): Promise<IngestHandle> {
    if (typeof input !== 'string') {
      throw invalidInput("stageOn: 'worker' ingests a file: pass its path", {
        hint: 'tables and streams are staged by this process; leave stageOn out for them',
      });
    }
    checkFile(input);
    if (opts.chunkRows !== undefined && !(Number.isInteger(opts.chunkRows) && opts.chunkRows > 0)) {
      throw invalidInput(`chunkRows must be a positive whole number, not ${opts.chunkRows}`);
    }
    const vv = await this.getView(viewName);
    const ingestionId = opts.ingestionId ?? randomUUID();
    const path = resolvePath(input);
    const run = await this.startIngest(viewName, vv.version, ingestionId, 0, path, {
      ...opts,
      stageFile: {
        path,
        ...(opts.format ? { format: opts.format } : {}),
        ...(opts.chunkRows ? { chunkRows: opts.chunkRows } : {}),
        ...(opts.createdBy ? { createdBy: opts.createdBy } : {}),
      },
    });
    return Object.assign(run, { ingestionId, stagedRows: 0, ignoredColumns: [] }) as IngestHandle;
  }

  /**
   * The first half of ingest: reads the input into a staging table (a CSV file whose header is the view's goes by
   * the fast path, everything else and any value the fast path cannot vouch for by the slow path), without starting
   * the commit. Idempotent per ingestion id like ingest.
   */
  async stage(
    viewName: string,
    input: arrow.Table | string | AsyncIterable<ColumnBatch>,
    opts: Pick<IngestOptions, 'ingestionId' | 'format' | 'onStaged' | 'createdBy' | 'fastCsv' | 'source'> = {},
  ): Promise<{ vv: ViewVersion; ingestionId: string; rows: number; source: string; ignoredColumns: string[] }> {
    if (typeof input === 'string') checkFile(input);
    const vv = await this.getView(viewName);
    const ingestionId = opts.ingestionId ?? randomUUID();
    const source = opts.source ?? (typeof input === 'string' ? input : input instanceof arrow.Table ? 'arrow table' : 'stream');
    const expected = new Set(Object.keys(viewColumnTypes(vv.spec, vv.joinKeys)));
    const ignored = new Set<string>();
    let rows = 0;
    // Every submitter of an id gets that id's real outcome: while another submitter stages it, staging waits for its
    // lock and then finds the id staged (CONFLICT), so this loop reads the id again and joins its workflow.
    for (let attempt = 0; ; attempt++) {
      const existing: Ingestion | undefined = await this.offline.getIngestion(ingestionId);
      if (existing && existing.status !== 'failed' && existing.status !== 'staging') {
        if (existing.project !== this.project || existing.view !== viewName) {
          throw new StrataError(
            'CONFLICT',
            `ingestion id '${ingestionId}' belongs to view '${existing.view}' of project '${existing.project}'`,
            { hint: 'use a new ingestion id, or leave it out to get a fresh one' },
          );
        }
        rows = existing.rowCount;
        break;
      }
      try {
        rows = await this.stageInput(vv, ingestionId, input, source, expected, ignored, opts);
        break;
      } catch (err) {
        if (StrataError.is(err, 'CONFLICT') && (err.details as { status?: string }).status && attempt < 3) continue;
        throw err;
      }
    }
    return { vv, ingestionId, rows, source, ignoredColumns: [...ignored] };
  }

  /** Stages an ingest's input (the CSV fast path or the batch path) and returns its row count. */
  private async stageInput(
    vv: ViewVersion,
    ingestionId: string,
    input: arrow.Table | string | AsyncIterable<ColumnBatch>,
    source: string,
    expected: Set<string>,
    ignored: Set<string>,
    opts: IngestOptions,
  ): Promise<number> {
    const fastHeader =
      typeof input === 'string' &&
      opts.fastCsv !== false &&
      !input.toLowerCase().endsWith('.tsv') &&
      detectFormat(input, opts.format) === 'csv'
        ? await csvFastPathHeader(vv, input)
        : undefined;
    const meta = {
      source,
      ...(opts.createdBy ? { createdBy: opts.createdBy } : {}),
      ...(opts.onStaged ? { onProgress: opts.onStaged } : {}),
    };
    if (fastHeader && typeof input === 'string') {
      // The file's columns match the view: its bytes go to COPY as they are while a check vouches for every value;
      // when it cannot (or Postgres refuses a value), nothing is left behind and the slow path below decides.
      const fast = await stageCsvFile(this.offline, vv, ingestionId, input, fastHeader, meta);
      if (fast) return fast.rows;
    }
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
    return (await this.offline.stage(vv, ingestionId, watched, meta)).rows;
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
    if (opts.validationPolicy !== undefined) opts = { ...opts, validationPolicy: parseValidationPolicy(opts.validationPolicy) };
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

  /** The heartbeat timeout a workflow's long activities get: the caller's, else the config's, else the workflow's. */
  private heartbeatTimeout(given?: string): { heartbeatTimeout?: string } {
    if (given) return { heartbeatTimeout: given };
    const s = this.config.temporal.heartbeatTimeoutSeconds;
    return s ? { heartbeatTimeout: `${Math.max(1, Math.round(s * 1000))}ms` } : {};
  }

  private async startIngest(
    viewName: string,
    version: number,
    ingestionId: string,
    rows: number,
    source: string,
    opts: Pick<IngestOptions, 'materialize' | 'validationPolicy'> & { stageFile?: IngestInput['stageFile'] },
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
      ...(opts.stageFile ? { stageFile: opts.stageFile } : {}),
      ...this.heartbeatTimeout(),
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
    return (await this.resolvePlan(selection)).selections;
  }

  /**
   * A selection resolved with its on-demand views: the stored views to read (with the on-demand inputs among them),
   * the on-demand views to compute, the inputs to drop after, and what a training set derives from them.
   */
  async resolvePlan(
    selection: FeatureSelection,
  ): Promise<{ plan: FeaturePlan; selections: (ResolvedSelection & { vv: ViewVersion })[]; derived?: DerivedFeatures }> {
    const repo = await this.loadRepo();
    const plan =
      'featureService' in selection
        ? planFeatureService(repo, selection.featureService)
        : planFeatureRefs(repo, selection.features);
    const selections = await Promise.all(plan.selections.map(async (r) => ({ ...r, vv: await this.getView(r.view.name) })));
    const svc = 'featureService' in selection ? repo.featureServices.find((x) => x.name === selection.featureService) : undefined;
    if (!plan.onDemand.length && !svc) return { plan, selections };
    const views = new Map(repo.featureViews.map((v) => [v.name, v]));
    const derived: DerivedFeatures = {
      ...(svc ? { featureService: svc.name } : {}),
      ...(plan.onDemand.length
        ? {
            onDemand: plan.onDemand.map((o) => ({
              view: o.view,
              features: o.features.map((f) => f.name),
              inputs: onDemandInputs(o.view, views)
                .filter((i) => i.view)
                .map((i) => ({ ref: `${i.view}:${i.name}`, valueType: i.valueType })),
            })),
          }
        : {}),
      ...(plan.hidden.length ? { hidden: plan.hidden } : {}),
      ...(svc?.transformations?.length ? { transformations: svc.transformations } : {}),
    };
    return { plan, selections, derived };
  }

  /**
   * Latest feature values for entities, in Feast's response shape. `entities` is columnar ({user_id: [1, 2]}) or
   * a list of rows.
   */
  async getOnlineFeatures(
    opts: FeatureSelection & {
      entities: Record<string, unknown[]> | Record<string, unknown>[];
      fullFeatureNames?: boolean;
      /** Request data of on-demand views, one value per entity row (or give it beside the entity keys). */
      requestContext?: Record<string, unknown[]>;
      /** Apply the fitted transformations of this training set (built from `featureService`). */
      trainingSet?: string;
    },
  ): Promise<OnlineFeaturesResponse> {
    const { plan, selections: sels } = await this.resolvePlan(opts);
    const rows = Array.isArray(opts.entities) ? opts.entities : entityRowsFromColumns(opts.entities);
    const fullFeatureNames = opts.fullFeatureNames ?? false;
    const res = await readOnline(
      this.online,
      this.project,
      sels.map((s) => ({ ...s, view: s.vv.spec, joinKeys: s.vv.joinKeys })),
      rows,
      { fullFeatureNames },
    );
    if (!plan.onDemand.length && !opts.trainingSet) return res;
    let answer = typedAnswer(res, plan);
    if (plan.onDemand.length) {
      const columns = Array.isArray(opts.entities)
        ? Object.fromEntries([...new Set(rows.flatMap((r) => Object.keys(r)))].map((k) => [k, rows.map((r) => r[k])]))
        : opts.entities;
      answer = addOnDemand(answer, plan, {
        rowCount: rows.length,
        entities: columns,
        request: opts.requestContext,
        fullFeatureNames,
        runners: this.onDemandRunners,
      });
    }
    if (opts.trainingSet) {
      if (!('featureService' in opts))
        throw invalidInput('`trainingSet` needs the `featureService` the training set was built from');
      const ts = await getTrainingSet(this.offline, opts.trainingSet);
      if (ts.project !== this.project || ts.spec.derived?.featureService !== opts.featureService) {
        throw invalidInput(`training set '${opts.trainingSet}' was not built from feature service '${opts.featureService}'`);
      }
      if (ts.status !== 'done') throw new StrataError('CONFLICT', `training set '${opts.trainingSet}' is ${ts.status}`);
      answer = applyFittedOnline(answer, ts.transformations ?? [], fullFeatureNames);
    }
    return answer.res;
  }

  /** What every training-set path shares: the resolved features, the entity rows and the time-travel options. */
  private async trainingRequest(opts: FeatureSelection & HistoricalOptions) {
    const { selections, derived } = await this.resolvePlan(opts);
    const entities =
      'sql' in opts.entities
        ? await this.queryTable(
            opts.entities.sql,
            opts.entities.timeoutMs !== undefined ? { timeoutMs: opts.entities.timeoutMs } : {},
          )
        : opts.entities;
    return {
      selections,
      entities,
      timestampColumn: opts.timestampColumn ?? 'event_timestamp',
      fullFeatureNames: opts.fullFeatureNames ?? false,
      ...(opts.asOfCommit !== undefined ? { asOfCommit: opts.asOfCommit } : {}),
      ...(opts.asOf !== undefined ? { asOf: opts.asOf } : {}),
      ...(opts.dropCreatedAfterEntityTime ? { dropCreatedAfterEntityTime: true as const } : {}),
      ...(derived ? { derived } : {}),
    };
  }

  /** A point-in-time-correct training set: entity rows joined with feature values as of each row's time. */
  async getHistoricalFeatures(opts: FeatureSelection & HistoricalOptions): Promise<arrow.Table> {
    return collect(this.streamHistoricalFeatures(opts));
  }

  /** The same training set as a stream of Arrow record batches in entity-row order (bounded memory). */
  async *streamHistoricalFeatures(opts: FeatureSelection & HistoricalOptions): AsyncGenerator<arrow.RecordBatch> {
    yield* streamTrainingSet(this.store, {
      ...(await this.trainingRequest(opts)),
      ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
      ...(opts.workMem ? { workMem: opts.workMem } : {}),
      ...(opts.strategy ? { strategy: opts.strategy } : {}),
      ...(opts.entityLoad ? { entityLoad: opts.entityLoad } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.onRoute ? { onRoute: opts.onRoute } : {}),
    });
  }

  /** Streams a training set into a file (CSV, Parquet, Arrow IPC, JSON lines); the file appears whole or not at all. */
  async writeHistoricalFeatures(
    opts: FeatureSelection & HistoricalOptions & { out: string; format?: string },
  ): Promise<{ path: string; rows: number }> {
    await checkWritable(opts.out, opts.format);
    const input = await this.trainingRequest(opts);
    if (input.derived?.onDemand?.length) {
      // The store writes joins straight to the file; on-demand features are computed on the stream instead.
      return writeBatches(this.streamHistoricalFeatures(opts), opts.out, opts.format ? { format: opts.format } : {});
    }
    const req = await trainingRequest(this.store, {
      ...input,
      ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
      ...(opts.workMem ? { workMem: opts.workMem } : {}),
      ...(opts.strategy ? { strategy: opts.strategy } : {}),
      ...(opts.entityLoad ? { entityLoad: opts.entityLoad } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.onRoute ? { onRoute: opts.onRoute } : {}),
    });
    return this.store.writeTrainingSet(req, { path: opts.out, ...(opts.format ? { format: opts.format } : {}) });
  }

  /**
   * Starts a big training set as a workflow: the entity rows are loaded now (streamed into Postgres) and the request
   * is pinned to the latest commit (or the one given); the worker builds it in chunks and writes `out`. The handle's
   * progress() shows rows done; the output's URI is kept in the registry (`trainingSet(id)`).
   */
  async startTrainingSet(
    opts: FeatureSelection &
      HistoricalOptions & {
        out?: string;
        format?: string;
        id?: string;
        chunkRows?: number;
        parallel?: number;
        /** Columnar engine: entity-key hash partitions (default entity rows / chunkRows), each an activity. */
        partitions?: number;
        /**
         * A chunk or partition silent this long is retried on another worker, resuming from its cursor (default:
         * `temporal.heartbeatTimeoutSeconds`, else '2 minutes').
         */
        heartbeatTimeout?: string;
        /** Entity rows per segment file of a chunk: the unit a retried chunk resumes at (default 50,000). */
        segmentRows?: number;
        createdBy?: string;
      },
  ): Promise<RunHandle<TrainingSetResult> & TrainingSetRun> {
    if (!opts.out) throw invalidInput('a training-set workflow needs `out`, a path the worker can write');
    const id = opts.id ?? randomUUID();
    const req = await trainingRequest(this.store, {
      ...(await this.trainingRequest(opts)),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    await checkWritable(opts.out, opts.format);
    const out = opts.out;
    // The columnar engine keeps the entity rows as a Parquet file beside the output (the workers' file system).
    const columnar = this.store.engine === 'columnar' ? this.store.columnar : undefined;
    const ts = await createTrainingSet(
      this.offline,
      this.project,
      id,
      req,
      {
        uri: resolvePath(out),
        ...(opts.format ? { format: opts.format } : {}),
        ...(opts.createdBy ? { createdBy: opts.createdBy } : {}),
      },
      columnar ? { loadEntities: (r, t) => columnar.prepareEntities({ ...req, ...r }, columnarEntitiesPath(t)) } : undefined,
    );
    const client = await this.workflowClient();
    const workflowId = trainingSetWorkflowId(this.project, id);
    const input: TrainingSetInput = {
      id,
      project: this.project,
      entityRows: ts.entityRows,
      ...(opts.chunkRows ? { chunkRows: opts.chunkRows } : {}),
      ...(opts.parallel ? { parallel: opts.parallel } : {}),
      ...(columnar ? { engine: 'columnar' as const } : {}),
      ...(opts.partitions ? { partitions: opts.partitions } : {}),
      ...this.heartbeatTimeout(opts.heartbeatTimeout),
      ...(opts.segmentRows ? { segmentRows: opts.segmentRows } : {}),
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
    await setTrainingSetWorkflow(this.offline, id, workflowId);
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

  // ---- insight (what the console shows; see the StrataClient interface) -----------------------------------------

  statisticsSeries(view: string, opts: { features?: string[]; limit?: number } = {}): Promise<StatisticsSeries> {
    return statisticsSeries(this, view, opts);
  }

  materializationState(view: string, opts: { runs?: number } = {}): Promise<MaterializationState> {
    return materializationState(this, view, opts);
  }

  explain(view: string, opts: ExplainOptions): Promise<Explanation> {
    return explainValue(this, view, opts);
  }

  lineage(opts: { ingestions?: number; trainingSets?: number } = {}): Promise<LineageGraph> {
    return lineage(this, opts);
  }

  listRuns(opts: { kind?: string; status?: string; view?: string; limit?: number } = {}): Promise<RunSummary[]> {
    return listRuns(this, opts);
  }

  runSteps(workflowId: string): Promise<RunStep[]> {
    return runSteps(this, workflowId);
  }

  listTrainingSets(): Promise<TrainingSet[]> {
    return listTrainingSets(this.offline, this.project);
  }

  /** A view's commits (and failed or pending ingestions): rows, event-time range, who, when, status. */
  history(view: string): Promise<CommitInfo[]> {
    return history(this.store, this.project, view);
  }

  /** A view as of a commit or a wall-clock time: every row committed by then, or the latest per entity. */
  async *readView(
    view: string,
    opts: TimeTravelOptions & { latest?: boolean; version?: number; batchSize?: number } = {},
  ): AsyncGenerator<arrow.RecordBatch> {
    yield* readView(this.store, await this.getView(view, opts.version), opts);
  }

  /** The rows that the commits after `from` up to `to` added to a view. */
  async *diff(view: string, from: number, to: number, opts: { version?: number } = {}): AsyncGenerator<arrow.RecordBatch> {
    yield* diff(this.store, await this.getView(view, opts.version), from, to);
  }

  async diffSummary(view: string, from: number, to: number, opts: { version?: number } = {}) {
    return diffSummary(this.offline, await this.getView(view, opts.version), from, to);
  }

  /**
   * Runs the user's entity query against the offline store and returns the rows as an Arrow table. Whatever the text
   * says it can only read: it is ONE statement (sent by the extended protocol, which refuses a second one), it must be
   * a query (it is declared as a cursor, which only SELECT/VALUES/TABLE/WITH without data-modifying parts can be), it
   * runs in a read-only transaction whose snapshot is taken before the text runs (so nothing can make it read-write),
   * under a statement timeout, and as the database's read-only role (strata_reader) where there is one.
   */
  async queryTable(sql: string, opts: { timeoutMs?: number } = {}): Promise<arrow.Table> {
    const timeoutMs = opts.timeoutMs ?? ENTITY_SQL_TIMEOUT_MS;
    const res = await runEntityQuery(this.pool, sql, { timeoutMs });
    const { fromPgResult } = await import('./pg-arrow.js');
    return fromPgResult(res);
  }

  /**
   * Writes the Parquet file of every commit of this project that has none (commits made before a columnar root was
   * configured), and records the facts of files written before they were kept (`facts`, ADR 0018); idempotent. Needs
   * offline.columnarRoot.
   */
  backfillColumnar(opts: { view?: string; version?: number } = {}): Promise<{ commits: number; rows: number; facts: number }> {
    return this.store.backfill(this.project, opts);
  }

  listIngestions(view?: string): Promise<Ingestion[]> {
    return this.offline.listIngestions(this.project, view);
  }

  /** The newest ingestions (default 1000) without their report, statistics and drift documents. */
  listIngestionSummaries(view?: string, limit?: number): Promise<IngestionSummary[]> {
    return this.offline.listIngestionSummaries(this.project, view, limit);
  }
}

/** Most aliases a spec document may expand (a "billion laughs" YAML is refused, not expanded). */
export const MAX_YAML_ALIASES = 100;

/** A parsed YAML document as plain data, refusing alias bombs with a clear error. */
function yamlToJs(doc: ReturnType<typeof parseAllDocuments>[number], path: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (err) {
    if (err instanceof ReferenceError || /alias/i.test((err as Error).message)) {
      throw new StrataError('INVALID_SPEC', `${path} expands too many YAML aliases (*name): ${(err as Error).message}`, {
        where: path,
        hint: `a spec may expand at most ${MAX_YAML_ALIASES} aliases; write the repeated parts out, or use fewer anchors`,
      });
    }
    throw err;
  }
}

function fullRepo(repo: Partial<RepoSpec>): RepoSpec {
  return {
    entities: repo.entities ?? [],
    featureViews: repo.featureViews ?? [],
    featureServices: repo.featureServices ?? [],
    ...(repo.onDemandFeatureViews?.length ? { onDemandFeatureViews: repo.onDemandFeatureViews } : {}),
  };
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
