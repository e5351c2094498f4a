/**
 * The SDK's remote mode: the same StrataClient interface as the local `Strata`, over a Strata server's /api/v1 with
 * an API key (no database or Temporal credentials). Files are streamed up as request bodies; tables come back as
 * Arrow IPC streams read batch by batch.
 */
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Change, ErrorCodes, type ObjectKind, type RepoSpec, StrataError } from '@strata/core';
import type { CommitInfo, Ingestion, TrainingSet, ViewVersion } from '@strata/offline-postgres';
import type { IngestResult, MaterializeResult, Progress, TrainingSetResult } from '@strata/workflows';
import * as arrow from 'apache-arrow';
import type {
  ClientFeatureSelection,
  ClientHistoricalOptions,
  ClientIngestOptions,
  IngestRun,
  Run,
  RunInfo,
  StrataClient,
  TrainingSetRun,
} from './api.js';
import { collect } from './history.js';
import type { Explanation, ExplainOptions } from './explain.js';
import type { LineageGraph } from './lineage.js';
import type { MaterializationState } from './materializations.js';
import type { OnlineFeaturesResponse } from './online.js';
import type { RunStep, RunSummary } from './runs.js';
import type { StatisticsSeries } from './statistics-series.js';
import { detectFormat } from './readers.js';
import { checkWritable, writeBatches } from './writers.js';

const CONTENT_TYPE: Record<string, string> = {
  csv: 'text/csv',
  parquet: 'application/vnd.apache.parquet',
  arrow: 'application/vnd.apache.arrow.stream',
  jsonl: 'application/x-ndjson',
};

const DATE_KEY = /(At|Time|^at)$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
function revive(key: string, value: unknown): unknown {
  return typeof value === 'string' && DATE_KEY.test(key) && ISO.test(value) ? new Date(value) : value;
}

export interface RemoteOptions {
  url: string;
  apiKey?: string | undefined;
  project: string;
  /** How often a run is polled while waiting for its result (ms). Default 500. */
  pollMs?: number;
}

type Body = { json: unknown } | { text: string; type: string } | { stream: Readable | Uint8Array; type: string };

class RemoteRun<R> implements Run<R> {
  constructor(
    private readonly client: RemoteStrata,
    readonly workflowId: string,
    readonly url: string,
    private readonly after?: (r: R) => Promise<R>,
  ) {}

  async progress(): Promise<Progress> {
    const info = await this.client.getRun(this.workflowId);
    return info.progress ?? { stage: info.status.toLowerCase(), rowsTotal: 0, rowsDone: 0 };
  }

  async result(): Promise<R> {
    for (;;) {
      const info = await this.client.getRun(this.workflowId);
      if (info.status === 'COMPLETED') return this.after ? this.after(info.result as R) : (info.result as R);
      if (info.status !== 'RUNNING') {
        const e = info.error ?? { code: 'INTERNAL', message: `run ${info.status.toLowerCase()}`, details: {} };
        throw new StrataError(e.code in ErrorCodes ? (e.code as StrataError['code']) : 'INTERNAL', e.message, {
          where: `workflow ${this.workflowId}`,
          details: e.details,
        });
      }
      await new Promise((r) => setTimeout(r, this.client.pollMs));
    }
  }
}

export class RemoteStrata implements StrataClient {
  readonly mode = 'remote' as const;
  readonly project: string;
  readonly pollMs: number;
  private readonly base: string;
  private readonly apiKey: string | undefined;

  constructor(opts: RemoteOptions) {
    this.base = opts.url.replace(/\/+$/, '');
    this.apiKey = opts.apiKey;
    this.project = opts.project;
    this.pollMs = opts.pollMs ?? 500;
  }

  /** The server's address (without the key). */
  get url(): string {
    return this.base;
  }

  async close(): Promise<void> {}

  private p(rest = ''): string {
    return `/api/v1/projects/${encodeURIComponent(this.project)}${rest}`;
  }

