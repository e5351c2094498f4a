/** The registry's tables, created idempotently (serialized by an advisory lock so concurrent starts do not race). */
import type { Pool } from './pool.js';
import { withTransaction } from './pool.js';
import { ident } from './sql.js';

export const REGISTRY_SCHEMA_VERSION = 1;

export async function migrate(pool: Pool, schema: string): Promise<void> {
  const s = ident(schema);
  await withTransaction(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`strata-migrate:${schema}`]);
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${s}.meta (key text PRIMARY KEY, value jsonb NOT NULL)`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${s}.objects (
      project text NOT NULL, kind text NOT NULL, name text NOT NULL, version integer NOT NULL DEFAULT 1,
      spec jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (project, kind, name))`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${s}.view_versions (
      project text NOT NULL, name text NOT NULL, version integer NOT NULL, spec jsonb NOT NULL, join_keys jsonb NOT NULL,
      table_name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (project, name, version))`);
    await c.query(`CREATE SEQUENCE IF NOT EXISTS ${s}.commit_seq`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${s}.ingestions (
      id text PRIMARY KEY, project text NOT NULL, view text NOT NULL, version integer NOT NULL, status text NOT NULL,
      staging_table text, source text, row_count bigint NOT NULL DEFAULT 0,
      min_event_time timestamptz, max_event_time timestamptz, commit_seq bigint UNIQUE,
      created_by text, created_at timestamptz NOT NULL DEFAULT now(), committed_at timestamptz,
      workflow_id text, error jsonb, report jsonb, statistics jsonb)`);
    await c.query(`ALTER TABLE ${s}.ingestions ADD COLUMN IF NOT EXISTS drift jsonb`);
    await c.query(`ALTER TABLE ${s}.ingestions ADD COLUMN IF NOT EXISTS duplicate_rows bigint NOT NULL DEFAULT 0`);
    // Pipelines: which code made a commit (content hash of source + transformation) and the event-time window it covers.
    await c.query(`ALTER TABLE ${s}.ingestions ADD COLUMN IF NOT EXISTS code_hash text`);
    await c.query(`ALTER TABLE ${s}.ingestions ADD COLUMN IF NOT EXISTS window_start timestamptz`);
    await c.query(`ALTER TABLE ${s}.ingestions ADD COLUMN IF NOT EXISTS window_end timestamptz`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${s}.pipeline_windows (
      ingestion_id text PRIMARY KEY, project text NOT NULL, view text NOT NULL, version integer NOT NULL,
      window_start timestamptz NOT NULL, window_end timestamptz NOT NULL, code_hash text NOT NULL, status text NOT NULL,
      row_count bigint NOT NULL DEFAULT 0, commit_seq bigint, workflow_id text, error jsonb,
      updated_at timestamptz NOT NULL DEFAULT now())`);
    await c.query(`CREATE INDEX IF NOT EXISTS pipeline_windows_view ON ${s}.pipeline_windows (project, view, window_start)`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${s}.pipeline_watermarks (
      project text NOT NULL, view text NOT NULL, watermark timestamptz NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (project, view))`);
    await c.query(`CREATE INDEX IF NOT EXISTS ingestions_view ON ${s}.ingestions (project, view, commit_seq)`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${s}.materializations (
      id bigserial PRIMARY KEY, project text NOT NULL, view text NOT NULL, version integer NOT NULL, mode text NOT NULL,
      window_start timestamptz, window_end timestamptz, from_seq bigint, to_seq bigint,
      rows_written bigint NOT NULL DEFAULT 0, rows_skipped bigint NOT NULL DEFAULT 0, status text NOT NULL,
      workflow_id text, started_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz)`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${s}.watermarks (
      project text NOT NULL, view text NOT NULL, commit_seq bigint NOT NULL DEFAULT 0,
      updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (project, view))`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${s}.training_sets (
      id text PRIMARY KEY, project text NOT NULL, status text NOT NULL, spec jsonb NOT NULL, entity_table text,
      entity_rows bigint NOT NULL DEFAULT 0, rows_done bigint NOT NULL DEFAULT 0, output_uri text, output_format text,
      as_of_commit_seq bigint, workflow_id text, error jsonb, created_by text,
      created_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz)`);
    // Model-dependent transformations fitted on the set (FittedTransform[]), written when it is done.
    await c.query(`ALTER TABLE ${s}.training_sets ADD COLUMN IF NOT EXISTS transformations jsonb`);
    // The columnar copies of commits (one immutable Parquet file per commit, ADR 0006): the commit log is the manifest.
    await c.query(`CREATE TABLE IF NOT EXISTS ${s}.commit_files (
      commit_seq bigint PRIMARY KEY, project text NOT NULL, view text NOT NULL, version integer NOT NULL,
      ingestion_id text NOT NULL, path text NOT NULL, rows bigint NOT NULL, bytes bigint NOT NULL,
      written_at timestamptz NOT NULL DEFAULT now())`);
    // What the sink learnt of the rows (CommitFileFacts): lets the columnar engine prove a training set has no ties.
    await c.query(`ALTER TABLE ${s}.commit_files ADD COLUMN IF NOT EXISTS key_time_unique boolean,
      ADD COLUMN IF NOT EXISTS min_event_us bigint, ADD COLUMN IF NOT EXISTS max_event_us bigint`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${s}.project_extras (
      project text NOT NULL, source text NOT NULL, extras jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (project, source))`);
    // Kafka offsets of stream sources, advanced in the same transaction as the commit that holds their rows.
    await c.query(`CREATE TABLE IF NOT EXISTS ${s}.stream_offsets (
      consumer_group text NOT NULL, topic text NOT NULL, partition integer NOT NULL, next_offset bigint NOT NULL,
      ingestion_id text, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer_group, topic, partition))`);
    // Window-aggregation state of the partition as of next_offset (aggregate stream sources only).
    await c.query(`ALTER TABLE ${s}.stream_offsets ADD COLUMN IF NOT EXISTS state jsonb`);
    // The statistics series of the console (per-commit trends): one small row per ingestion and column with the
    // column's scalar statistics and its drift metrics, kept beside the ingestion's profile by a trigger, so a trend
    // over hundreds of commits reads a few hundred bytes per feature, never the profiles' sketches and frequency tables.
    // (An early per-ingestion summary, one jsonb of every column, was too big to read per feature: gone.)
    await c.query(`DROP TRIGGER IF EXISTS ingestion_summary ON ${s}.ingestions`);
    await c.query(`DROP FUNCTION IF EXISTS ${s}.strata_ingestion_summary_sync()`);
    await c.query(`DROP FUNCTION IF EXISTS ${s}.strata_ingestion_summary(jsonb, jsonb)`);
    await c.query(`DROP TABLE IF EXISTS ${s}.ingestion_summaries`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${s}.ingestion_feature_stats (
      ingestion_id text NOT NULL, feature text NOT NULL, stats jsonb NOT NULL, drift jsonb,
      PRIMARY KEY (ingestion_id, feature))`);
    await c.query(`CREATE OR REPLACE FUNCTION ${s}.strata_feature_stats(stats jsonb, drift jsonb)
      RETURNS TABLE (feature text, stats jsonb, drift jsonb) LANGUAGE sql IMMUTABLE AS $fn$
      WITH d AS (
        SELECT x->>'column' AS col, jsonb_build_object(
            'kind', x->'kind', 'psi', x->'psi', 'ks', x->'ks', 'js', x->'js', 'drifted', x->'drifted',
            'reasons', x->'reasons', 'threshold', jsonb_build_object(
              'psi', drift->'thresholds'->'psi', 'ks', drift->'thresholds'->'ks', 'js', drift->'thresholds'->'js')) AS v
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(drift->'columns') = 'array' THEN drift->'columns' END) AS x)
      SELECT e.k, jsonb_build_object(
          'count', e.c->'count', 'nullCount', e.c->'nullCount', 'completeness', e.c->'completeness',
          'distinctCount', e.c->'distinctCount', 'distinctExact', e.c->'distinctExact', 'min', e.c->'min',
          'max', e.c->'max', 'mean', e.c->'mean', 'stddev', e.c->'stddev', 'sum', e.c->'sum', 'quantiles', e.c->'quantiles'),
        d.v
      FROM jsonb_each(CASE WHEN jsonb_typeof(stats->'columns') = 'object' THEN stats->'columns' END) AS e(k, c)
      LEFT JOIN d ON d.col = e.k
      $fn$`);
    await c.query(`CREATE OR REPLACE FUNCTION ${s}.strata_feature_stats_sync() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          DELETE FROM ${s}.ingestion_feature_stats WHERE ingestion_id = OLD.id;
          RETURN OLD;
        END IF;
        IF TG_OP = 'UPDATE' THEN
          DELETE FROM ${s}.ingestion_feature_stats WHERE ingestion_id = NEW.id;
        END IF;
        INSERT INTO ${s}.ingestion_feature_stats (ingestion_id, feature, stats, drift)
        SELECT NEW.id, f.feature, f.stats, f.drift FROM ${s}.strata_feature_stats(NEW.statistics, NEW.drift) AS f;
        RETURN NEW;
      END $fn$`);
    await c.query(`CREATE OR REPLACE TRIGGER ingestion_feature_stats AFTER INSERT OR DELETE OR UPDATE OF statistics, drift
      ON ${s}.ingestions FOR EACH ROW EXECUTE FUNCTION ${s}.strata_feature_stats_sync()`);
    await c.query(`INSERT INTO ${s}.ingestion_feature_stats (ingestion_id, feature, stats, drift)
      SELECT i.id, f.feature, f.stats, f.drift FROM ${s}.ingestions i
      CROSS JOIN LATERAL ${s}.strata_feature_stats(i.statistics, i.drift) AS f
      WHERE i.statistics IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM ${s}.ingestion_feature_stats x WHERE x.ingestion_id = i.id)`);
    await c.query(`INSERT INTO ${s}.meta (key, value) VALUES ('registry_schema_version', $1) ON CONFLICT (key) DO NOTHING`, [
      JSON.stringify(REGISTRY_SCHEMA_VERSION),
    ]);
  });
}
