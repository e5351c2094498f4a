/** History of materialization runs (the registry's materializations table): rows, durations, status. */
import { type MaterializationRun, materializationRuns, watermarkRecord } from '@strata/offline-postgres';
import type { Strata } from './client.js';
import { temporalRunUrl } from './links.js';
import { describeSchedule, type MaterializeSchedule } from './schedules.js';
import { StrataError } from '@strata/core';

export type { MaterializationRun };

export function materializationHistory(strata: Strata, view?: string, limit = 50): Promise<MaterializationRun[]> {
  return materializationRuns(strata.registry, strata.project, view, limit);
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
  const [wm, latest, runs, markers, schedule] = await Promise.all([
    watermarkRecord(strata.registry, strata.project, view),
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
  const commitId = wm.commitSeq;
  const maxEvent = wm.materializedEventTime;
  const now = opts.now ?? new Date();
  return {
    view,
    online: vv.spec.online ?? false,
    watermark: { commitId, updatedAt: wm.updatedAt },
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
