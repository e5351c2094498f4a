/**
 * Activities: all I/O of the workflows. Strata errors become Temporal ApplicationFailures whose type is the error
 * code and whose retryability is the code's, so bad input fails at once and transient faults retry with backoff.
 */
import { type FeatureViewSpec, StrataError } from '@strata/core';
import {
  type CommitResult,
  finishMaterializationRun,
  type JanitorReport,
  type OfflineStore,
  type PgRegistry,
  startMaterializationRun,
  type ViewVersion,
} from '@strata/offline-postgres';
import type { OnlineStore, OnlineWriteRow } from '@strata/online-store';
import { Context } from '@temporalio/activity';
import type { MaterializeInput, MaterializePlan, MaterializeProgress, MaterializeResult, ValidationSummary } from './shared.js';
import { wrap } from './failure.js';
import { partitionCount } from './partitioned.js';
import { validateStaged } from './validate.js';

export interface ActivityDeps {
  registry: PgRegistry;
  offline: OfflineStore;
  online: OnlineStore;
}

export function rowToOnline(vv: ViewVersion, row: Record<string, unknown>): OnlineWriteRow {
  const spec: FeatureViewSpec = vv.spec;
  const entityKey: Record<string, unknown> = {};
  for (const k of vv.joinKeys) entityKey[k.name] = row[k.name];
  const values: Record<string, unknown> = {};
  for (const f of spec.features) values[f.name] = row[f.name] ?? null;
  return {
    entityKey,
    eventTime: row[spec.timestampField] as Date,
    ...(spec.createdTimestampField && row[spec.createdTimestampField]
      ? { createdTime: row[spec.createdTimestampField] as Date }
      : {}),
    values,
  };
}

/** A URL as it may be shown: scheme and host only (paths, queries and user info often hold tokens). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' && !u.search ? '' : '/***'}`;
  } catch {
    return '***';
  }
}

function redactText(text: string, url: string): string {
  return text.split(url).join(redactUrl(url));
}

/** Redis write pipelines in flight per materialization activity. */
const WRITE_CONCURRENCY = 4;