  /** One request; a JSON error body becomes a StrataError with the server's code, message and details. */
  async request(
    method: string,
    path: string,
    opts: { body?: Body; query?: Record<string, string | number | boolean | undefined>; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const url = new URL(`${this.base}${path}`);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    let body: string | Uint8Array | ReadableStream | undefined;
    const b = opts.body;
    if (b && 'json' in b) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(b.json);
    } else if (b && 'text' in b) {
      headers['content-type'] = b.type;
      body = b.text;
    } else if (b) {
      headers['content-type'] = b.type;
      body = b.stream instanceof Uint8Array ? b.stream : (Readable.toWeb(b.stream) as ReadableStream);
    }
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body, duplex: 'half' } : {}),
      } as RequestInit);
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
      throw new StrataError('UNAVAILABLE', `cannot reach the Strata server at ${this.base}: ${cause}`, {
        hint: 'start it with `strata server`, or check --server / STRATA_SERVER_URL',
      });
    }
    if (res.ok) return res;
    let parsed: { error?: { code?: string; message?: string; details?: Record<string, unknown> } } = {};
    try {
      parsed = (await res.json()) as typeof parsed;
    } catch {
      // not JSON
    }
    const e = parsed.error ?? {};
    const serverCode = e.code ?? 'INTERNAL';
    const code: StrataError['code'] =
      serverCode in ErrorCodes
        ? (serverCode as StrataError['code'])
        : serverCode === 'UNAUTHENTICATED' || serverCode === 'FORBIDDEN'
          ? 'CONFIG'
          : res.status === 413 || res.status === 400
            ? 'INVALID_INPUT'
            : res.status === 404
              ? 'UNKNOWN_OBJECT'
              : 'INTERNAL';
    const details: Record<string, unknown> = { ...(e.details ?? {}), status: res.status, serverCode };
    const hint =
      typeof details.hint === 'string'
        ? details.hint
        : res.status === 401
          ? 'pass --api-key (or set STRATA_API_KEY / server.apiKey)'
          : res.status === 403
            ? 'ask an admin of the project for a key with the needed role'
            : undefined;
    throw new StrataError(code, e.message ?? `${method} ${path} answered ${res.status}`, {
      where: typeof details.where === 'string' ? details.where : `${method} ${url.pathname}`,
      details,
      ...(hint ? { hint } : {}),
    });
  }

  async json<T>(method: string, path: string, opts: Parameters<RemoteStrata['request']>[2] = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    return JSON.parse(await res.text(), revive) as T;
  }

  private async *arrowBatches(res: Response): AsyncGenerator<arrow.RecordBatch> {
    if (!res.body) return;
    const reader = await arrow.RecordBatchReader.from(Readable.fromWeb(res.body as never));
    for await (const b of reader) yield b;
  }

  // ---- registry -------------------------------------------------------------------------------------------------

  private repoBody(repo: Partial<RepoSpec>): Body {
    return {
      json: { entities: repo.entities ?? [], featureViews: repo.featureViews ?? [], featureServices: repo.featureServices ?? [] },
    };
  }

  async plan(repo: Partial<RepoSpec>): Promise<Change[]> {
    return (await this.json<{ changes: Change[] }>('POST', this.p('/plan'), { body: this.repoBody(repo) })).changes;
  }

  /** The plan with the revision it was made against (send it back as `basedOn`). */
  planWithRevision(repo: Partial<RepoSpec>): Promise<{ changes: Change[]; text: string; revision: string }> {
    return this.json('POST', this.p('/plan'), { body: this.repoBody(repo) });
  }

  async registryRevision(): Promise<string> {
    return (await this.json<{ revision: string }>('GET', this.p())).revision;
  }

  apply(
    repo: Partial<RepoSpec>,
    opts: { basedOn?: string } = {},
  ): Promise<{ changes: Change[]; text: string; revision: string }> {
    return this.json('POST', this.p('/apply'), {
      body: this.repoBody(repo),
      ...(opts.basedOn ? { headers: { 'if-match': `"${opts.basedOn}"` } } : {}),
    });
  }

  async loadRepo(): Promise<RepoSpec> {
    const r = await this.json<RepoSpec>('GET', this.p('/repo'));
    return { entities: r.entities, featureViews: r.featureViews, featureServices: r.featureServices };
  }

  async getView(name: string, version?: number): Promise<ViewVersion> {
    const path = `/feature-views/${encodeURIComponent(name)}${version !== undefined ? `/versions/${version}` : ''}`;
    const v = await this.json<{ version: number; spec: ViewVersion['spec']; joinKeys: ViewVersion['joinKeys'] }>(
      'GET',
      this.p(path),
    );
    return { project: this.project, name, version: v.version, spec: v.spec, joinKeys: v.joinKeys, tableName: '' };
  }

  async listViewVersions(name?: string): Promise<ViewVersion[]> {
    const names = name ? [name] : (await this.loadRepo()).featureViews.map((v) => v.name);
    const out: ViewVersion[] = [];
    for (const n of names) {
      const r = await this.json<{
        versions: { version: number; spec: ViewVersion['spec']; joinKeys: ViewVersion['joinKeys'] }[];
      }>('GET', this.p(`/feature-views/${encodeURIComponent(n)}/versions`));
      for (const v of r.versions) out.push({ project: this.project, name: n, ...v, tableName: '' });
    }
    return out;
  }

  async deleteObject(kind: ObjectKind, name: string): Promise<{ droppedIngestions: string[] }> {
    const path = { entity: 'entities', feature_view: 'feature-views', feature_service: 'feature-services' }[kind];
    const r = await this.json<{ droppedIngestions?: string[] }>('DELETE', this.p(`/${path}/${encodeURIComponent(name)}`));
    return { droppedIngestions: r.droppedIngestions ?? [] };
  }

  // ---- ingestions -----------------------------------------------------------------------------------------------

  private uploadBody(input: string | arrow.Table, format?: string): Body {
    if (typeof input === 'string') {
      const f = detectFormat(input, format);
      statSync(input);
      return { stream: createReadStream(input), type: CONTENT_TYPE[f] as string };
    }
    return { stream: arrow.tableToIPC(input, 'stream'), type: CONTENT_TYPE.arrow as string };
  }

  private ingestRun(r: { run: RunInfo; ingestionId: string; stagedRows: number; ignoredColumns: string[] }): IngestRun {
    return Object.assign(new RemoteRun<IngestResult>(this, r.run.workflowId, r.run.url), {
      ingestionId: r.ingestionId,
      stagedRows: r.stagedRows,
      ignoredColumns: r.ignoredColumns,
    });
  }

  async ingest(view: string, input: string | arrow.Table, opts: ClientIngestOptions = {}): Promise<IngestRun> {
    const body = this.uploadBody(input, opts.format);
    const r = await this.json<{ run: RunInfo; ingestionId: string; stagedRows: number; ignoredColumns: string[] }>(
      'POST',
      this.p(`/feature-views/${encodeURIComponent(view)}/ingestions`),
      {
        body,
        query: {
          ...(typeof input === 'string' ? { format: detectFormat(input, opts.format) } : { format: 'arrow' }),
          ingestion_id: opts.ingestionId,
          materialize: opts.materialize ? true : undefined,
          policy: opts.validationPolicy,
          source: opts.source ?? (typeof input === 'string' ? basename(input) : undefined),
        },
      },
    );
    opts.onStaged?.(r.stagedRows);
    return this.ingestRun(r);
  }

  async release(
    _view: string,
    ingestionId: string,
    opts: Pick<ClientIngestOptions, 'materialize' | 'validationPolicy'> = {},
  ): Promise<IngestRun> {
    const r = await this.json<{ run: RunInfo; ingestionId: string; stagedRows: number; ignoredColumns: string[] }>(
      'POST',
      this.p(`/ingestions/${encodeURIComponent(ingestionId)}/release`),
      { body: { json: opts.materialize ? { materialize: true } : {} } },
    );
    return this.ingestRun(r);
  }

  async listIngestions(view?: string): Promise<Ingestion[]> {
    const r = await this.json<{ ingestions: Ingestion[] }>('GET', this.p('/ingestions'), { query: { view } });
    return r.ingestions.map((i) => ({ ...i, stagingTable: null, report: null, statistics: null, drift: null }));
  }

  async getIngestion(id: string): Promise<Ingestion | undefined> {
    let ing: Ingestion & { hasReport?: boolean; hasStatistics?: boolean; hasDrift?: boolean };
    try {
      ing = await this.json('GET', this.p(`/ingestions/${encodeURIComponent(id)}`));
    } catch (err) {
      if (err instanceof StrataError && err.code === 'UNKNOWN_OBJECT') return undefined;
      throw err;
    }
    const part = async (name: string, has: boolean | undefined) =>
      has ? this.json<unknown>('GET', this.p(`/ingestions/${encodeURIComponent(id)}/${name}`)) : null;
    const { hasReport, hasStatistics, hasDrift, ...rest } = ing;
    return {
      ...rest,
      stagingTable: null,
      report: await part('validation-report', hasReport),
      statistics: await part('statistics', hasStatistics),
      drift: await part('drift', hasDrift),
    };
  }

  async history(view: string): Promise<CommitInfo[]> {
    return (await this.json<{ commits: CommitInfo[] }>('GET', this.p(`/feature-views/${encodeURIComponent(view)}/commits`)))
      .commits;
  }

  async *readView(
    view: string,
    opts: { asOfCommit?: number; asOf?: Date | string | number; latest?: boolean; version?: number } = {},
  ): AsyncGenerator<arrow.RecordBatch> {
    const res = await this.request('GET', this.p(`/feature-views/${encodeURIComponent(view)}/rows`), {
      query: {
        as_of_commit: opts.asOfCommit,
        as_of: opts.asOf !== undefined ? new Date(opts.asOf).toISOString() : undefined,
        latest: opts.latest ? true : undefined,
        version: opts.version,
      },
    });
    yield* this.arrowBatches(res);
  }

  async *diff(view: string, from: number, to: number, opts: { version?: number } = {}): AsyncGenerator<arrow.RecordBatch> {
    const res = await this.request('GET', this.p(`/feature-views/${encodeURIComponent(view)}/diff`), {
      query: { from, to, version: opts.version },
    });
    yield* this.arrowBatches(res);
  }

  async diffSummary(view: string, from: number, to: number, opts: { version?: number } = {}) {
    const r = await this.json<{ commits: { commitSeq: number; ingestionId: string; rows: number; entities: number }[] }>(
      'GET',
      this.p(`/feature-views/${encodeURIComponent(view)}/diff/summary`),
      { query: { from, to, version: opts.version } },
    );
    return r.commits;
  }

  // ---- runs and materialization -----------------------------------------------------------------------------------

  getRun(workflowId: string): Promise<RunInfo> {
    return this.json('GET', this.p(`/runs/${encodeURIComponent(workflowId)}`));
  }

  async materialize(
    view: string,
    opts: { start?: Date | string; end?: Date | string; batchSize?: number } = {},
  ): Promise<Run<MaterializeResult>> {
    const r = await this.json<{ run: RunInfo }>('POST', this.p('/materializations'), {
      body: {
        json: {
          view,
          ...(opts.start !== undefined ? { start: new Date(opts.start).toISOString() } : {}),
          ...(opts.end !== undefined ? { end: new Date(opts.end).toISOString() } : {}),
          ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
        },
      },
    });
    return new RemoteRun<MaterializeResult>(this, r.run.workflowId, r.run.url);
  }

  // ---- reads ----------------------------------------------------------------------------------------------------

  /** Online features through the server (the same reader as the serving app; for hot paths use `strata serve`). */
  getOnlineFeatures(
    opts: ClientFeatureSelection & {
      entities: Record<string, unknown[]> | Record<string, unknown>[];
      fullFeatureNames?: boolean;
    },
  ): Promise<OnlineFeaturesResponse> {
    return this.json('POST', this.p('/online-features'), {
      body: {
        json: {
          ...('features' in opts ? { features: opts.features } : { feature_service: opts.featureService }),
          entities: opts.entities,
          ...(opts.fullFeatureNames ? { full_feature_names: true } : {}),
        },
      },
    });
  }

  // ---- insight (what the console shows) ---------------------------------------------------------------------------

  statisticsSeries(view: string, opts: { features?: string[]; limit?: number } = {}): Promise<StatisticsSeries> {
    return this.json('GET', this.p(`/feature-views/${encodeURIComponent(view)}/statistics`), {
      query: { features: opts.features?.length ? opts.features.join(',') : undefined, limit: opts.limit },
    });
  }

  materializationState(view: string, opts: { runs?: number } = {}): Promise<MaterializationState> {
    return this.json('GET', this.p(`/feature-views/${encodeURIComponent(view)}/materialization`), {
      query: { runs: opts.runs },
    });
  }

  explain(view: string, opts: ExplainOptions): Promise<Explanation> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.entity)) q.append('entity', `${k}=${String(v)}`);
    if (opts.feature !== undefined) q.set('feature', opts.feature);
    if (opts.limit !== undefined) q.set('limit', String(opts.limit));
    return this.json('GET', this.p(`/feature-views/${encodeURIComponent(view)}/explain?${q}`));
  }

  lineage(opts: { ingestions?: number; trainingSets?: number } = {}): Promise<LineageGraph> {
    return this.json('GET', this.p('/lineage'), { query: { ingestions: opts.ingestions, training_sets: opts.trainingSets } });
  }

  async listRuns(opts: { kind?: string; status?: string; view?: string; limit?: number } = {}): Promise<RunSummary[]> {
    return (await this.json<{ runs: RunSummary[] }>('GET', this.p('/runs'), { query: opts })).runs;
  }

  async runSteps(workflowId: string): Promise<RunStep[]> {
    return (await this.json<{ steps: RunStep[] }>('GET', this.p(`/runs/${encodeURIComponent(workflowId)}/steps`))).steps;
  }

  private historicalRequest(
    opts: ClientFeatureSelection & ClientHistoricalOptions,
    extra: Record<string, string | undefined> = {},
  ) {
    const e = opts.entities;
    if ('sql' in e)
      throw new StrataError('INVALID_INPUT', 'entity SQL is not accepted through the server', {
        hint: 'give the entity rows as a file or an Arrow table',
      });
    const body: Body =
      e instanceof arrow.Table
        ? { stream: arrow.tableToIPC(e, 'stream'), type: CONTENT_TYPE.arrow as string }
        : this.uploadBody(e.path, e.format);
    const query = {
      ...('features' in opts ? { features: opts.features.join(',') } : { feature_service: opts.featureService }),
      timestamp_column: opts.timestampColumn,
      full_feature_names: opts.fullFeatureNames ? true : undefined,
      as_of_commit: opts.asOfCommit,
      as_of: opts.asOf !== undefined ? new Date(opts.asOf).toISOString() : undefined,
      drop_created_after_entity_time: opts.dropCreatedAfterEntityTime ? true : undefined,
      entity_format: e instanceof arrow.Table ? 'arrow' : detectFormat(e.path, e.format),
      ...extra,
    };
    return { body, query };
  }

  async *streamHistoricalFeatures(opts: ClientFeatureSelection & ClientHistoricalOptions): AsyncGenerator<arrow.RecordBatch> {
    const res = await this.request('POST', this.p('/historical-features'), this.historicalRequest(opts));
    let rows = 0;
    for await (const b of this.arrowBatches(res)) {
      rows += b.numRows;
      opts.onProgress?.({ stage: 'joining', rows });
      yield b;
    }
  }

  getHistoricalFeatures(opts: ClientFeatureSelection & ClientHistoricalOptions): Promise<arrow.Table> {
    return collect(this.streamHistoricalFeatures(opts));
  }

  async writeHistoricalFeatures(
    opts: ClientFeatureSelection & ClientHistoricalOptions & { out: string; format?: string },
  ): Promise<{ path: string; rows: number }> {
    await checkWritable(opts.out, opts.format);
    return writeBatches(this.streamHistoricalFeatures(opts), opts.out, opts.format ? { format: opts.format } : {});
  }

  async startTrainingSet(
    opts: ClientFeatureSelection & ClientHistoricalOptions & { out?: string; format?: string; id?: string },
  ): Promise<TrainingSetRun> {
    const format = opts.format ?? (opts.out ? detectFormat(opts.out) : 'parquet');
    if (opts.out) await checkWritable(opts.out, format);
    const r = await this.json<{ run: RunInfo; id: string; entityRows: number }>(
      'POST',
      this.p('/training-sets'),
      this.historicalRequest(opts, { format, id: opts.id }),
    );
    const out = opts.out;
    const after = out
      ? async (res: TrainingSetResult): Promise<TrainingSetResult> => ({
          ...res,
          uri: (await this.downloadTrainingSet(r.id, out, format)).path,
        })
      : undefined;
    return Object.assign(new RemoteRun<TrainingSetResult>(this, r.run.workflowId, r.run.url, after), {
      id: r.id,
      entityRows: r.entityRows,
    });
  }

  /**
   * Downloads a built training set to a file, in the format it was built in (streamed; the file appears whole or not
   * at all).
   */
  async downloadTrainingSet(id: string, out: string, format?: string): Promise<{ path: string }> {
    await checkWritable(out, format);
    const res = await this.request('GET', this.p(`/training-sets/${encodeURIComponent(id)}/download`));
    const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.${Date.now().toString(36)}.part`);
    try {
      if (!res.body) throw new StrataError('INTERNAL', 'the download has no body');
      await pipeline(Readable.fromWeb(res.body as never), createWriteStream(tmp));
      await rename(tmp, out);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return { path: out };
  }

  async trainingSet(id: string): Promise<TrainingSet> {
    const t = await this.json<TrainingSet>('GET', this.p(`/training-sets/${encodeURIComponent(id)}`));
    return { ...t, outputUri: t.outputUri ?? null };
  }

  async listTrainingSets(): Promise<TrainingSet[]> {
    return (await this.json<{ trainingSets: TrainingSet[] }>('GET', this.p('/training-sets'))).trainingSets.map((t) => ({
      ...t,
      outputUri: t.outputUri ?? null,
    }));
  }

  // ---- keys (admin) ---------------------------------------------------------------------------------------------

  createKey(
    name: string,
    roles: Record<string, string>,
  ): Promise<{ id: string; key: string; name: string; roles: Record<string, string> }> {
    return this.json('POST', '/api/v1/keys', { body: { json: { name, roles } } });
  }

  async listKeys(
    includeRevoked = false,
  ): Promise<
    { id: string; name: string; prefix: string; roles: Record<string, string>; revokedAt: Date | null; createdAt: Date }[]
  > {
    return (
      await this.json<{ keys: never[] }>('GET', '/api/v1/keys', { query: { include_revoked: includeRevoked || undefined } })
    ).keys;
  }

  revokeKey(id: string): Promise<{ id: string; name: string; revokedAt: Date | null }> {
    return this.json('DELETE', `/api/v1/keys/${encodeURIComponent(id)}`);
  }
}
