/**
 * The Strata control plane: one REST API under /api/v1 for people and their tools (the remote CLI and SDK, the
 * Python client, the console). Every request is authenticated by API key and authorized by the caller's role on the
 * project in the URL; every write is recorded in the audit log. The server holds no SQL of its own: it calls the SDK
 * (local mode) for everything.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { type Change, diffView, formatPlan, invalidInput, type ObjectKind, type RepoSpec, StrataError } from '@strata/core';
import {
  createMaterializeSchedule,
  deleteMaterializeSchedule,
  describeSchedule,
  type Identity,
  type KeyPrincipal,
  hasRole,
  listMaterializeSchedules,
  materializationHistory,
  type Role,
  roleOn,
  type RunInfo,
  Strata,
  triggerMaterializeSchedule,
} from '@strata/sdk';
import { readArrowBatches } from '@strata/sdk';
import type * as arrow from 'apache-arrow';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';
import { arrowIpcStream } from './arrow-stream.js';
import { consoleRoutes } from './console.js';
import { redactSecrets, redactUrlKey } from './redact.js';
import type { RouteContext } from './routes/context.js';
import { registerInsightRoutes } from './routes/insight.js';
import { RUN_EVENTS_ROUTE, type RunEventsOptions, registerRunRoutes } from './routes/runs.js';
import * as S from './schemas.js';
import { spoolUpload, UPLOAD_TYPES, type UploadFormat, uploadFormat } from './uploads.js';

declare module 'fastify' {
  interface FastifyRequest {
    caller?: KeyPrincipal;
    errorCode?: string;
  }
  interface FastifyContextConfig {
    /** The role the caller needs on the URL's project (routes without a project check in the handler). */
    role?: Role;
  }
}

export interface ServerOptions {
  /** A local-mode Strata (its pool, Temporal client and Redis are shared by every project). */
  strata: Strata;
  identity: Identity;
  /** Folder for uploads being received and training sets kept for download. */
  dataDir: string;
  uploadLimitBytes?: number;
  bodyLimitBytes?: number;
  /** Request logs (JSON lines on stdout; or to a stream of your own). */
  logger?: boolean | { stream: { write(line: string): void } };
  /** Polling of the run-events stream (tests shorten it). */
  runEvents?: RunEventsOptions;
}

const STATUS: Record<string, number> = {
  INVALID_INPUT: 400,
  INVALID_SPEC: 400,
  SCHEMA_MISMATCH: 400,
  UNKNOWN_OBJECT: 404,
  UNKNOWN_FEATURE: 404,
  CONFLICT: 409,
  VALIDATION_FAILED: 422,
  UNAVAILABLE: 503,
  CONFIG: 500,
  INTERNAL: 500,
};

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

function errorBody(err: StrataError) {
  return {
    error: {
      code: err.code,
      message: err.message,
      details: { ...err.details, ...(err.where ? { where: err.where } : {}), ...(err.hint ? { hint: err.hint } : {}) },
    },
  };
}

const KIND_PATH: Record<string, ObjectKind> = {
  entities: 'entity',
  'feature-views': 'feature_view',
  'feature-services': 'feature_service',
};