export function createActivities(deps: ActivityDeps) {
  const { registry, offline, online } = deps;
  return {
    checkStagedIngestion: wrap(async (ingestionId: string) => {
      const { ingestion } = await offline.checkStaged(ingestionId);
      return {
        rows: ingestion.rowCount,
        alreadyCommitted: ingestion.status === 'committed',
        commitSeq: ingestion.commitSeq,
      };
    }),

    validateStagedIngestion: wrap(
      async (ingestionId: string, policyOverride?: 'NONE' | 'ALWAYS' | 'STRICT'): Promise<ValidationSummary> => {
        if (policyOverride !== undefined && !['NONE', 'ALWAYS', 'STRICT'].includes(policyOverride)) {
          throw new StrataError('INVALID_INPUT', `validation policy '${String(policyOverride)}' is not valid`, {
            hint: 'use one of NONE, ALWAYS, STRICT',
          });
        }
        const { ingestion, view } = await offline.checkStaged(ingestionId);
        const summary = await validateStaged(offline, ingestion.id, view, policyOverride, () => Context.current().heartbeat());
        if (!summary.success && summary.policy === 'STRICT') {
          await offline.quarantine(ingestionId, summary.report, summary.statistics);
        } else {
          await offline.recordReport(ingestionId, { report: summary.report, statistics: summary.statistics });
        }
        if (summary.driftReport) await offline.recordReport(ingestionId, { drift: summary.driftReport });
        const { report: _r, statistics: _s, driftReport: _d, ...rest } = summary;
        const webhook = view.spec.monitoring?.alertWebhook;
        const alarming = (summary.validated && !summary.success) || summary.drift?.drifted;
        // The URL often carries a token: results and workflow history only ever hold its redacted form.
        return webhook && alarming ? { ...rest, alerted: redactUrl(webhook) } : rest;
      },
    ),

    /**
     * Posts an alert (failed validation or drift) as JSON to the webhook of the ingestion's view. The URL is read
     * here from the registry, so it never rides in activity arguments or results; errors name it redacted.
     */
    sendAlert: wrap(async (ingestionId: string, payload: Record<string, unknown>) => {
      const ing = await offline.getIngestion(ingestionId);
      if (!ing) throw new StrataError('INVALID_INPUT', `ingestion '${ingestionId}' does not exist`);
      const view = await registry.getView(ing.project, ing.view, ing.version);
      const url = view.spec.monitoring?.alertWebhook;
      if (!url) return { status: 0, skipped: true };
      const shown = `alert webhook ${redactUrl(url)} of view '${view.name}'`;
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ source: 'strata', ...payload }),
          signal: AbortSignal.timeout(10_000),
        });
      } catch (err) {
        const reason = redactText((err as Error & { cause?: Error }).cause?.message ?? (err as Error).message, url);
        throw new StrataError('UNAVAILABLE', `${shown} is unreachable: ${reason}`);
      }
      if (!res.ok) throw new StrataError('UNAVAILABLE', `${shown} answered HTTP ${res.status}`);
      return { status: res.status };
    }),

    /** Commits in one transaction, heartbeating while it runs so a killed worker's commit is retried within seconds. */
    commitIngestion: wrap(async (ingestionId: string, workflowId?: string): Promise<CommitResult> => {
      const ctx = Context.current();
      ctx.heartbeat();
      const beat = setInterval(() => ctx.heartbeat(), 3_000);
      try {
        return await offline.commit(ingestionId, workflowId ? { workflowId } : {});
      } finally {
        clearInterval(beat);
      }
    }),

    /** The janitor's sweep (see OfflineStore.cleanAbandoned). */
    cleanAbandonedStaging: wrap(async (maxStagingAgeSeconds: number): Promise<JanitorReport> => {
      return offline.cleanAbandoned(maxStagingAgeSeconds);
    }),

    abandonIngestion: wrap(async (ingestionId: string, error: unknown) => {
      return offline.abandon(ingestionId, error);
    }),

    planMaterialization: wrap(async (input: MaterializeInput): Promise<MaterializePlan> => {
      const vv = await registry.getView(input.project, input.view);
      if (!vv.spec.online) {
        throw new StrataError('INVALID_INPUT', `feature view '${vv.name}' is not online`, {
          hint: 'set online: true and apply before materializing',
        });
      }
      let fromSeq = input.mode === 'incremental' ? await offline.getWatermark(input.project, input.view) : 0;
      // A watermark without its marker in Redis: the online store lost its data (a restart without persistence, a
      // flush). Refill the view in full instead of writing only what came after the watermark.
      let refill = false;
      if (fromSeq > 0) {
        const marker = (await online.readMarkers(input.project, [input.view])).get(input.view);
        if (marker === undefined) {
          refill = true;
          fromSeq = 0;
        }
      }
      const toSeq = input.toSeq ?? (await offline.maxCommitSeq(input.project, input.view));
      const rowsToRead =
        input.mode === 'incremental'
          ? await offline.committedRows(input.project, input.view, fromSeq, toSeq)
          : await offline.committedRows(input.project, input.view, 0, toSeq);
      const partitions = partitionCount(rowsToRead, input.partitions);
      const runId = await startMaterializationRun(registry, {
        project: input.project,
        view: input.view,
        version: vv.version,
        mode: input.mode,
        start: input.start ?? null,
        end: input.end ?? null,
        fromSeq,
        toSeq,
        workflowId: Context.current().info.workflowExecution?.workflowId ?? null,
      });
      return {
        project: input.project,
        view: input.view,
        version: vv.version,
        mode: input.mode,
        fromSeq,
        toSeq,
        ...(input.start ? { start: input.start } : {}),
        ...(input.end ? { end: input.end } : {}),
        runId,
        batchSize: input.batchSize ?? 2000,
        partitions,
        ...(refill ? { refill: true } : {}),
      };
    }),

    /** Streams the latest row per entity to Redis page by page, heartbeating its key cursor; resumes from it after a crash. */
    materializeRange: wrap(async (plan: MaterializePlan): Promise<MaterializeProgress> => {
      const ctx = Context.current();
      const vv = await registry.getView(plan.project, plan.view, plan.version);
      const resumed = ctx.info.heartbeatDetails as MaterializeProgress | undefined;
      const state: MaterializeProgress = resumed
        ? { ...resumed, starts: [...(resumed.starts ?? [])] }
        : { cursor: null, written: 0, skipped: 0, pages: 0, starts: [] };
      const start = { attempt: ctx.info.attempt, cursor: state.cursor, written: state.written, skipped: state.skipped };
      state.starts?.push(start);
      if (resumed) ctx.log.info('materializeRange resumes from its heartbeated cursor', { ...start });
      if (plan.fromSeq >= plan.toSeq && plan.mode === 'incremental') return state;
      const ref = { project: plan.project, view: vv.spec, joinKeys: vv.joinKeys };
      const fetchPage = (cursor: unknown[] | null) =>
        offline.latestPage(vv, {
          ...(plan.mode === 'incremental' ? { fromSeq: plan.fromSeq } : {}),
          toSeq: plan.toSeq,
          ...(plan.start ? { start: new Date(plan.start) } : {}),
          ...(plan.end ? { end: new Date(plan.end) } : {}),
          cursor,
          limit: plan.batchSize,
          ...(plan.partition ? { partition: plan.partition } : {}),
        });
      // The next page is read from Postgres while the current one is written to Redis; the heartbeated cursor only
      // moves past a page once it is written, so a resumed attempt never skips a row.
      let pending = fetchPage(state.cursor);
      for (;;) {
        const page = await pending;
        if (page.cursor) {
          pending = fetchPage(page.cursor);
          pending.catch(() => {});
        }
        if (page.rows.length) {
          // Each entity occurs once per page, so chunks of a page can be written concurrently (more pipelines in flight).
          const rows = page.rows.map((r) => rowToOnline(vv, r));
          const chunk = Math.ceil(rows.length / WRITE_CONCURRENCY);
          const results = await Promise.all(
            Array.from({ length: Math.ceil(rows.length / chunk) }, (_, c) =>
              online.writeRows(ref, rows.slice(c * chunk, (c + 1) * chunk)),
            ),
          );
          for (const res of results) {
            state.written += res.written;
            state.skipped += res.skippedOlder;
          }
        }
        state.pages += 1;
        state.cursor = page.cursor;
        ctx.heartbeat(state);
        if (!page.cursor) return state;
      }
    }),

    finishMaterialization: wrap(async (plan: MaterializePlan, progress: MaterializeProgress): Promise<MaterializeResult> => {
      if (plan.mode === 'incremental') {
        // Marker first, then the watermark: a watermark is never ahead of a marker that says the data is there.
        await online.writeMarker(plan.project, plan.view, plan.toSeq);
        await offline.setWatermark(plan.project, plan.view, plan.toSeq);
      }
      await finishMaterializationRun(registry, plan.runId, progress.written, progress.skipped);
      return {
        partitions: plan.partitions,
        project: plan.project,
        view: plan.view,
        version: plan.version,
        fromSeq: plan.fromSeq,
        toSeq: plan.toSeq,
        rowsWritten: progress.written,
        rowsSkippedOlder: progress.skipped,
        runId: plan.runId,
        ...(plan.refill ? { refill: true } : {}),
      };
    }),
  };
}
