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
    // The columnar copies of commits (one immutable Parquet file per commit, ADR 0006): the commit log is the manifest.
    await c.query(`CREATE TABLE IF NOT EXISTS ${s}.commit_files (
      commit_seq bigint PRIMARY KEY, project text NOT NULL, view text NOT NULL, version integer NOT NULL,
      ingestion_id text NOT NULL, path text NOT NULL, rows bigint NOT NULL, bytes bigint NOT NULL,
      written_at timestamptz NOT NULL DEFAULT now())`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${s}.project_extras (
      project text NOT NULL, source text NOT NULL, extras jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (project, source))`);
    // Kafka offsets of stream sources, advanced in the same transaction as the commit that holds their rows.
    await c.query(`CREATE TABLE IF NOT EXISTS ${s}.stream_offsets (
      consumer_group text NOT NULL, topic text NOT NULL, partition integer NOT NULL, next_offset bigint NOT NULL,
      ingestion_id text, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer_group, topic, partition))`);
    // Window-aggregation state of the partition as of next_offset (aggregate stream sources only).
    await c.query(`ALTER TABLE ${s}.stream_offsets ADD COLUMN IF NOT EXISTS state jsonb`);
    // The statistics series of the console (per-commit trends): a small summary of each ingestion's profile and drift
    // (the scalar statistics of every column, the drift metrics), kept beside the ingestion by a trigger, so a trend
    // chart over hundreds of commits never reads the profiles' sketches and frequency tables.
    await c.query(`CREATE TABLE IF NOT EXISTS ${s}.ingestion_summaries (
      ingestion_id text PRIMARY KEY, project text NOT NULL, view text NOT NULL, summary jsonb NOT NULL)`);
    await c.query(`CREATE OR REPLACE FUNCTION ${s}.strata_ingestion_summary(stats jsonb, drift jsonb) RETURNS jsonb
      LANGUAGE sql IMMUTABLE AS $fn$
      SELECT jsonb_build_object(
        'stats', COALESCE((SELECT jsonb_object_agg(k, jsonb_build_object(
            'count', c->'count', 'nullCount', c->'nullCount', 'completeness', c->'completeness',
            'distinctCount', c->'distinctCount', 'distinctExact', c->'distinctExact', 'min', c->'min', 'max', c->'max',
            'mean', c->'mean', 'stddev', c->'stddev', 'sum', c->'sum', 'quantiles', c->'quantiles'))
          FROM jsonb_each(CASE WHEN jsonb_typeof(stats->'columns') = 'object' THEN stats->'columns' END) AS e(k, c)), '{}'),
        'drift', COALESCE((SELECT jsonb_object_agg(d->>'column', jsonb_build_object(
            'kind', d->'kind', 'psi', d->'psi', 'ks', d->'ks', 'js', d->'js', 'drifted', d->'drifted',
            'reasons', d->'reasons', 'threshold', jsonb_build_object(
              'psi', drift->'thresholds'->'psi', 'ks', drift->'thresholds'->'ks', 'js', drift->'thresholds'->'js')))
          FROM jsonb_array_elements(CASE WHEN jsonb_typeof(drift->'columns') = 'array' THEN drift->'columns' END) AS d), '{}'))
      $fn$`);
    await c.query(`CREATE OR REPLACE FUNCTION ${s}.strata_ingestion_summary_sync() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          DELETE FROM ${s}.ingestion_summaries WHERE ingestion_id = OLD.id;
          RETURN OLD;
        END IF;
        IF NEW.statistics IS NULL THEN
          DELETE FROM ${s}.ingestion_summaries WHERE ingestion_id = NEW.id;
          RETURN NEW;
        END IF;
        INSERT INTO ${s}.ingestion_summaries (ingestion_id, project, view, summary)
        VALUES (NEW.id, NEW.project, NEW.view, ${s}.strata_ingestion_summary(NEW.statistics, NEW.drift))
        ON CONFLICT (ingestion_id) DO UPDATE SET summary = EXCLUDED.summary;
        RETURN NEW;
      END $fn$`);
    await c.query(`CREATE OR REPLACE TRIGGER ingestion_summary AFTER INSERT OR DELETE OR UPDATE OF statistics, drift
      ON ${s}.ingestions FOR EACH ROW EXECUTE FUNCTION ${s}.strata_ingestion_summary_sync()`);
    await c.query(`INSERT INTO ${s}.ingestion_summaries (ingestion_id, project, view, summary)
      SELECT i.id, i.project, i.view, ${s}.strata_ingestion_summary(i.statistics, i.drift) FROM ${s}.ingestions i
      WHERE i.statistics IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${s}.ingestion_summaries x WHERE x.ingestion_id = i.id)`);
    await c.query(`INSERT INTO ${s}.meta (key, value) VALUES ('registry_schema_version', $1) ON CONFLICT (key) DO NOTHING`, [
      JSON.stringify(REGISTRY_SCHEMA_VERSION),
    ]);
  });
}