function list(v: string | undefined): string[] {
  return (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export async function createServer(opts: ServerOptions): Promise<FastifyInstance> {
  const { identity } = opts;
  const uploadLimit = opts.uploadLimitBytes ?? 20 * 1024 ** 3;
  const uploadsDir = join(opts.dataDir, 'uploads');
  const trainingDir = join(opts.dataDir, 'training-sets');
  await mkdir(uploadsDir, { recursive: true });
  await mkdir(trainingDir, { recursive: true });

  const app = Fastify({
    logger: opts.logger
      ? {
          redact: ['req.headers.authorization', 'req.headers["x-api-key"]'],
          level: 'info',
          ...(typeof opts.logger === 'object' ? { stream: opts.logger.stream } : {}),
          // The run-events route takes ?key= (EventSource sends no headers): no logged URL ever holds it.
          serializers: {
            req: (r: { method: string; url: string; hostname?: string; ip?: string }) => ({
              method: r.method,
              url: redactUrlKey(r.url),
              hostname: r.hostname,
              remoteAddress: r.ip,
            }),
          },
        }
      : false,
    bodyLimit: opts.bodyLimitBytes ?? 5 * 1024 * 1024,
    ajv: { customOptions: { coerceTypes: true, removeAdditional: false } },
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Strata control plane',
        version: '1',
        description:
          'Projects, registry (plan/apply), ingestions, time travel, materializations, training sets, runs, API keys and the audit log.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'an API key: Authorization: Bearer <key>' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
      security: [{ bearer: [] }, { apiKey: [] }],
    },
    // Shared schemas appear under their own names (#/components/schemas/Run, Error, ApiKey).
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
    // Raw bodies (files, YAML) bypass Fastify's JSON validation, so their request bodies are described here.
    transformObject: (doc) => {
      const api = 'openapiObject' in doc ? doc.openapiObject : undefined;
      if (!api?.paths) return api ?? {};
      const binary = { schema: { type: 'string', format: 'binary' } };
      const files = Object.fromEntries(UPLOAD_TYPES.map((t) => [t, binary]));
      const body = (content: Record<string, unknown>, description: string) => ({ required: true, description, content });
      const set = (path: string, requestBody: unknown) => {
        const op = (api.paths as Record<string, Record<string, Record<string, unknown>>>)[path]?.post;
        if (op) op.requestBody = requestBody;
      };
      set('/api/v1/projects/{project}/feature-views/{view}/ingestions', body(files, 'the rows, streamed (never held in memory)'));
      const entities = body(
        { ...files, 'application/json': { schema: S.HistoricalJson } },
        'entity rows: a file (options in the query string) or JSON {features, entities: {column: [values]}, ...}',
      );
      set('/api/v1/projects/{project}/historical-features', entities);
      set('/api/v1/projects/{project}/training-sets', entities);
      const spec = body(
        { 'application/yaml': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object' } } },
        "a spec in the CLI's formats: Strata YAML/JSON (one or more documents) or Feast 0.x FeatureSet YAML",
      );
      set('/api/v1/projects/{project}/plan', spec);
      set('/api/v1/projects/{project}/apply', spec);
      return api;
    },
  });
  app.addSchema(S.ErrorBody);
  app.addSchema(S.Run);
  app.addSchema(S.ApiKey);

  // Spec bodies as text (YAML), upload bodies as raw streams read by the handler (never buffered by Fastify).
  app.addContentTypeParser(
    ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/plain'],
    { parseAs: 'string' },
    (_r, body, done) => done(null, body),
  );
  app.addContentTypeParser(UPLOAD_TYPES, (_req, payload, done) => done(null, payload));

  // ---- authentication and authorization (before any body is read) ---------------------------------------------
  app.addHook('onRequest', async (req) => {
    const url = req.routeOptions.url ?? '';
    if (url === '/api/v1/health' || url === '/api/v1/openapi.json' || !url.startsWith('/api/v1')) return;
    if (!(await identity.enabled())) {
      // No key exists yet: the server is open, and it only listens on loopback then (see listen()).
      req.caller = { id: 'anonymous', name: 'anonymous (no keys configured)', roles: { '*': 'admin' }, anonymous: true };
    } else {
      const auth = req.headers.authorization;
      const bearer = typeof auth === 'string' && /^bearer /i.test(auth) ? auth.slice(7).trim() : undefined;
      const header = req.headers['x-api-key'];
      const queryKey = url === RUN_EVENTS_ROUTE ? (req.query as { key?: unknown }).key : undefined;
      const presented =
        bearer ??
        (typeof header === 'string' ? header.trim() : undefined) ??
        (typeof queryKey === 'string' && queryKey ? queryKey : undefined);
      if (!presented)
        throw new HttpError(401, 'UNAUTHENTICATED', 'an API key is required', {
          hint: 'send Authorization: Bearer <key> or X-API-Key: <key>',
        });
      const p = await identity.authenticate(presented);
      if (!p) throw new HttpError(401, 'UNAUTHENTICATED', 'the API key is not valid (unknown or revoked)');
      req.caller = p;
    }
    const role = req.routeOptions.config.role;
    const project = (req.params as { project?: string }).project;
    if (role && project !== undefined) requireRole(req, project, role);
  });

  function principal(req: FastifyRequest): KeyPrincipal {
    if (!req.caller) throw new HttpError(401, 'UNAUTHENTICATED', 'an API key is required');
    return req.caller;
  }

  function requireRole(req: FastifyRequest, project: string, role: Role): void {
    const p = principal(req);
    if (hasRole(p, project, role)) return;
    const has = roleOn(p, project);
    throw new HttpError(
      403,
      'FORBIDDEN',
      has
        ? `this API key is ${has} on project '${project}'; this needs ${role}`
        : `this API key gives no access to project '${project}'`,
      { project, needed: role, ...(has ? { role: has } : {}) },
    );
  }

  const strataFor = (project: string) => opts.strata.forProject(project);
  const by = (req: FastifyRequest) => principal(req).name;

  // ---- secrets never leave: webhook URLs in specs and passwords in URLs are masked in every JSON response -----
  app.addHook('onSend', async (_req, reply, payload) => {
    if (typeof payload !== 'string' || !String(reply.getHeader('content-type') ?? '').includes('json')) return payload;
    return redactSecrets(payload);
  });

  // ---- the audit log: one entry per write (never its body, so never a secret) -------------------------------
  app.addHook('onSend', async (req, reply, payload) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return payload;
    const url = req.routeOptions.url;
    if (!url?.startsWith('/api/v1')) return payload;
    const params = { ...(req.params as Record<string, string>) };
    const project = params.project ?? null;
    delete params.project;
    const target = Object.entries(params)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const status = reply.statusCode;
    try {
      await identity.audit({
        principalId: req.caller?.id ?? null,
        principalName: req.caller?.name ?? null,
        project,
        action: `${req.method} ${url}`,
        target: target || null,
        status,
        outcome: status < 400 ? 'ok' : status === 401 || status === 403 ? 'denied' : 'failed',
        errorCode: req.errorCode ?? null,
      });
    } catch (err) {
      req.log.error({ err: (err as Error).message }, 'audit log write failed');
    }
    return payload;
  });

  // ---- errors: {error: {code, message, details}} ------------------------------------------------------------
  app.setErrorHandler((error, req, reply) => {
    const err = error as Error & {
      code?: string;
      statusCode?: number;
      validation?: { instancePath?: string; params?: Record<string, unknown>; message?: string }[];
      validationContext?: string;
    };
    let status: number;
    let body: { error: { code: string; message: string; details: Record<string, unknown> } };
    if (err instanceof HttpError) {
      status = err.status;
      body = { error: { code: err.code, message: err.message, details: err.details } };
    } else if (err instanceof StrataError) {
      status = err.details.limitBytes !== undefined ? 413 : (STATUS[err.code] ?? 500);
      body = errorBody(err);
    } else if (err.validation) {
      const v = err.validation[0];
      const path = (v?.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
      const missing = v?.params?.missingProperty as string | undefined;
      const field = [path, missing].filter(Boolean).join('.') || err.validationContext || 'body';
      status = 400;
      body = {
        error: {
          code: 'INVALID_INPUT',
          message: `${err.validationContext ?? 'request'} ${field}: ${v?.message ?? err.message}`,
          details: { field, in: err.validationContext ?? 'body' },
        },
      };
    } else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      status = 413;
      body = { error: { code: 'PAYLOAD_TOO_LARGE', message: err.message, details: {} } };
    } else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      status = err.statusCode;
      body = { error: { code: 'INVALID_INPUT', message: err.message, details: {} } };
    } else {
      req.log.error({ err }, 'internal error');
      status = 500;
      body = { error: { code: 'INTERNAL', message: err.message, details: {} } };
    }
    req.errorCode = body.error.code;
    return reply.status(status).send(body);
  });

  app.setNotFoundHandler((req, reply) => {
    req.errorCode = 'UNKNOWN_OBJECT';
    return reply.status(404).send({
      error: {
        code: 'UNKNOWN_OBJECT',
        message: `no route ${req.method} ${req.url.split('?')[0]}`,
        details: { hint: 'see /api/v1/openapi.json' },
      },
    });
  });

  await app.register(consoleRoutes, { authRequired: () => identity.enabled() }); // the web console at /, outside /api

  const err = { 400: Type.Ref('Error'), 401: Type.Ref('Error'), 403: Type.Ref('Error'), 404: Type.Ref('Error') };
  const runLink = (project: string, workflowId: string) => `/api/v1/projects/${project}/runs/${encodeURIComponent(workflowId)}`;
  const accepted = (project: string, run: { workflowId: string; url: string }) => ({
    workflowId: run.workflowId,
    url: run.url,
    status: 'RUNNING',
    progress: null,
    links: { self: runLink(project, run.workflowId) },
  });

  // ---- service ----------------------------------------------------------------------------------------------
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get(
    '/api/v1/health',
    { schema: { tags: ['service'], summary: 'liveness and the registry connection', security: [] } },
    async (_req, reply) => {
      try {
        await opts.strata.pool.query('SELECT 1');
        return { status: 'ok' };
      } catch (e) {
        return reply.status(503).send({ status: 'degraded', registry: (e as Error).message });
      }
    },
  );
  app.get('/api/v1/whoami', { schema: { tags: ['keys'], summary: 'the caller: key id, name and roles' } }, async (req) => {
    const p = principal(req);
    return { id: p.id, name: p.name, roles: p.roles, anonymous: p.anonymous ?? false };
  });

  // ---- projects and registry --------------------------------------------------------------------------------
  async function visibleProjects(p: KeyPrincipal) {
    const all = await opts.strata.registry.listProjects();
    const named = Object.keys(p.roles).filter((x) => x !== '*');
    const visible = p.roles['*'] ? all : [...new Set([...all.filter((x) => named.includes(x)), ...named])].sort();
    return visible.map((name) => ({ name, role: roleOn(p, name) ?? null }));
  }
  app.get('/api/v1/projects', { schema: { tags: ['projects'], summary: 'projects the caller can see' } }, async (req) => ({
    projects: await visibleProjects(principal(req)),
  }));

  // ---- what the console shows (docs/console-api.md), in their own modules -----------------------------------
  const ctx: RouteContext = { strata: opts.strata, strataFor, principal, requireRole, visibleProjects, runLink };
  registerInsightRoutes(app, ctx);
  registerRunRoutes(app, ctx, opts.runEvents);

  app.get(
    '/api/v1/projects/:project',
    { config: { role: 'viewer' }, schema: { tags: ['projects'], params: S.ProjectParams, response: { ...err } } },
    async (req) => {
      const s = strataFor(req.params.project);
      const repo = await s.loadRepo();
      return {
        name: s.project,
        revision: await s.registryRevision(),
        entities: repo.entities.length,
        featureViews: repo.featureViews.length,
        featureServices: repo.featureServices.length,
        role: roleOn(principal(req), s.project) ?? null,
      };
    },
  );

  app.get(
    '/api/v1/projects/:project/repo',
    {
      config: { role: 'viewer' },
      schema: { tags: ['registry'], summary: 'every object of the project', params: S.ProjectParams },
    },
    async (req, reply) => {
      const s = strataFor(req.params.project);
      const [repo, revision] = await Promise.all([s.loadRepo(), s.registryRevision()]);
      reply.header('ETag', `"${revision}"`);
      return { project: s.project, revision, ...repo };
    },
  );

  for (const [path, kind] of Object.entries(KIND_PATH)) {
    app.get(
      `/api/v1/projects/:project/${path}`,
      { config: { role: 'viewer' }, schema: { tags: ['registry'], summary: `list ${path}`, params: S.ProjectParams } },
      async (req) => {
        const s = strataFor(req.params.project);
        const repo = await s.loadRepo();
        if (kind === 'feature_view') {
          const versions = await s.listViewVersions();
          return {
            featureViews: repo.featureViews.map((v) => ({
              ...v,
              version: Math.max(...versions.filter((x) => x.name === v.name).map((x) => x.version)),
              versions: versions.filter((x) => x.name === v.name).map((x) => x.version),
            })),
          };
        }
        return kind === 'entity' ? { entities: repo.entities } : { featureServices: repo.featureServices };
      },
    );
    app.get(
      `/api/v1/projects/:project/${path}/:name`,
      { config: { role: 'viewer' }, schema: { tags: ['registry'], params: S.NamedParams, response: { ...err } } },
      async (req) => {
        const s = strataFor(req.params.project);
        if (kind === 'feature_view') {
          const vv = await s.getView(req.params.name);
          return { name: vv.name, version: vv.version, spec: vv.spec, joinKeys: vv.joinKeys };
        }
        return kind === 'entity'
          ? s.registry.getEntity(s.project, req.params.name)
          : s.registry.getService(s.project, req.params.name);
      },
    );
    app.delete(
      `/api/v1/projects/:project/${path}/:name`,
      {
        config: { role: 'admin' },
        schema: { tags: ['registry'], summary: `delete one of ${path} (admin)`, params: S.NamedParams },
      },
      async (req) => {
        const s = strataFor(req.params.project);
        const { droppedIngestions } = await s.deleteObject(kind, req.params.name);
        return { deleted: { kind, name: req.params.name }, droppedIngestions };
      },
    );
  }

  app.get(
    '/api/v1/projects/:project/feature-views/:name/versions',
    { config: { role: 'viewer' }, schema: { tags: ['registry'], summary: 'every version of a view', params: S.NamedParams } },
    async (req) => {
      const s = strataFor(req.params.project);
      const versions = await s.listViewVersions(req.params.name);
      if (!versions.length) await s.getView(req.params.name);
      return { versions: versions.map((v) => ({ version: v.version, spec: v.spec, joinKeys: v.joinKeys })) };
    },
  );
  app.get(
    '/api/v1/projects/:project/feature-views/:name/versions/:version',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['registry'],
        params: Type.Object({ project: S.Name, name: Type.String(), version: Type.Integer({ minimum: 1 }) }),
      },
    },
    async (req) => {
      const vv = await strataFor(req.params.project).getView(req.params.name, req.params.version);
      return { version: vv.version, spec: vv.spec, joinKeys: vv.joinKeys };
    },
  );
  app.get(
    '/api/v1/projects/:project/feature-views/:name/version-diff',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['registry'],
        summary: 'what changed between two versions of a view',
        params: S.NamedParams,
        querystring: Type.Object({ from: Type.Integer({ minimum: 1 }), to: Type.Integer({ minimum: 1 }) }),
      },
    },
    async (req) => {
      const s = strataFor(req.params.project);
      const [a, b] = await Promise.all([s.getView(req.params.name, req.query.from), s.getView(req.params.name, req.query.to)]);
      const change = diffView(a.spec, b.spec);
      const fa = new Map(a.spec.features.map((f) => [f.name, f]));
      const fb = new Map(b.spec.features.map((f) => [f.name, f]));
      return {
        from: a.version,
        to: b.version,
        change,
        featuresAdded: [...fb.keys()].filter((n) => !fa.has(n)),
        featuresRemoved: [...fa.keys()].filter((n) => !fb.has(n)),
        featuresChanged: [...fb.values()]
          .filter((f) => fa.has(f.name) && JSON.stringify(fa.get(f.name)) !== JSON.stringify(f))
          .map((f) => ({ name: f.name, before: fa.get(f.name), after: f })),
      };
    },
  );

  /** The spec in a plan/apply body: YAML text, or JSON (one document or a list of documents), as the CLI reads. */
  function specFromBody(project: string, body: unknown): RepoSpec {
    if (body === undefined || body === null || body === '')
      throw invalidInput('the request body is empty', { hint: 'send the spec as YAML or JSON', details: { field: 'body' } });
    const parsed =
      typeof body === 'string'
        ? Strata.parseSpecText(body, 'request body')
        : Strata.parseSpecText(JSON.stringify(body), 'request body');
    if (parsed.project !== undefined && parsed.project !== project)
      throw invalidInput(`the spec names project '${parsed.project}' but the URL names '${project}'`, {
        details: { field: 'project' },
        hint: 'send it to /api/v1/projects/<its project>/apply, or drop project: from the spec',
      });
    return { entities: parsed.entities, featureViews: parsed.featureViews, featureServices: parsed.featureServices };
  }

  const planSchema = (summary: string) => ({
    tags: ['registry'],
    summary,
    params: S.ProjectParams,
    body: S.Open,
    headers: Type.Object({ 'if-match': Type.Optional(Type.String()) }),
    querystring: Type.Object({ based_on: Type.Optional(Type.String()) }),
    response: { 200: S.PlanResponse, 409: Type.Ref('Error'), ...err },
  });

  app.post(
    '/api/v1/projects/:project/plan',
    { config: { role: 'viewer' }, schema: planSchema('what apply would change (YAML or JSON body, as the CLI reads)') },
    async (req) => {
      const s = strataFor(req.params.project);
      const repo = specFromBody(s.project, req.body);
      const revision = await s.registryRevision();
      const changes = await s.plan(repo);
      return { project: s.project, changes, text: formatPlan(changes), revision, applied: false };
    },
  );

  app.post(
    '/api/v1/projects/:project/apply',
    {
      config: { role: 'editor' },
      schema: planSchema(
        'apply a spec; with If-Match: "<revision>" (or ?based_on=) it is refused with 409 and the current plan if the registry changed since',
      ),
    },
    async (req) => {
      const s = strataFor(req.params.project);
      const repo = specFromBody(s.project, req.body);
      const ifMatch = req.headers['if-match'];
      const basedOn =
        (typeof ifMatch === 'string' ? ifMatch.replace(/^W\//, '').replace(/"/g, '') : undefined) ?? req.query.based_on;
      const res = await s.apply(repo, basedOn ? { basedOn } : {});
      return { project: s.project, changes: res.changes as Change[], text: res.text, revision: res.revision, applied: true };
    },
  );

  // ---- ingestions -------------------------------------------------------------------------------------------
  app.post(
    '/api/v1/projects/:project/feature-views/:view/ingestions',
    {
      config: { role: 'editor' },
      schema: {
        tags: ['ingestions'],
        summary:
          'upload a CSV, Parquet, Arrow IPC or JSON-lines body (streamed to disk, then staged by COPY) and start the ingest workflow; 202 with the run',
        params: S.ViewParams,
        querystring: S.IngestQuery,
        response: { 202: S.IngestAccepted, 413: Type.Ref('Error'), ...err },
      },
    },
    async (req, reply) => {
      const s = strataFor(req.params.project);
      const format = uploadFormat(req.headers['content-type'], req.query.format);
      await s.getView(req.params.view); // 404 before reading the body
      const body = req.body as Readable;
      if (!(body instanceof Readable))
        throw invalidInput('send the file as the raw request body', { details: { field: 'body' } });
      const declared = req.headers['content-length'] ? Number(req.headers['content-length']) : undefined;
      const up = await spoolUpload(body, uploadsDir, format, uploadLimit, declared);
      try {
        const run = await s.ingest(req.params.view, up.path, {
          format,
          createdBy: by(req),
          // The spool file's path is the server's business: record the name the client gave, or the format.
          source: req.query.source ? `upload:${req.query.source}` : `upload.${format}`,
          ...(req.query.ingestion_id ? { ingestionId: req.query.ingestion_id } : {}),
          ...(req.query.materialize ? { materialize: true } : {}),
          ...(req.query.policy ? { validationPolicy: req.query.policy } : {}),
        });
        reply.status(202).header('Location', runLink(s.project, run.workflowId));
        return {
          run: accepted(s.project, run),
          ingestionId: run.ingestionId,
          stagedRows: run.stagedRows,
          ignoredColumns: run.ignoredColumns,
        };
      } finally {
        await rm(up.path, { force: true });
      }
    },
  );

  app.get(
    '/api/v1/projects/:project/ingestions',
    {
      config: { role: 'viewer' },
      schema: { tags: ['ingestions'], params: S.ProjectParams, querystring: Type.Object({ view: Type.Optional(Type.String()) }) },
    },
    async (req) => ({ ingestions: (await strataFor(req.params.project).listIngestions(req.query.view)).map(publicIngestion) }),
  );

  async function ingestionOf(project: string, id: string) {
    const ing = await strataFor(project).getIngestion(id);
    if (!ing) throw new StrataError('UNKNOWN_OBJECT', `no ingestion '${id}' in project '${project}'`);
    return ing;
  }
  app.get(
    '/api/v1/projects/:project/ingestions/:id',
    { config: { role: 'viewer' }, schema: { tags: ['ingestions'], params: S.IngestionParams, response: { ...err } } },
    async (req) => publicIngestion(await ingestionOf(req.params.project, req.params.id)),
  );
  for (const part of ['validation-report', 'statistics', 'drift'] as const) {
    app.get(
      `/api/v1/projects/:project/ingestions/:id/${part}`,
      {
        config: { role: 'viewer' },
        schema: {
          tags: ['ingestions'],
          summary:
            part === 'validation-report'
              ? 'the Great Expectations validation result of the ingestion'
              : part === 'statistics'
                ? 'the profile of the ingested rows'
                : 'drift against the previous commit',
          params: S.IngestionParams,
          response: { ...err },
        },
      },
      async (req) => {
        const ing = await ingestionOf(req.params.project, req.params.id);
        const value = part === 'validation-report' ? ing.report : part === 'statistics' ? ing.statistics : ing.drift;
        if (value === null || value === undefined)
          throw new StrataError(
            'UNKNOWN_OBJECT',
            `ingestion '${ing.id}' has no ${part.replace('-', ' ')} (status ${ing.status})`,
          );
        return value;
      },
    );
  }
  app.post(
    '/api/v1/projects/:project/ingestions/:id/release',
    {
      config: { role: 'editor' },
      schema: {
        tags: ['ingestions'],
        summary: 'validate a quarantined ingestion again and commit it if it passes; 202 with the run',
        params: S.IngestionParams,
        body: Type.Optional(Type.Object({ materialize: Type.Optional(Type.Boolean()) })),
        response: { 202: S.IngestAccepted, ...err },
      },
    },
    async (req, reply) => {
      const s = strataFor(req.params.project);
      const ing = await ingestionOf(s.project, req.params.id);
      const run = await s.release(ing.view, ing.id, req.body?.materialize ? { materialize: true } : {});
      reply.status(202).header('Location', runLink(s.project, run.workflowId));
      return { run: accepted(s.project, run), ingestionId: run.ingestionId, stagedRows: run.stagedRows, ignoredColumns: [] };
    },
  );

  // ---- time travel ------------------------------------------------------------------------------------------
  app.get(
    '/api/v1/projects/:project/feature-views/:view/commits',
    { config: { role: 'viewer' }, schema: { tags: ['time travel'], summary: "a view's commits", params: S.ViewParams } },
    async (req) => {
      const s = strataFor(req.params.project);
      await s.getView(req.params.view);
      return { commits: await s.history(req.params.view) };
    },
  );

  async function sendArrow(reply: FastifyReply, batches: AsyncGenerator<arrow.RecordBatch>): Promise<FastifyReply> {
    // Pull the first batch before the status line, so a bad request still gets a JSON error.
    const first = await batches.next();
    const rest = (async function* () {
      if (!first.done) yield first.value;
      yield* batches;
    })();
    reply.type('application/vnd.apache.arrow.stream');
    return reply.send(Readable.from(arrowIpcStream(rest)));
  }

  app.get(
    '/api/v1/projects/:project/feature-views/:view/rows',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['time travel'],
        summary: 'the view as of a commit or time (Arrow IPC stream)',
        params: S.ViewParams,
        querystring: S.ReadQuery,
      },
    },
    async (req, reply) => {
      const q = req.query;
      const batches = strataFor(req.params.project).readView(req.params.view, {
        ...(q.as_of ? { asOf: q.as_of } : {}),
        ...(q.as_of_commit !== undefined ? { asOfCommit: q.as_of_commit } : {}),
        ...(q.latest ? { latest: true } : {}),
        ...(q.version ? { version: q.version } : {}),
      });
      return sendArrow(reply, batches);
    },
  );
  app.get(
    '/api/v1/projects/:project/feature-views/:view/diff',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['time travel'],
        summary: 'rows added by the commits after `from` up to `to` (Arrow IPC stream)',
        params: S.ViewParams,
        querystring: S.DiffQuery,
      },
    },
    async (req, reply) => {
      const s = strataFor(req.params.project);
      const o = req.query.version ? { version: req.query.version } : {};
      await s.diffSummary(req.params.view, req.query.from, req.query.to, o);
      return sendArrow(reply, s.diff(req.params.view, req.query.from, req.query.to, o));
    },
  );
  app.get(
    '/api/v1/projects/:project/feature-views/:view/diff/summary',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['time travel'],
        summary: 'per-commit counts between two commits',
        params: S.ViewParams,
        querystring: S.DiffQuery,
      },
    },
    async (req) => {
      const o = req.query.version ? { version: req.query.version } : {};
      return { commits: await strataFor(req.params.project).diffSummary(req.params.view, req.query.from, req.query.to, o) };
    },
  );

  // ---- materializations and schedules -----------------------------------------------------------------------
  app.post(
    '/api/v1/projects/:project/materializations',
    {
      config: { role: 'editor' },
      schema: {
        tags: ['materializations'],
        summary: 'copy the latest values offline -> online (incremental, or an event-time window); 202 with the run',
        params: S.ProjectParams,
        body: S.MaterializeBody,
        response: { 202: Type.Object({ run: Type.Ref('Run') }), ...err },
      },
    },
    async (req, reply) => {
      const s = strataFor(req.params.project);
      const run = await s.materialize(req.body.view, {
        ...(req.body.start ? { start: req.body.start } : {}),
        ...(req.body.end ? { end: req.body.end } : {}),
        ...(req.body.batchSize ? { batchSize: req.body.batchSize } : {}),
      });
      reply.status(202).header('Location', runLink(s.project, run.workflowId));
      return { run: accepted(s.project, run) };
    },
  );
  app.get(
    '/api/v1/projects/:project/materializations',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['materializations'],
        summary: 'history of materialization runs',
        params: S.ProjectParams,
        querystring: Type.Object({
          view: Type.Optional(Type.String()),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        }),
      },
    },
    async (req) => ({
      materializations: await materializationHistory(strataFor(req.params.project), req.query.view, req.query.limit ?? 50),
    }),
  );
  app.get(
    '/api/v1/projects/:project/schedules',
    { config: { role: 'viewer' }, schema: { tags: ['materializations'], params: S.ProjectParams } },
    async (req) => ({ schedules: await listMaterializeSchedules(strataFor(req.params.project)) }),
  );
  app.post(
    '/api/v1/projects/:project/schedules',
    {
      config: { role: 'editor' },
      schema: {
        tags: ['materializations'],
        summary: 'materialize a view every interval (a Temporal Schedule)',
        params: S.ProjectParams,
        body: S.ScheduleBody,
      },
    },
    async (req, reply) => {
      const sch = await createMaterializeSchedule(strataFor(req.params.project), req.body.view, {
        every: req.body.every,
        ...(req.body.replace ? { replace: true } : {}),
        ...(req.body.paused ? { paused: true } : {}),
      });
      return reply.status(201).send(sch);
    },
  );
  app.get(
    '/api/v1/projects/:project/schedules/:view',
    { config: { role: 'viewer' }, schema: { tags: ['materializations'], params: S.ViewParams } },
    async (req) => describeSchedule(strataFor(req.params.project), req.params.view),
  );
  app.post(
    '/api/v1/projects/:project/schedules/:view/trigger',
    { config: { role: 'editor' }, schema: { tags: ['materializations'], params: S.ViewParams } },
    async (req) => {
      await triggerMaterializeSchedule(strataFor(req.params.project), req.params.view);
      return { triggered: req.params.view };
    },
  );
  app.delete(
    '/api/v1/projects/:project/schedules/:view',
    { config: { role: 'editor' }, schema: { tags: ['materializations'], params: S.ViewParams } },
    async (req) => {
      await deleteMaterializeSchedule(strataFor(req.params.project), req.params.view);
      return { deleted: req.params.view };
    },
  );

  // ---- training sets ----------------------------------------------------------------------------------------
  type HQuery = Static<typeof S.HistoricalQuery>;
  /** Entity rows (an uploaded file, or JSON columns) and the options, from either a query string or a JSON body. */
  async function historicalInput(req: FastifyRequest, q: HQuery) {
    const body = req.body;
    let path: string;
    let format: UploadFormat;
    let o: Record<string, unknown>;
    if (body instanceof Readable) {
      format = uploadFormat(req.headers['content-type'], q.entity_format);
      const declared = req.headers['content-length'] ? Number(req.headers['content-length']) : undefined;
      path = (await spoolUpload(body, uploadsDir, format, uploadLimit, declared)).path;
      o = {
        ...(q.features ? { features: list(q.features) } : {}),
        ...(q.feature_service ? { featureService: q.feature_service } : {}),
        ...(q.timestamp_column ? { timestampColumn: q.timestamp_column } : {}),
        ...(q.full_feature_names ? { fullFeatureNames: true } : {}),
        ...(q.as_of_commit !== undefined ? { asOfCommit: q.as_of_commit } : {}),
        ...(q.as_of ? { asOf: q.as_of } : {}),
        ...(q.drop_created_after_entity_time ? { dropCreatedAfterEntityTime: true } : {}),
      };
    } else {
      const j = body as Static<typeof S.HistoricalJson> | undefined;
      if (!j || typeof j !== 'object' || !j.entities || typeof j.entities !== 'object')
        throw invalidInput(
          'send the entity rows as a file body (CSV, Parquet, Arrow, JSON lines) or as JSON {"entities": {...}}',
          {
            details: { field: 'entities' },
          },
        );
      if ('entitySql' in (j as object))
        throw invalidInput('entity SQL is not accepted through the server', {
          details: { field: 'entitySql' },
          hint: 'upload the entity rows instead',
        });
      const cols = Object.entries(j.entities as Record<string, unknown[]>);
      const n = cols[0]?.[1].length ?? 0;
      if (!n || cols.some(([, v]) => !Array.isArray(v) || v.length !== n))
        throw invalidInput('"entities" must map column names to lists of the same, non-zero length', {
          details: { field: 'entities' },
        });
      const lines: string[] = [];
      for (let i = 0; i < n; i++) lines.push(JSON.stringify(Object.fromEntries(cols.map(([k, v]) => [k, v[i]]))));
      await mkdir(uploadsDir, { recursive: true });
      path = join(uploadsDir, `entities-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}.jsonl`);
      await writeFile(path, `${lines.join('\n')}\n`);
      format = 'jsonl';
      const { entities: _e, ...rest } = j;
      o = rest;
    }
    if (!o.features && !o.featureService) {
      await rm(path, { force: true });
      throw invalidInput('give features (view:feature references) or a feature service', { details: { field: 'features' } });
    }
    return { path, format, opts: o };
  }

  const historicalSchema = (summary: string, response: Record<number, unknown>) => ({
    tags: ['training sets'],
    summary,
    params: S.ProjectParams,
    querystring: S.HistoricalQuery,
    body: S.Open,
    response: { ...response, ...err },
  });

  app.post(
    '/api/v1/projects/:project/historical-features',
    {
      config: { role: 'viewer' },
      schema: historicalSchema(
        'a point-in-time-correct training set, streamed back as an Arrow IPC stream (synchronous; for big ones start a training set)',
        {},
      ),
    },
    async (req, reply) => {
      const s = strataFor(req.params.project);
      const input = await historicalInput(req, req.query);
      const entities = { path: input.path, format: input.format };
      const batches = s.streamHistoricalFeatures({ ...(input.opts as { features: string[] }), entities });
      reply.raw.once('close', () => {
        rm(input.path, { force: true }).catch(() => {});
      });
      try {
        return await sendArrow(reply, batches);
      } catch (e) {
        await rm(input.path, { force: true });
        throw e;
      }
    },
  );

  app.post(
    '/api/v1/projects/:project/training-sets',
    {
      config: { role: 'editor' },
      schema: historicalSchema('start a training-set workflow; the server keeps the output for download; 202 with the run', {
        202: S.TrainingAccepted,
      }),
    },
    async (req, reply) => {
      const s = strataFor(req.params.project);
      const input = await historicalInput(req, req.query);
      const format = req.query.format ?? 'parquet';
      if (!['parquet', 'arrow', 'csv', 'jsonl'].includes(format))
        throw invalidInput(`unknown output format '${format}'`, {
          details: { field: 'format' },
          hint: 'parquet, arrow, csv or jsonl',
        });
      try {
        const id = req.query.id ?? randomUUID();
        const run = await s.startTrainingSet({
          ...(input.opts as { features: string[] }),
          entities: { path: input.path, format: input.format },
          id,
          out: join(trainingDir, `${s.project}-${id}.${format}`),
          format,
          createdBy: by(req),
        });
        (reply as FastifyReply).status(202).header('Location', runLink(s.project, run.workflowId));
        return { run: accepted(s.project, run), id: run.id, entityRows: run.entityRows };
      } finally {
        await rm(input.path, { force: true });
      }
    },
  );

  async function trainingSetOf(project: string, id: string) {
    const s = strataFor(project);
    let ts: Awaited<ReturnType<Strata['trainingSet']>>;
    try {
      ts = await s.trainingSet(id);
    } catch (e) {
      if (e instanceof StrataError && e.code === 'UNKNOWN_OBJECT')
        throw new StrataError('UNKNOWN_OBJECT', `no training set '${id}' in project '${project}'`);
      throw e;
    }
    if (ts.project !== project) throw new StrataError('UNKNOWN_OBJECT', `no training set '${id}' in project '${project}'`);
    return ts;
  }
  const publicTrainingSet = (project: string, t: Awaited<ReturnType<Strata['trainingSet']>>) => {
    const { outputUri: _hidden, ...rest } = t;
    return { ...rest, download: t.status === 'done' ? `/api/v1/projects/${project}/training-sets/${t.id}/download` : null };
  };
  app.get(
    '/api/v1/projects/:project/training-sets',
    { config: { role: 'viewer' }, schema: { tags: ['training sets'], params: S.ProjectParams } },
    async (req) => ({
      trainingSets: (await strataFor(req.params.project).listTrainingSets()).map((t) => publicTrainingSet(req.params.project, t)),
    }),
  );
  app.get(
    '/api/v1/projects/:project/training-sets/:id',
    { config: { role: 'viewer' }, schema: { tags: ['training sets'], params: S.IngestionParams, response: { ...err } } },
    async (req) => publicTrainingSet(req.params.project, await trainingSetOf(req.params.project, req.params.id)),
  );
  app.get(
    '/api/v1/projects/:project/training-sets/:id/download',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['training sets'],
        summary: 'the built training set, streamed: as stored (parquet by default), or ?format=arrow as an Arrow IPC stream',
        params: S.IngestionParams,
        querystring: Type.Object({ format: Type.Optional(Type.String()) }),
        response: { 409: Type.Ref('Error'), ...err },
      },
    },
    async (req, reply) => {
      const ts = await trainingSetOf(req.params.project, req.params.id);
      if (ts.status !== 'done' || !ts.outputUri)
        throw new StrataError('CONFLICT', `training set '${ts.id}' is ${ts.status}, not done`, {
          hint: `follow its run: ${ts.workflowId ? runLink(req.params.project, ts.workflowId) : 'see the training set'}`,
        });
      const stored = (ts.outputFormat ?? ts.outputUri.split('.').pop() ?? 'parquet') as string;
      const want = req.query.format ?? stored;
      const types: Record<string, string> = {
        parquet: 'application/vnd.apache.parquet',
        arrow: 'application/vnd.apache.arrow.file',
        csv: 'text/csv',
        jsonl: 'application/x-ndjson',
      };
      const size = (await stat(ts.outputUri)).size;
      if (want === stored) {
        reply.type(types[stored] ?? 'application/octet-stream').header('Content-Length', size);
        reply.header('Content-Disposition', `attachment; filename="${ts.id}.${stored}"`);
        return reply.send(createReadStream(ts.outputUri));
      }
      if (want === 'arrow' && (stored === 'parquet' || stored === 'arrow')) {
        reply.type('application/vnd.apache.arrow.stream');
        return reply.send(Readable.from(arrowIpcStream(readArrowBatches(ts.outputUri, stored))));
      }
      throw invalidInput(`training set '${ts.id}' is stored as ${stored}; it can be downloaded as ${stored} or arrow`, {
        details: { field: 'format' },
        hint: 'start it with ?format=csv to get CSV',
      });
    },
  );

  // ---- runs -------------------------------------------------------------------------------------------------
  app.get(
    '/api/v1/projects/:project/runs/:workflowId',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['runs'],
        summary: 'a long operation: status, stage and progress (the workflow query), result or error',
        params: S.RunParams,
        response: { 200: Type.Ref('Run'), ...err },
      },
    },
    async (req) => {
      const info: RunInfo = await strataFor(req.params.project).getRun(req.params.workflowId);
      return { ...info, links: { self: runLink(req.params.project, info.workflowId) } };
    },
  );

  // ---- API keys and the audit log ---------------------------------------------------------------------------
  const adminProjects = (p: KeyPrincipal): string[] | undefined =>
    p.roles['*'] === 'admin'
      ? undefined
      : Object.entries(p.roles)
          .filter(([, r]) => r === 'admin')
          .map(([k]) => k);
  const canManage = (p: KeyPrincipal, roles: Record<string, Role>) => {
    const mine = adminProjects(p);
    return mine === undefined || Object.keys(roles).every((proj) => proj !== '*' && mine.includes(proj));
  };
  const publicKey = (k: { id: string; name: string; prefix: string; roles: Record<string, Role> }) => k;

  app.post(
    '/api/v1/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'create an API key (admin of every project it names); the key itself is in this response only',
        body: S.CreateKeyBody,
        response: { 201: Type.Intersect([Type.Ref('ApiKey'), Type.Object({ key: Type.String() })]), ...err },
      },
    },
    async (req, reply) => {
      const p = principal(req);
      if (!canManage(p, req.body.roles))
        throw new HttpError(403, 'FORBIDDEN', 'only an admin of every project named in roles can create this key', {
          projects: Object.keys(req.body.roles),
        });
      const created = await identity.createKey({ name: req.body.name, roles: req.body.roles, createdBy: p.name });
      return reply.status(201).send(created);
    },
  );
  app.get(
    '/api/v1/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'API keys (never the keys themselves) that the caller administers',
        querystring: Type.Object({ include_revoked: Type.Optional(Type.Boolean()) }),
        response: { 200: Type.Object({ keys: Type.Array(Type.Ref('ApiKey')) }), ...err },
      },
    },
    async (req) => {
      const p = principal(req);
      const mine = adminProjects(p);
      if (mine !== undefined && !mine.length) throw new HttpError(403, 'FORBIDDEN', 'listing keys needs an admin role');
      const keys = await identity.listKeys({ includeRevoked: req.query.include_revoked ?? false });
      return {
        keys: keys.filter((k) => mine === undefined || Object.keys(k.roles).some((x) => mine.includes(x))).map(publicKey),
      };
    },
  );
  app.delete(
    '/api/v1/keys/:id',
    {
      schema: {
        tags: ['keys'],
        summary: 'revoke an API key',
        params: Type.Object({ id: Type.String({ minLength: 1 }) }),
        response: { 200: Type.Ref('ApiKey'), ...err },
      },
    },
    async (req) => {
      const p = principal(req);
      const k = await identity.getKey(req.params.id);
      if (!k) throw new StrataError('UNKNOWN_OBJECT', `no API key with id '${req.params.id}'`);
      if (!canManage(p, k.roles))
        throw new HttpError(403, 'FORBIDDEN', 'only an admin of every project of this key can revoke it');
      return identity.revokeKey(k.id);
    },
  );
  app.get(
    '/api/v1/audit',
    {
      schema: {
        tags: ['keys'],
        summary: 'the audit log of writes (who, what, when, outcome), newest first; admins see their projects',
        querystring: Type.Object({
          project: Type.Optional(S.Name),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          before: Type.Optional(Type.Integer({ minimum: 1 })),
        }),
        response: { 200: Type.Object({ entries: Type.Array(S.AuditEntry) }), ...err },
      },
    },
    async (req) => {
      const p = principal(req);
      const mine = adminProjects(p);
      if (mine !== undefined && !mine.length) throw new HttpError(403, 'FORBIDDEN', 'the audit log needs an admin role');
      if (req.query.project && mine !== undefined && !mine.includes(req.query.project))
        throw new HttpError(403, 'FORBIDDEN', `this API key is not admin of project '${req.query.project}'`);
      const projects = req.query.project ? [req.query.project] : mine;
      return {
        entries: await identity.listAudit({
          ...(projects ? { projects } : {}),
          ...(req.query.limit ? { limit: req.query.limit } : {}),
          ...(req.query.before ? { beforeId: req.query.before } : {}),
        }),
      };
    },
  );

  return app;
}

/** An ingestion as the API shows it (the staging table's name is internal). */
function publicIngestion(i: Awaited<ReturnType<Strata['listIngestions']>>[number]) {
  const { stagingTable: _s, report, statistics, drift, ...rest } = i;
  return { ...rest, hasReport: report !== null, hasStatistics: statistics !== null, hasDrift: drift !== null };
}
