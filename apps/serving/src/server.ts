/**
 * The online serving app: Feast-compatible POST /get-online-features, /health and Prometheus /metrics.
 * Reads Redis only; the registry comes from a cache that refreshes as soon as an apply commits.
 */
import { randomUUID } from 'node:crypto';
import {
  type FeaturePlan,
  invalidInput,
  type JoinKey,
  OnDemandRunners,
  planFeatureRefs,
  planFeatureService,
  StrataError,
} from '@strata/core';
import { OfflineStore, type PgRegistry, type Pool } from '@strata/offline-postgres';
import type { OnlineStore } from '@strata/online-store';
import { addOnDemand, applyFittedOnline, entityRowsFromColumns, typedAnswer } from '@strata/sdk';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import client from 'prom-client';
import { type ApiKey, ApiKeys, AuthError, type KeyLookup, type Principal, presentedKey, type Scope } from './auth.js';
import { type HopsworksRequest, hopsworksBatch, hopsworksSingle, projectOf, resolveHopsworksView } from './hopsworks.js';
import { checkPush, OfflinePushBuffer, type PushBody, pushRowToOnline } from './push.js';
import { RegistryCache } from './registry-cache.js';
import { isFloatType, onlineResponseJson } from './feast-json.js';
import { serveOnline } from './respond.js';
import { TrainingSetTransforms } from './training-transforms.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** Runs work with a deadline; the request gets 504 when it is not done in time (the work itself is not cancelled). */
async function withDeadline<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new StrataError('UNAVAILABLE', `the request did not finish within ${ms} ms`, {
            hint: 'the online store is slow or unreachable; retry later',
            details: { timeoutMs: ms },
          }),
        ),
      ms,
    );
  });
  work.catch(() => {});
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export interface ServerOptions {
  project: string;
  registry: PgRegistry;
  pool: Pool;
  online: OnlineStore;
  /** Needed for POST /push to the offline store; without it offline pushes are refused. */
  offline?: OfflineStore;
  /** Largest accepted request body (bytes); larger bodies get 413. */
  bodyLimit?: number;
  /** Most entity rows per request; more get 400. */
  maxEntities?: number;
  /** A request that takes longer gets 504 (default 2000 ms). */
  requestTimeoutMs?: number;
  /** API keys per project; none: open (serve() then listens on loopback only). */
  apiKeys?: ApiKey[];
  /** The registry's API keys (the control plane's principals and roles), checked as well as apiKeys. */
  keyLookup?: KeyLookup;
  /** Offline push micro-batching: one commit per view at most every maxDelayMs or maxRows rows. */
  push?: { maxDelayMs?: number; maxRows?: number; keyTtlSeconds?: number };
  logger?: boolean;
  /**
   * Where server-side problems go (INTERNAL errors with their id, failed health checks, a lost registry listener):
   * one JSON object per call. Default: a JSON line on stderr.
   */
  log?: (entry: Record<string, unknown>) => void;
  /**
   * Statuses of /get-online-features: 'strata' (default: NOT_FOUND, NULL_VALUE) or 'feast' (Feast 0.67: PRESENT with a
   * null value). A request with the header `X-Strata-Compat: feast` gets Feast's answer either way.
   */
  statuses?: 'strata' | 'feast';
}

