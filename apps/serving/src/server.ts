/**
 * The online serving app: Feast-compatible POST /get-online-features, /health and Prometheus /metrics.
 * Reads Redis only; the registry comes from a cache that refreshes as soon as an apply commits.
 */
import { type JoinKey, resolveFeatureRefs, resolveFeatureService, StrataError } from '@strata/core';
import type { Pool, PgRegistry } from '@strata/offline-postgres';
import type { RedisOnlineStore } from '@strata/online-redis';
import { entityRowsFromColumns, readOnline } from '@strata/sdk';
import Fastify, { type FastifyInstance } from 'fastify';
import client from 'prom-client';
import { RegistryCache } from './registry-cache.js';

export interface ServerOptions {
  project: string;
  registry: PgRegistry;
  pool: Pool;
  online: RedisOnlineStore;
  /** Largest accepted request body (bytes). */
  bodyLimit?: number;
  /** Most entity rows per request. */
  maxEntities?: number;
  logger?: boolean;
}

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
    help: 'Online store (Redis) errors seen while serving',
    registers: [registryMetrics],
  });
  const entitiesServed = new client.Counter({
    name: 'strata_online_entities_total',
    help: 'Entity rows served',
    registers: [registryMetrics],
  });

  const cache = new RegistryCache(opts.registry, opts.pool);
  await cache.start();
  const maxEntities = opts.maxEntities ?? 10_000;
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: opts.bodyLimit ?? 10 * 1024 * 1024 });

  app.addHook('onResponse', async (req, reply) => {
    latency.observe(
      { route: req.routeOptions.url ?? 'unknown', method: req.method, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.setErrorHandler((error, _req, reply) => {
    const err = error as Error & { code?: string; statusCode?: number };
    let e: StrataError;
    if (err instanceof StrataError) e = err;
    else if ((err as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      e = new StrataError('INVALID_INPUT', `request body is larger than ${opts.bodyLimit ?? 10 * 1024 * 1024} bytes`, {
        hint: 'split the request into smaller batches',
      });
      return reply.status(413).send(errorBody(e));
    } else if (
      (err as { statusCode?: number }).statusCode === 400 ||
      (err as { code?: string }).code?.startsWith('FST_ERR_CTP')
    ) {
      e = new StrataError('INVALID_INPUT', `malformed request: ${err.message}`, {
        hint: 'send a JSON body with Content-Type: application/json',
      });
    } else e = new StrataError('INTERNAL', err.message);
    if (e.code === 'UNAVAILABLE') redisErrors.inc();
    return reply.status(STATUS[e.code] ?? 500).send(errorBody(e));
  });

  app.get('/health', async (_req, reply) => {
    const checks: Record<string, string> = {};
    try {
      await opts.online.ping();
      checks.online_store = 'ok';
    } catch (err) {
      checks.online_store = (err as Error).message;
    }
    try {
      await opts.pool.query('SELECT 1');
      checks.registry = 'ok';
    } catch (err) {
      checks.registry = (err as Error).message;
    }
    const ok = Object.values(checks).every((v) => v === 'ok');
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', checks });
  });

  app.get('/metrics', async (_req, reply) => {
    reply.header('Content-Type', registryMetrics.contentType);
    return registryMetrics.metrics();
  });

  app.post('/get-online-features', async (req) => {
    const body = req.body as {
      features?: string[];
      feature_service?: string;
      entities?: Record<string, unknown[]>;
      full_feature_names?: boolean;
      project?: string;
    };
    if (!body || typeof body !== 'object') throw new StrataError('INVALID_INPUT', 'the request body must be a JSON object');
    const project = body.project ?? opts.project;
    const { repo, views } = await cache.get(project);
    if (body.features === undefined && body.feature_service === undefined) {
      throw new StrataError('INVALID_INPUT', 'give "features" (["view:feature", ...]) or "feature_service"');
    }
    const resolved =
      body.feature_service !== undefined
        ? resolveFeatureService(repo, body.feature_service)
        : resolveFeatureRefs(repo, body.features ?? []);
    const rows = entityRowsFromColumns(body.entities as Record<string, unknown>);
    if (rows.length > maxEntities) {
      throw new StrataError('INVALID_INPUT', `${rows.length} entity rows is more than the limit of ${maxEntities}`, {
        hint: 'split the request',
      });
    }
    const selections = resolved.map((r) => {
      const vv = views.get(r.view.name);
      return { ...r, joinKeys: (vv?.joinKeys ?? []) as JoinKey[] };
    });
    try {
      const res = await readOnline(opts.online, project, selections, rows, {
        fullFeatureNames: body.full_feature_names ?? false,
      });
      entitiesServed.inc(rows.length);
      return res;
    } catch (err) {
      if (err instanceof StrataError && err.code === 'UNAVAILABLE') redisErrors.inc();
      throw err;
    }
  });

  app.addHook('onClose', async () => {
    await cache.stop();
  });
  return { app, cache };
}
