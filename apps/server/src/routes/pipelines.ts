/**
 * Feature pipelines over the control plane: the SDK's runPipeline, backfill, pipelineStatus and the pipeline
 * schedule calls (create/replace, describe, pause, resume, trigger, delete), for the remote CLI and SDK and the
 * console. Reads need viewer, everything that starts or changes a run or a schedule needs editor.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  backfill,
  createPipelineSchedule,
  deletePipelineSchedule,
  describePipelineSchedule,
  pausePipelineSchedule,
  pipelineStatus,
  resumePipelineSchedule,
  runPipeline,
  type Strata,
  triggerPipelineSchedule,
} from '@strata/sdk';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import { type TSchema, Type } from 'typebox';

type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface PipelineRouteDeps {
  strataFor: (project: string) => Strata;
  accepted: (project: string, run: { workflowId: string; url: string }) => unknown;
  runLink: (project: string, workflowId: string) => string;
  err: Record<number, TSchema>;
}

/** A Date in the handler, an ISO 8601 string on the wire. */
const DateTime = Type.Unsafe<Date>({ type: 'string', format: 'date-time' });

const Params = Type.Object({ project: Type.String(), view: Type.String() });

const Schedule = Type.Object({
  scheduleId: Type.String(),
  view: Type.String(),
  every: Type.Optional(Type.String()),
  cron: Type.Optional(Type.String()),
  catchupWindow: Type.String(),
  paused: Type.Boolean(),
  nextRuns: Type.Array(DateTime),
  recentRuns: Type.Array(Type.Object({ workflowId: Type.String(), startedAt: DateTime })),
});

const Window = Type.Object({
  start: DateTime,
  end: DateTime,
  status: Type.String({ description: 'running | committed | empty | failed' }),
  rows: Type.Number(),
  commitSeq: Type.Union([Type.Number(), Type.Null()]),
  ingestionId: Type.String(),
  codeHash: Type.String({ description: 'sha256 of the source and transformation that made the window' }),
  workflowId: Type.Union([Type.String(), Type.Null()]),
  error: Type.Unknown(),
});

const Status = Type.Object({
  view: Type.String(),
  version: Type.Number(),
  codeHash: Type.String(),
  watermark: Type.Union([DateTime, Type.Null()]),
  windows: Type.Array(Window),
  schedule: Type.Union([Schedule, Type.Null()]),
});

const Accepted = Type.Object({ run: Type.Ref('Run') });

const BackfillBody = Type.Object({
  start: Type.String({ description: 'start of the first window (ISO 8601)' }),
  end: Type.String({ description: 'end (exclusive) of the last window (ISO 8601)' }),
  every: Type.Optional(Type.String({ description: "window length (default: the view's pipeline.window), e.g. 1d, 1mo" })),
  parallel: Type.Optional(Type.Integer({ minimum: 1, maximum: 64, description: 'windows at a time (default 4)' })),
});

const ScheduleBody = Type.Object({
  every: Type.Optional(Type.String({ description: 'an interval (15m, 1h, 1d); or give cron' })),
  cron: Type.Optional(Type.String({ description: 'a cron expression (five fields); or give every' })),
  catchupWindow: Type.Optional(Type.String({ description: 'how far back missed runs are caught up after downtime' })),
  paused: Type.Optional(Type.Boolean()),
});