const stderrLog = (entry: Record<string, unknown>) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), source: 'strata-serving', ...entry })}\n`);
};

const STATUS: Record<string, number> = {
  INVALID_INPUT: 400,
  INVALID_SPEC: 400,
  SCHEMA_MISMATCH: 400,
  UNKNOWN_OBJECT: 404,
  UNKNOWN_FEATURE: 404,
  CONFLICT: 409,
  UNAVAILABLE: 503,
  CONFIG: 500,
  INTERNAL: 500,
  VALIDATION_FAILED: 422,
};

export function errorBody(err: StrataError): { error: { code: string; message: string; details: Record<string, unknown> } } {
  return {
    error: {
      code: err.code,
      message: err.message,
      details: { ...err.details, ...(err.where ? { where: err.where } : {}), ...(err.hint ? { hint: err.hint } : {}) },
    },
  };
}

export async function createServer(opts: ServerOptions): Promise<{ app: FastifyInstance; cache: RegistryCache }> {
  const registryMetrics = new client.Registry();
  client.collectDefaultMetrics({ register: registryMetrics });
  const latency = new client.Histogram({
    name: 'strata_http_request_duration_seconds',
    help: 'HTTP request latency by route and status code',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registryMetrics],
  });
  const redisErrors = new client.Counter({
    name: 'strata_online_store_errors_total',
    help: 'Online store (Redis) errors seen while serving, by kind (unavailable, timeout, internal)',
    labelNames: ['kind'],
    registers: [registryMetrics],
  });
  const entitiesServed = new client.Counter({
    name: 'strata_online_entities_total',
    help: 'Entity rows served',
    registers: [registryMetrics],
  });
  const freshness = new client.Histogram({
    name: 'strata_online_feature_freshness_seconds',
    help: 'Age of the feature rows served (now - their event time), per feature view',
    labelNames: ['view'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 60, 300, 900, 3600, 21600, 86400],
    registers: [registryMetrics],
  });
  const pushedRows = new client.Counter({
    name: 'strata_push_rows_total',
    help: 'Rows accepted by POST /push, by target store',
    labelNames: ['store'],
    registers: [registryMetrics],
  });

  const log = opts.log ?? stderrLog;
  const cache = new RegistryCache(opts.registry, opts.pool, 60_000, (err) =>
    log({ level: 'error', event: 'registry_listen_failed', message: err.message }),
  );
  await cache.start();
  const maxEntities = opts.maxEntities ?? 10_000;
  const bodyLimit = opts.bodyLimit ?? 10 * 1024 * 1024;
  const timeoutMs = opts.requestTimeoutMs ?? 2000;
  const keys = new ApiKeys(opts.apiKeys ?? []);
  const pushBuffer = opts.offline
    ? new OfflinePushBuffer(opts.offline, { maxDelayMs: opts.push?.maxDelayMs ?? 200, maxRows: opts.push?.maxRows ?? 10_000 })
    : undefined;
  // Per-request access logs would cost more than the request itself at batch 1; latency and status live in /metrics.
  const app = Fastify({
    logger: opts.logger ?? false,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    return503OnClosing: true,
  });
  // Resolved selections per registry snapshot: a new snapshot after an apply starts a new memo.
  const resolvedMemo = new WeakMap<object, Map<string, FeaturePlan>>();
  // On-demand functions loaded once per code hash; the training sets' fitted transformations once per set.
  const runners = new OnDemandRunners();
  const fitted = new TrainingSetTransforms(opts.pool, opts.registry.schema);
  const resolveMemo = (repo: Parameters<typeof planFeatureRefs>[0], key: string, f: () => FeaturePlan) => {
    let m = resolvedMemo.get(repo);
    if (!m) {
      m = new Map();
      resolvedMemo.set(repo, m);
    }
    let r = m.get(key);
    if (!r) {
      r = f();
      if (m.size < 10_000) m.set(key, r);
    }
    return r;
  };

  app.addHook('onResponse', async (req, reply) => {
    latency.observe(
      { route: req.routeOptions.url ?? 'unknown', method: req.method, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  // Authentication before the body is read; authorization per route once the project is known.
  app.addHook('onRequest', async (req) => {
    const url = req.routeOptions.url;
    if (url === '/health' || url === '/metrics') return;
    const lookup = opts.keyLookup;
    if (lookup && (await lookup.enabled())) {
      const presented = presentedKey(req.headers);
      const found = presented ? await lookup.authenticate(presented) : undefined;
      if (found) {
        req.principal = { project: undefined, scopes: new Set(), open: false, roles: found.roles };
        return;
      }
      if (!keys.enabled) {
        if (!presented)
          throw new AuthError(401, 'an API key is required', 'send Authorization: Bearer <key> or X-API-Key: <key>');
        throw new AuthError(401, 'the API key is not valid');
      }
    }
    req.principal = keys.authenticate(req.headers);
  });
  const authorize = (req: { principal?: Principal }, project: string, scope: Scope) =>
    ApiKeys.authorize(req.principal ?? { project: undefined, scopes: new Set(), open: false }, project, scope);
  const projectFor = (req: { principal?: Principal }, given: unknown): string => {
    if (given !== undefined && typeof given !== 'string') throw invalidInput('"project" must be a string');
    return (given as string | undefined) ?? req.principal?.project ?? opts.project;
  };

  app.setErrorHandler((error, _req, reply) => {
    const err = error as Error & { code?: string; statusCode?: number };
    if (err instanceof AuthError) {
      return reply.status(err.status).send({
        error: { code: err.code, message: err.message, details: err.hint ? { hint: err.hint } : {} },
      });
    }
    let e: StrataError;
    if (err instanceof StrataError) e = err;
    else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      e = new StrataError('INVALID_INPUT', `request body is larger than ${bodyLimit} bytes`, {
        hint: 'split the request into smaller batches',
      });
      return reply.status(413).send(errorBody(e));
    } else if (err.statusCode === 400 || err.statusCode === 415 || err.code?.startsWith('FST_ERR_CTP')) {
      e = new StrataError('INVALID_INPUT', `malformed request: ${err.message}`, {
        hint: 'send a JSON body with Content-Type: application/json',
      });
    } else e = new StrataError('INTERNAL', err.message, { cause: err });
    if (e.code === 'INTERNAL' || e.code === 'CONFIG') {
      // Internal messages (SQL, Redis replies, stack traces) stay in the server's log; the client gets an id to quote.
      const errorId = randomUUID();
      log({
        level: 'error',
        event: 'internal_error',
        errorId,
        code: e.code,
        message: e.message,
        stack: (e.cause as Error)?.stack,
      });
      return reply.status(500).send({
        error: {
          code: e.code,
          message: `internal error (id ${errorId}); the details are in the server log`,
          details: { errorId },
        },
      });
    }
    let status = STATUS[e.code] ?? 500;
    if (e.code === 'UNAVAILABLE' && e.details?.timeoutMs !== undefined) {
      status = 504;
      redisErrors.inc({ kind: 'timeout' });
    } else if (e.code === 'UNAVAILABLE') {
      redisErrors.inc({ kind: 'unavailable' });
      reply.header('Retry-After', '1');
    }
    return reply.status(status).send(errorBody(e));
  });

  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send(
      errorBody(
        new StrataError('UNKNOWN_OBJECT', `no route ${req.method} ${req.url.split('?')[0]}`, {
          hint: 'routes: POST /get-online-features, POST /push, POST /0.1.0/feature_store, POST /0.1.0/batch_feature_store, GET /health, GET /metrics',
        }),
      ),
    ),
  );

  /**
   * Views the registry says were materialized (a watermark above 0) whose marker is missing from Redis: the online
   * store lost their data (restart without persistence, flush) and serves NOT_FOUND until they are refilled.
   */
  const watermarks = opts.offline ?? new OfflineStore(opts.pool, opts.registry);
  const lostViews = async (): Promise<{ project: string; view: string }[]> => {
    const rows = await watermarks.materializedViews();
    const byProject = new Map<string, string[]>();
    for (const r of rows) byProject.set(r.project, [...(byProject.get(r.project) ?? []), r.view]);
    const lost: { project: string; view: string }[] = [];
    for (const [project, views] of byProject) {
      for (const [view, seq] of await opts.online.readMarkers(project, views))
        if (seq === undefined) lost.push({ project, view });
    }
    return lost;
  };
  new client.Gauge({
    name: 'strata_online_views_lost',
    help: 'Materialized feature views whose data the online store lost (marker missing); refilled by the next incremental materialization',
    registers: [registryMetrics],
    async collect() {
      try {
        this.set((await lostViews()).length);
      } catch {
        // Redis or Postgres down: the health route and the error counters say so.
      }
    },
  });

  app.get('/health', async (_req, reply) => {
    const checks: Record<string, string> = {};
    const errorIds: Record<string, string> = {};
    // A failed check says which part is down and an id; its raw message (addresses, SQL) only goes to the log.
    const failed = (check: string, err: unknown) => {
      const errorId = randomUUID();
      errorIds[check] = errorId;
      checks[check] = 'unavailable';
      log({ level: 'warn', event: 'health_check_failed', check, errorId, message: (err as Error)?.message ?? String(err) });
    };
    try {
      await opts.online.ping();
      checks.online_store = 'ok';
    } catch (err) {
      failed('online_store', err);
    }
    try {
      await opts.registry.ping();
      checks.registry = 'ok';
    } catch (err) {
      failed('registry', err);
    }
    checks.registry_listener = cache.listenError ? 'reconnecting' : 'ok';
    let lost: { project: string; view: string }[] = [];
    if (checks.online_store === 'ok' && checks.registry === 'ok') {
      try {
        lost = await lostViews();
        checks.online_data = lost.length ? 'lost' : 'ok';
      } catch (err) {
        failed('online_data', err);
      }
    }
    const ok = checks.online_store === 'ok' && checks.registry === 'ok';
    const degraded = Object.values(checks).some((v) => v !== 'ok');
    // Lost data is degraded but still 200: every instance shares the store, so taking this one out helps nobody.
    return reply.status(ok ? 200 : 503).send({
      status: degraded ? 'degraded' : 'ok',
      checks,
      ...(lost.length ? { lostViews: lost } : {}),
      ...(Object.keys(errorIds).length ? { errorIds } : {}),
    });
  });

  app.get('/metrics', async (_req, reply) => {
    reply.header('Content-Type', registryMetrics.contentType);
    return registryMetrics.metrics();
  });

  const objectBody = (body: unknown): Record<string, unknown> => {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalidInput('the request body must be a JSON object');
    return body as Record<string, unknown>;
  };

  app.post('/get-online-features', async (req, reply) => {
    const body = objectBody(req.body) as {
      features?: unknown;
      feature_service?: unknown;
      entities?: Record<string, unknown[]>;
      full_feature_names?: boolean;
      project?: string;
      /** Request data for on-demand views (Feast's request_context); may also ride beside the entity keys. */
      request_context?: Record<string, unknown[]>;
      /** Apply this training set's fitted transformations (it must have been built from `feature_service`). */
      training_set?: string;
    };
    const project = projectFor(req, body.project);
    authorize(req, project, 'read');
    return withDeadline(
      timeoutMs,
      (async () => {
        const { repo, views } = await cache.get(project);
        if (body.features === undefined && body.feature_service === undefined) {
          throw invalidInput('give "features" (["view:feature", ...]) or "feature_service"');
        }
        if (body.feature_service !== undefined && typeof body.feature_service !== 'string') {
          throw invalidInput('"feature_service" must be a string');
        }
        if (
          body.feature_service === undefined &&
          (!Array.isArray(body.features) || !body.features.every((f) => typeof f === 'string'))
        ) {
          throw invalidInput('"features" must be a list of "view:feature" strings');
        }
        if (body.training_set !== undefined && (typeof body.training_set !== 'string' || body.feature_service === undefined)) {
          throw invalidInput('"training_set" must be the id of a training set built from the "feature_service" you name', {
            where: 'training_set',
          });
        }
        const plan =
          body.feature_service !== undefined
            ? resolveMemo(repo, `s\u0000${body.feature_service}`, () => planFeatureService(repo, body.feature_service as string))
            : resolveMemo(repo, `f\u0000${(body.features as string[]).join('\u0000')}`, () =>
                planFeatureRefs(repo, body.features as string[]),
              );
        const resolved = plan.selections;
        const rows = entityRowsFromColumns(body.entities as Record<string, unknown>);
        if (rows.length > maxEntities) {
          throw invalidInput(`${rows.length} entity rows is more than the limit of ${maxEntities}`, {
            hint: 'split the request',
          });
        }
        const selections = resolved.map((r) => {
          const vv = views.get(r.view.name);
          return { ...r, joinKeys: (vv?.joinKeys ?? []) as JoinKey[] };
        });
        const res = await serveOnline(opts.online, project, selections, rows, {
          memo: resolved,
          fullFeatureNames: body.full_feature_names ?? false,
          onServedAge: (view, ageMs) => freshness.observe({ view }, Math.max(0, ageMs) / 1000),
        });
        entitiesServed.inc(rows.length);
        const fullFeatureNames = body.full_feature_names ?? false;
        let answer = typedAnswer(res, plan);
        if (plan.onDemand.length) {
          answer = addOnDemand(answer, plan, {
            rowCount: rows.length,
            entities: body.entities as Record<string, unknown>,
            request: body.request_context,
            fullFeatureNames,
            runners,
          });
        }
        if (body.training_set !== undefined) {
          const t = await fitted.get(project, body.training_set as string, body.feature_service as string);
          answer = applyFittedOnline(answer, t, fullFeatureNames);
        }
        // Feast's value forms (a DOUBLE 85 is written 85.0); Feast's statuses when asked for.
        const floats = answer.types.map((t) => t !== undefined && isFloatType(t));
        const compat = String(req.headers['x-strata-compat'] ?? '').toLowerCase() === 'feast';
        reply.type('application/json; charset=utf-8');
        return onlineResponseJson(answer.res, floats, {
          feastStatuses: compat || opts.statuses === 'feast',
        });
      })(),
    );
  });

  app.post('/push', async (req) => {
    const body = objectBody(req.body) as PushBody;
    const project = projectFor(req, body.project);
    authorize(req, project, 'write');
    const name = body.feature_view ?? body.push_source_name;
    if (typeof name !== 'string' || !name) {
      throw invalidInput('give "feature_view" or "push_source_name" (a push source is named after its feature view)');
    }
    const { views } = await cache.get(project);
    const vv = views.get(name);
    if (!vv) {
      throw new StrataError('UNKNOWN_OBJECT', `no feature view named '${name}' in project '${project}'`, {
        hint: `known views: ${[...views.keys()].join(', ') || 'none'}`,
      });
    }
    const checked = checkPush(vv, body);
    if (checked.to !== 'online' && !pushBuffer) {
      throw new StrataError('CONFIG', 'this server has no offline store for pushes', { hint: 'push with "to": "online"' });
    }
    if (checked.rows.length > maxEntities) {
      throw invalidInput(`${checked.rows.length} rows is more than the limit of ${maxEntities}`, { hint: 'split the push' });
    }
    const rawKey = req.headers['idempotency-key'] ?? body.idempotency_key;
    if (rawKey !== undefined && (typeof rawKey !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(rawKey))) {
      throw invalidInput('the idempotency key must be 1-128 characters of letters, digits, . _ : -', {
        where: 'Idempotency-Key header or "idempotency_key"',
      });
    }
    const idempotencyKey = rawKey as string | undefined;
    const out: Record<string, unknown> = { feature_view: vv.name, version: vv.version, rows: checked.rows.length };
    if (checked.to !== 'offline' && !vv.spec.online) {
      throw invalidInput(`feature view '${vv.name}' is not online`, { hint: 'push with "to": "offline"' });
    }
    // Offline first: the validated, durable commit decides; the online write follows, and the push is acknowledged
    // only when both are done. A push that fails after its offline commit is retried with the same key: the commit
    // is found (not repeated) and the online write is done again (newer-wins, so repeating it is harmless).
    if (checked.to !== 'online' && pushBuffer) {
      const commit = await pushBuffer.add(vv, checked.rows, idempotencyKey);
      pushedRows.inc({ store: 'offline' }, checked.rows.length);
      out.offline = {
        ingestion_id: commit.ingestionId,
        commit_seq: commit.commitSeq,
        commit_rows: commit.rows,
        already_committed: commit.alreadyCommitted,
        validation: commit.validation,
      };
    }
    if (checked.to !== 'offline') {
      const res = await withDeadline(
        timeoutMs,
        opts.online.writeRows(
          { project, view: vv.spec, joinKeys: vv.joinKeys },
          checked.rows.map((r) => pushRowToOnline(vv, r)),
          opts.push?.keyTtlSeconds ? { keyTtlSeconds: opts.push.keyTtlSeconds } : {},
        ),
      );
      pushedRows.inc({ store: 'online' }, checked.rows.length);
      out.online = res;
    }
    return out;
  });

  const hopsworks = async (req: { body: unknown; principal?: Principal }, batch: boolean) => {
    const body = objectBody(req.body) as HopsworksRequest;
    const project = projectOf(body.featureStoreName);
    authorize(req, project, 'read');
    return withDeadline(
      timeoutMs,
      (async () => {
        const { repo, views } = await cache.get(project);
        const r = resolveHopsworksView(repo, views, body.featureViewName, body.featureViewVersion);
        const res = batch
          ? await hopsworksBatch(opts.online, project, r, body, maxEntities)
          : await hopsworksSingle(opts.online, project, r, body);
        entitiesServed.inc(batch ? (body.entries as unknown[]).length : 1);
        return res;
      })(),
    );
  };
  app.post('/0.1.0/feature_store', (req) => hopsworks(req, false));
  app.post('/0.1.0/batch_feature_store', (req) => hopsworks(req, true));

  // Graceful shutdown: responses of requests in flight tell keep-alive clients to go away, so close() does not wait
  // for their idle connections to time out.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  app.addHook('onClose', async () => {
    await pushBuffer?.drain();
    await cache.stop();
  });
  return { app, cache };
}
