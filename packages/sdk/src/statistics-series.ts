/**
 * A view's statistics across its ingestions (the console's trend charts): for each ingestion with a profile, the
 * scalar statistics of the chosen features and their drift against the previous commit. Read from the registry's
 * per-feature rows (`ingestion_feature_stats`, kept by a trigger beside each ingestion's profile), only the features
 * asked for, so hundreds of commits of a wide view answer without reading a profile's sketches.
 */
import { invalidInput } from '@strata/core';
import { qualified } from '@strata/offline-postgres';
import type { ColumnDrift, ColumnProfile } from '@strata/validation';
import type { Strata } from './client.js';

/** The scalar statistics of one column of one ingestion, as the profile stored them. */
export type FeatureSummary = Pick<
  ColumnProfile,
  | 'count'
  | 'nullCount'
  | 'completeness'
  | 'distinctCount'
  | 'distinctExact'
  | 'min'
  | 'max'
  | 'mean'
  | 'stddev'
  | 'sum'
  | 'quantiles'
>;

/** One column's drift against the previous commit, with the thresholds it was judged by. */
export type FeatureDrift = Pick<ColumnDrift, 'kind' | 'psi' | 'ks' | 'js' | 'drifted' | 'reasons'> & {
  threshold: { psi: number; ks: number; js: number };
};

export interface StatisticsPoint {
  ingestionId: string;
  /** The commit's sequence number; null for an ingestion that did not commit (quarantined, failed). */
  commitId: number | null;
  status: string;
  createdAt: Date;
  committedAt: Date | null;
  rows: number;
  minEventTime: Date | null;
  maxEventTime: Date | null;
  stats: Record<string, FeatureSummary>;
  drift: Record<string, FeatureDrift>;
}

export interface StatisticsSeries {
  view: string;
  features: string[];
  /** Oldest first (chart order): the newest `limit` ingestions that have statistics. */
  commits: StatisticsPoint[];
}

export const SERIES_LIMIT_MAX = 1000;

export async function statisticsSeries(
  strata: Strata,
  view: string,
  opts: { features?: string[]; limit?: number } = {},
): Promise<StatisticsSeries> {
  const vv = await strata.getView(view); // UNKNOWN_OBJECT for an unknown view
  const known = vv.spec.features.map((f) => f.name);
  const features = opts.features?.length ? opts.features : known;
  const unknown = features.filter((f) => !known.includes(f));
  if (unknown.length)
    throw invalidInput(`feature view '${view}' has no feature ${unknown.map((f) => `'${f}'`).join(', ')}`, {
      details: { field: 'features', unknown },
      hint: `its features: ${known.join(', ')}`,
    });
  const limit = opts.limit ?? 200;
  if (!Number.isInteger(limit) || limit < 1 || limit > SERIES_LIMIT_MAX)
    throw invalidInput(`limit must be an integer from 1 to ${SERIES_LIMIT_MAX}`, { details: { field: 'limit' } });
  const schema = strata.registry.schema;
  // The newest `limit` ingestions with a profile, then each one's rows of the chosen features (primary-key lookups).
  const { rows } = await strata.pool.query(
    `WITH c AS (
       SELECT i.id, i.commit_seq, i.status, i.created_at, i.committed_at, i.row_count, i.min_event_time, i.max_event_time,
         COALESCE(i.committed_at, i.created_at) AS k
       FROM ${qualified(schema, 'ingestions')} i
       WHERE i.project = $1 AND i.view = $2 AND i.statistics IS NOT NULL
       ORDER BY k DESC, i.id DESC LIMIT $4)
     SELECT c.*,
       (SELECT COALESCE(jsonb_object_agg(x.feature, x.stats), '{}') FROM ${qualified(schema, 'ingestion_feature_stats')} x
         WHERE x.ingestion_id = c.id AND x.feature = ANY($3::text[])) AS stats,
       (SELECT COALESCE(jsonb_object_agg(x.feature, x.drift), '{}') FROM ${qualified(schema, 'ingestion_feature_stats')} x
         WHERE x.ingestion_id = c.id AND x.feature = ANY($3::text[]) AND x.drift IS NOT NULL) AS drift
     FROM c ORDER BY c.k, c.id`,
    [strata.project, view, features, limit],
  );
  return {
    view,
    features,
    commits: rows.map((r) => ({
      ingestionId: r.id,
      commitId: r.commit_seq === null ? null : Number(r.commit_seq),
      status: r.status,
      createdAt: r.created_at,
      committedAt: r.committed_at ?? null,
      rows: Number(r.row_count),
      minEventTime: r.min_event_time ?? null,
      maxEventTime: r.max_event_time ?? null,
      stats: r.stats,
      drift: r.drift,
    })),
  };
}
