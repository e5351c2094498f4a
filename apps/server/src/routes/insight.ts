/**
 * What the console shows, as public API (docs/console-api.md): the console's start-up config, a view's statistics
 * series and materialization state, explain a value, the lineage graph, online lookups and registry search. Reads
 * only: the viewer role on the project (search: the projects the caller can see).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { invalidInput } from '@strata/core';
import { parseEntityArgs, searchRegistry } from '@strata/sdk';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import * as S from '../schemas.js';
import type { RouteContext } from './context.js';

const err = { 400: Type.Ref('Error'), 401: Type.Ref('Error'), 403: Type.Ref('Error'), 404: Type.Ref('Error') };

const names = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function registerInsightRoutes(server: FastifyInstance, ctx: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/api/v1/config',
    {
      schema: {
        tags: ['service'],
        summary: 'what a console needs to start: the caller and its roles, the projects it sees, the Temporal Web UI',
        response: { 200: S.ConsoleConfig, 401: Type.Ref('Error') },
      },
    },
    async (req) => {
      const p = ctx.principal(req);
      const t = ctx.strata.config.temporal;
      return {
        caller: { id: p.id, name: p.name, roles: p.roles, anonymous: p.anonymous ?? false },
        temporal: { uiUrl: t.uiUrl, namespace: t.namespace },
        projects: await ctx.visibleProjects(p),
      };
    },
  );

  app.get(
    '/api/v1/projects/:project/feature-views/:view/statistics',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['ingestions'],
        summary: "a view's statistics and drift per ingestion, oldest first (trend charts)",
        params: S.ViewParams,
        querystring: S.SeriesQuery,
        response: { 200: S.StatisticsSeries, ...err },
      },
    },
    async (req) => {
      const features = names(req.query.features);
      return ctx.strataFor(req.params.project).statisticsSeries(req.params.view, {
        ...(features.length ? { features } : {}),
        ...(req.query.limit ? { limit: req.query.limit } : {}),
      });
    },
  );

  app.get(
    '/api/v1/projects/:project/feature-views/:view/materialization',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['materializations'],
        summary: "a view's watermark, commits behind, freshness, recent materialization runs and schedule",
        params: S.ViewParams,
        querystring: S.MaterializationQuery,
        response: { 200: S.MaterializationState, ...err },
      },
    },
    async (req) =>
      ctx.strataFor(req.params.project).materializationState(req.params.view, req.query.runs ? { runs: req.query.runs } : {}),
  );

  app.get(
    '/api/v1/projects/:project/feature-views/:view/explain',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['time travel'],
        summary:
          "where an entity's value came from: online value, offline rows, the commit, ingestion, validation report and materialization run behind it",
        params: S.ViewParams,
        querystring: S.ExplainQuery,
        response: { 200: S.Explanation, ...err },
      },
    },
    async (req) => {
      const q = req.query;
      const pairs = Array.isArray(q.entity) ? q.entity : [q.entity];
      return ctx.strataFor(req.params.project).explain(req.params.view, {
        entity: parseEntityArgs(pairs),
        ...(q.feature ? { feature: q.feature } : {}),
        ...(q.limit ? { limit: q.limit } : {}),
      });
    },
  );

  app.get(
    '/api/v1/projects/:project/lineage',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['registry'],
        summary: 'sources -> ingestions -> views -> services and the online store; training sets and the commits they read',
        params: S.ProjectParams,
        querystring: S.LineageQuery,
        response: { 200: S.Lineage, ...err },
      },
    },
    async (req) =>
      ctx.strataFor(req.params.project).lineage({
        ...(req.query.ingestions !== undefined ? { ingestions: req.query.ingestions } : {}),
        ...(req.query.training_sets !== undefined ? { trainingSets: req.query.training_sets } : {}),
      }),
  );

  app.post(
    '/api/v1/projects/:project/online-features',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['online'],
        summary:
          "online features in Feast's get-online-features shape, read through the online store as the serving app does (for hot paths use the serving app)",
        params: S.ProjectParams,
        body: S.OnlineFeaturesBody,
        response: { 200: S.OnlineFeaturesResponse, ...err },
      },
    },
    async (req) => {
      const b = req.body;
      if (!b.features?.length && !b.feature_service)
        throw invalidInput('give features (view:feature references) or a feature_service', { details: { field: 'features' } });
      if (b.features?.length && b.feature_service)
        throw invalidInput('give features or a feature_service, not both', { details: { field: 'features' } });
      return ctx.strataFor(req.params.project).getOnlineFeatures({
        ...(b.features?.length ? { features: b.features } : { featureService: b.feature_service as string }),
        entities: b.entities,
        ...(b.full_feature_names ? { fullFeatureNames: true } : {}),
      });
    },
  );

  app.get(
    '/api/v1/search',
    {
      schema: {
        tags: ['registry'],
        summary: 'entities, views, services and features of the projects the caller can see, by name, tag, owner, value type',
        querystring: S.SearchQuery,
        response: { 200: S.SearchResults, 400: Type.Ref('Error'), 401: Type.Ref('Error') },
      },
    },
    async (req) => {
      const projects = (await ctx.visibleProjects(ctx.principal(req))).filter((p) => p.role !== null).map((p) => p.name);
      return searchRegistry(ctx.strata, projects, req.query);
    },
  );
}
