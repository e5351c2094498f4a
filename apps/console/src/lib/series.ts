/**
 * Chart data shaping: the statistics series, drift and histograms the API returns, turned into the flat points the
 * charts draw and the hidden tables list (the same numbers, so a test can check one against the other).
 */
import type { Histogram, SeriesCommit, StatValues } from '../types.js';

export const TREND_STATS = ['mean', 'stddev', 'min', 'max', 'completeness', 'distinctCount', 'nullCount', 'count'] as const;
export type TrendStat = (typeof TREND_STATS)[number];
export const DRIFT_METRICS = ['psi', 'ks', 'js'] as const;
export type DriftMetric = (typeof DRIFT_METRICS)[number];

export interface TrendPoint {
  /** Position on the x axis: the commit id when there is one, else the position in the series (1-based). */
  x: number;
  commitId: number | null;
  ingestionId: string;
  createdAt: string;
  value: number;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** One statistic of one feature across commits (oldest first); commits without a numeric value are left out. */
export function trendPoints(commits: SeriesCommit[], feature: string, stat: TrendStat): TrendPoint[] {
  const out: TrendPoint[] = [];
  commits.forEach((c, i) => {
    const v = num((c.stats[feature] as StatValues | undefined)?.[stat]);
    if (v === undefined) return;
    out.push({ x: c.commitId ?? i + 1, commitId: c.commitId, ingestionId: c.ingestionId, createdAt: c.createdAt, value: v });
  });
  return out;
}

/** The statistics that have at least one numeric value for the feature (a string feature has no mean). */
export function availableStats(commits: SeriesCommit[], feature: string): TrendStat[] {
  return TREND_STATS.filter((s) => commits.some((c) => num(c.stats[feature]?.[s]) !== undefined));
}

export interface DriftPoint {
  x: number;
  commitId: number | null;
  ingestionId: string;
  metric: DriftMetric;
  value: number;
  threshold: number;
  over: boolean;
}

/** Drift of one feature per commit for one metric, with the threshold it was judged against. */
export function driftPoints(commits: SeriesCommit[], feature: string, metric: DriftMetric): DriftPoint[] {
  const out: DriftPoint[] = [];
  commits.forEach((c, i) => {
    const d = c.drift[feature];
    const v = num(d?.[metric]);
    const t = num(d?.threshold?.[metric]);
    if (!d || v === undefined || t === undefined) return;
    out.push({
      x: c.commitId ?? i + 1,
      commitId: c.commitId,
      ingestionId: c.ingestionId,
      metric,
      value: v,
      threshold: t,
      over: v > t,
    });
  });
  return out;
}

export interface Bar {
  label: string;
  /** Bin edges for numeric histograms. */
  x0?: number;
  x1?: number;
  count: number;
}

/** Histogram bins (edges + counts) or categories (values + counts) as labelled bars. */
export function histogramBars(h: Histogram | null | undefined): Bar[] {
  if (!h) return [];
  if (h.kind === 'bins' && h.edges && h.edges.length === h.counts.length + 1) {
    const edges = h.edges;
    return h.counts.map((count, i) => {
      const x0 = edges[i] as number;
      const x1 = edges[i + 1] as number;
      return { label: `${x0}–${x1}`, x0, x1, count };
    });
  }
  const values = h.values ?? [];
  return h.counts.map((count, i) => ({ label: values[i] === null ? 'null' : String(values[i] ?? i), count }));
}

/** The feature names to offer: the series' features, those with a drifted commit first when asked. */
export function featuresByDrift(commits: SeriesCommit[], features: string[]): string[] {
  const drifted = new Map<string, number>();
  for (const c of commits) for (const [f, d] of Object.entries(c.drift)) if (d.drifted) drifted.set(f, (drifted.get(f) ?? 0) + 1);
  return [...features].sort((a, b) => (drifted.get(b) ?? 0) - (drifted.get(a) ?? 0) || a.localeCompare(b));
}
