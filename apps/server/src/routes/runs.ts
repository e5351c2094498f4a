/**
 * A project's long runs: the recent ones (Temporal visibility), one run's steps with their timings (its history),
 * and one run live as server-sent events (its status and `progress` query, polled server-side, until it closes).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { RunInfo } from '@strata/sdk';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { redactSecrets } from '../redact.js';
import * as S from '../schemas.js';
import type { RouteContext } from './context.js';

const err = { 400: Type.Ref('Error'), 401: Type.Ref('Error'), 403: Type.Ref('Error'), 404: Type.Ref('Error') };

/** The SSE route, the only one that also takes the API key as ?key= (EventSource cannot send headers). */
export const RUN_EVENTS_ROUTE = '/api/v1/projects/:project/runs/:workflowId/events';

export interface RunEventsOptions {
  /** How often the run is polled (ms). Default 500. */
  pollMs?: number;
  /** How often a comment line keeps the connection open (ms). Default 15 s. */
  pingMs?: number;
  /** Told when a stream ends: the run closed, or the client went away first. */
  onStreamEnd?: (workflowId: string, why: 'run-closed' | 'client-left') => void;
}

export function registerRunRoutes(server: FastifyInstance, ctx: RouteContext, opts: RunEventsOptions = {}): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const pollMs = opts.pollMs ?? 500;
  const pingMs = opts.pingMs ?? 15_000;
  const links = (project: string, workflowId: string) => {
    const self = ctx.runLink(project, workflowId);
    return { self, events: `${self}/events`, steps: `${self}/steps` };
  };

  app.get(
    '/api/v1/projects/:project/runs',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['runs'],
        summary: 'recent ingest, materialize, training-set and pipeline runs, newest first (Temporal visibility)',
        params: S.ProjectParams,
        querystring: S.RunsQuery,
        response: { 200: Type.Object({ runs: Type.Array(S.RunSummary) }), ...err },
      },
    },
    async (req) => {
      const runs = await ctx.strataFor(req.params.project).listRuns(req.query);
      return { runs: runs.map((r) => ({ ...r, links: links(req.params.project, r.workflowId) })) };
    },
  );

  app.get(
    '/api/v1/projects/:project/runs/:workflowId/steps',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['runs'],
        summary: "a run's activities and child workflows with their timings (from its history)",
        params: S.RunParams,
        response: { 200: S.RunSteps, ...err },
      },
    },
    async (req) => ({
      workflowId: req.params.workflowId,
      steps: await ctx.strataFor(req.params.project).runSteps(req.params.workflowId),
    }),
  );

  app.get(
    RUN_EVENTS_ROUTE,
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['runs'],
        summary:
          'a run live, as server-sent events: `run` (the run as GET /runs/{workflowId}) on every change, `end` when it closes; ?key= is accepted here for EventSource',
        params: S.RunParams,
        querystring: Type.Object({ key: Type.Optional(Type.String({ description: 'the API key (EventSource only)' })) }),
        response: { 200: { content: { 'text/event-stream': { schema: Type.String() } } }, ...err },
      },
    },
    async (req, reply) => {
      const s = ctx.strataFor(req.params.project);
      const project = req.params.project;
      const view = (info: RunInfo) => ({ ...info, links: { self: ctx.runLink(project, info.workflowId) } });
      let info = await s.getRun(req.params.workflowId); // 404 as JSON, before the stream starts
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      let open = true;
      res.on('close', () => {
        open = false;
      });
      const send = (event: string, data: unknown) => {
        if (open) res.write(`event: ${event}\ndata: ${redactSecrets(JSON.stringify(data))}\n\n`);
      };
      const ping = setInterval(() => {
        if (open) res.write(': ping\n\n');
      }, pingMs);
      ping.unref();
      try {
        const state = (i: RunInfo) => JSON.stringify([i.status, i.progress]);
        let last = state(info);
        send('run', view(info));
        while (open && info.status === 'RUNNING') {
          await new Promise((r) => setTimeout(r, pollMs));
          if (!open) break;
          try {
            info = await s.getRun(req.params.workflowId);
          } catch (e) {
            send('error', { error: { code: 'UNAVAILABLE', message: (e as Error).message, details: {} } });
            continue;
          }
          const now = state(info);
          if (now !== last && info.status === 'RUNNING') send('run', view(info));
          last = now;
        }
        if (open) send('end', view(info));
      } finally {
        clearInterval(ping);
        opts.onStreamEnd?.(info.workflowId, open ? 'run-closed' : 'client-left');
        if (open) res.end();
      }
    },
  );
}