export function registerPipelineRoutes(app: App, deps: PipelineRouteDeps): void {
  const { strataFor, accepted, runLink, err } = deps;
  const base = '/api/v1/projects/:project/pipelines/:view';

  app.get(
    base,
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['pipelines'],
        summary: "a pipeline's watermark, code hash, recent windows (status, rows, commit) and schedule",
        params: Params,
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }),
        response: { 200: Status, ...err },
      },
    },
    async (req) => pipelineStatus(strataFor(req.params.project), req.params.view, { limit: req.query.limit ?? 20 }),
  );

  app.post(
    `${base}/runs`,
    {
      config: { role: 'editor' },
      schema: {
        tags: ['pipelines'],
        summary: 'run the pipeline now: every complete window after its watermark, in order; 202 with the run',
        params: Params,
        response: { 202: Accepted, ...err },
      },
    },
    async (req, reply) => {
      const s = strataFor(req.params.project);
      const run = await runPipeline(s, req.params.view);
      reply.status(202).header('Location', runLink(s.project, run.workflowId));
      return { run: accepted(s.project, run) };
    },
  );

  app.post(
    `${base}/backfills`,
    {
      config: { role: 'editor' },
      schema: {
        tags: ['pipelines'],
        summary: 'compute the windows of [start, end), one child workflow each (resumable); 202 with the run',
        params: Params,
        body: BackfillBody,
        response: { 202: Accepted, ...err },
      },
    },
    async (req, reply) => {
      const s = strataFor(req.params.project);
      const run = await backfill(s, req.params.view, {
        start: req.body.start,
        end: req.body.end,
        ...(req.body.every ? { every: req.body.every } : {}),
        ...(req.body.parallel ? { parallel: req.body.parallel } : {}),
      });
      reply.status(202).header('Location', runLink(s.project, run.workflowId));
      return { run: accepted(s.project, run) };
    },
  );

  app.put(
    `${base}/schedule`,
    {
      config: { role: 'editor' },
      schema: {
        tags: ['pipelines'],
        summary: 'create or replace the Temporal Schedule that runs the pipeline (overlapping runs are skipped)',
        params: Params,
        body: ScheduleBody,
        response: { 200: Schedule, ...err },
      },
    },
    async (req) =>
      createPipelineSchedule(strataFor(req.params.project), req.params.view, {
        ...(req.body.every ? { every: req.body.every } : {}),
        ...(req.body.cron ? { cron: req.body.cron } : {}),
        ...(req.body.catchupWindow ? { catchupWindow: req.body.catchupWindow } : {}),
        ...(req.body.paused ? { paused: true } : {}),
        replace: true,
      }),
  );

  app.get(
    `${base}/schedule`,
    {
      config: { role: 'viewer' },
      schema: { tags: ['pipelines'], summary: "the pipeline's schedule", params: Params, response: { 200: Schedule, ...err } },
    },
    async (req) => describePipelineSchedule(strataFor(req.params.project), req.params.view),
  );

  const action = (
    path: string,
    summary: string,
    fn: (s: Strata, view: string, body: { allowOverlap?: boolean }) => Promise<void>,
    method: 'POST' | 'DELETE' = 'POST',
  ) =>
    app.route({
      method,
      url: `${base}/schedule${path}`,
      config: { role: 'editor' },
      schema: {
        tags: ['pipelines'],
        summary,
        params: Params,
        ...(method === 'POST' ? { body: Type.Optional(Type.Object({ allowOverlap: Type.Optional(Type.Boolean()) })) } : {}),
        response: { 200: Type.Object({ view: Type.String(), done: Type.String() }), ...err },
      },
      handler: async (req) => {
        const { project, view } = req.params as { project: string; view: string };
        await fn(strataFor(project), view, (req.body ?? {}) as { allowOverlap?: boolean });
        return { view, done: summary.split(' ')[0] as string };
      },
    });
  action('/pause', 'paused: no runs start until it is resumed', (s, v) => pausePipelineSchedule(s, v, 'paused from the API'));
  action('/resume', 'resumed: runs start on the schedule again', (s, v) => resumePipelineSchedule(s, v, 'resumed from the API'));
  action('/trigger', 'triggered: one run now (skipped while another runs, unless allowOverlap)', (s, v, b) =>
    triggerPipelineSchedule(s, v, b.allowOverlap ? { allowOverlap: true } : {}),
  );
  action('', 'deleted: the schedule is gone (committed windows stay)', (s, v) => deletePipelineSchedule(s, v), 'DELETE');
}
