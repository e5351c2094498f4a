/** History of materialization runs (the registry's materializations table): rows, durations, status. */
import { qualified } from '@strata/offline-postgres';
import type { Strata } from './client.js';
import { temporalRunUrl } from './links.js';
import { describeSchedule, type MaterializeSchedule } from './schedules.js';
import { StrataError } from '@strata/core';

export interface MaterializationRun {
  id: number;
  view: string;
  version: number;
  mode: string;
  status: string;
  fromSeq: number | null;
  toSeq: number | null;
  windowStart: Date | null;
  windowEnd: Date | null;
  rowsWritten: number;
  rowsSkipped: number;
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  rowsPerSecond: number | null;
  workflowId: string | null;
}

export async function materializationHistory(strata: Strata, view?: string, limit = 50): Promise<MaterializationRun[]> {
  const { rows } = await strata.pool.query(
    `SELECT * FROM ${qualified(strata.registry.schema, 'materializations')}
     WHERE project = $1 AND ($2::text IS NULL OR view = $2) ORDER BY id DESC LIMIT $3`,
    [strata.project, view ?? null, limit],
  );
  return rows.map((r) => {
    const started = r.started_at as Date;
    const finished = (r.finished_at as Date | null) ?? null;
    const durationMs = finished ? finished.getTime() - started.getTime() : null;
    const written = Number(r.rows_written);
    const skipped = Number(r.rows_skipped);
    return {
      id: Number(r.id),
      view: r.view,
      version: r.version,
      mode: r.mode,
      status: r.status,
      fromSeq: r.from_seq === null ? null : Number(r.from_seq),
      toSeq: r.to_seq === null ? null : Number(r.to_seq),
      windowStart: r.window_start ?? null,
      windowEnd: r.window_end ?? null,
      rowsWritten: written,
      rowsSkipped: skipped,
      startedAt: started,
      finishedAt: finished,
      durationMs,
      rowsPerSecond: durationMs ? Math.round(((written + skipped) * 1000) / durationMs) : null,
      workflowId: r.workflow_id ?? null,
    };
  });
}

/** Where a view's materialization stands: its watermark, how far behind the offline store it is, recent runs. */
export interface MaterializationState {
  view: string;
  online: boolean;
  /** The last commit materialized (0 before the first run) and when the watermark last moved. */
  watermark: { commitId: number; updatedAt: Date | null };
  latestCommitId: number;
  commitsBehind: number;
  /**
   * The newest event time among the commits up to the watermark: the registry's record of what was materialized
   * (the online store itself keeps no per-view maximum).
   */
  materializedEventTime: Date | null;
  /** Now minus materializedEventTime, in seconds (null before anything was materialized). */
  freshnessSeconds: number | null;
  freshnessBasis: string;
  /** The commit recorded by the online store's own marker for the view (undefined: none, e.g. the store lost it). */
  onlineMarker: number | null;
  runs: (MaterializationRun & { url: string | null })[];
  /** The view's materialization schedule, null without one. */
  schedule: MaterializeSchedule | null;
}

export async function materializationState(
  strata: Strata,
  view: string,
  opts: { runs?: number; now?: Date } = {},
): Promise<MaterializationState> {
  const vv = await strata.getView(view);
  const t = (name: string) => qualified(strata.registry.schema, name);
  const [wm, latest, runs, markers, schedule] = await Promise.all([
    strata.pool.query(
      `SELECT w.commit_seq, w.updated_at,
         (SELECT max(i.max_event_time) FROM ${t('ingestions')} i
           WHERE i.project = w.project AND i.view = w.view AND i.commit_seq <= w.commit_seq) AS max_event
       FROM ${t('watermarks')} w WHERE w.project = $1 AND w.view = $2`,
      [strata.project, view],
    ),
    strata.offline.maxCommitSeq(strata.project, view),
    materializationHistory(strata, view, opts.runs ?? 10),
    vv.spec.online
      ? strata.online.readMarkers(strata.project, [view]).catch(() => new Map<string, number | undefined>())
      : Promise.resolve(new Map<string, number | undefined>()),
    describeSchedule(strata, view).catch((e) => {
      if (StrataError.is(e, 'UNKNOWN_OBJECT')) return null;
      throw e;
    }),
  ]);
  const w = wm.rows[0];
  const commitId = w ? Number(w.commit_seq) : 0;
  const maxEvent: Date | null = w?.max_event ?? null;
  const now = opts.now ?? new Date();
  return {
    view,
    online: vv.spec.online ?? false,
    watermark: { commitId, updatedAt: w?.updated_at ?? null },
    latestCommitId: latest,
    commitsBehind: Math.max(0, latest - commitId),
    materializedEventTime: maxEvent,
    freshnessSeconds: maxEvent ? (now.getTime() - maxEvent.getTime()) / 1000 : null,
    freshnessBasis:
      'now minus the newest event time of the commits up to the watermark (the registry record of what was materialized)',
    onlineMarker: markers.get(view) ?? null,
    runs: runs.map((r) => ({ ...r, url: r.workflowId ? temporalRunUrl(strata.config.temporal, r.workflowId) : null })),
    schedule,
  };
}
