/**
 * The reads behind the console's insight routes (explain a value, lineage, search): their SQL lives here, with the
 * rest of the store's and the registry's SQL (docs/offline-store.md, "Who speaks SQL"). Read only.
 */
import type { ObjectKind } from '@strata/core';
import type { PgRegistry, ViewVersion } from './registry.js';
import { ident, qualified } from './sql.js';

/** One stored row of an entity: the times, its commit and ingestion, and the asked features in order. */
export interface EntityRow {
  eventTime: Date;
  createdTime: Date | null;
  commitSeq: number;
  ingestionId: string;
  values: unknown[];
}

/**
 * An entity's rows in a view version (newest first, at most `limit`), how many it has, and the row that
 * materialization up to `watermark` would have put online (newest event time, then created time, then commit).
 */
export async function entityRows(
  registry: PgRegistry,
  vv: ViewVersion,
  key: { names: string[]; values: unknown[] },
  features: string[],
  watermark: number,
  limit: number,
): Promise<{ rows: EntityRow[]; total: number; winner: EntityRow | null }> {
  const spec = vv.spec;
  const table = qualified(registry.schema, vv.tableName);
  const ts = ident(spec.timestampField);
  const created = spec.createdTimestampField ? ident(spec.createdTimestampField) : null;
  const where = key.names.map((k, i) => `${ident(k)} = $${i + 1}`).join(' AND ');
  const order = [`${ts} DESC`, ...(created ? [`${created} DESC NULLS LAST`] : []), '"__commit_seq" DESC'].join(', ');
  const select = [
    `${ts} AS "__t"`,
    `${created ?? 'NULL::timestamptz'} AS "__c"`,
    '"__commit_seq" AS "__s"',
    '"__ingestion_id" AS "__i"',
    ...features.map((f, i) => `${ident(f)} AS "__f${i}"`),
  ].join(', ');
  const wmParam = `$${key.names.length + 1}`;
  const n = Math.max(0, Math.floor(limit));
  const [rowsRes, totalRes, winnerRes] = await Promise.all([
    registry.pool.query(`SELECT ${select} FROM ${table} WHERE ${where} ORDER BY ${order} LIMIT ${n}`, key.values),
    registry.pool.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`, key.values),
    registry.pool.query(
      `SELECT ${select} FROM ${table} WHERE ${where} AND "__commit_seq" <= ${wmParam} ORDER BY ${order} LIMIT 1`,
      [...key.values, watermark],
    ),
  ]);
  const toRow = (r: Record<string, unknown>): EntityRow => ({
    eventTime: r.__t as Date,
    createdTime: (r.__c as Date | null) ?? null,
    commitSeq: Number(r.__s),
    ingestionId: r.__i as string,
    values: features.map((_, i) => r[`__f${i}`] ?? null),
  });
  return {
    rows: rowsRes.rows.map(toRow),
    total: Number(totalRes.rows[0]?.n ?? 0),
    winner: winnerRes.rows[0] ? toRow(winnerRes.rows[0]) : null,
  };
}

/** The completed materialization run that first wrote a row online (its commit in range, or its event time in window). */
export async function firstMaterializationOf(
  registry: PgRegistry,
  project: string,
  view: string,
  row: { commitSeq: number; eventTime: Date },
): Promise<
  { id: number; workflowId: string | null; status: string; mode: string; startedAt: Date; finishedAt: Date | null } | undefined
> {
  const { rows } = await registry.pool.query(
    `SELECT id, workflow_id, status, mode, started_at, finished_at FROM ${qualified(registry.schema, 'materializations')}
     WHERE project = $1 AND view = $2 AND status = 'completed' AND to_seq >= $3
       AND ((mode = 'incremental' AND from_seq < $3)
         OR (mode = 'window' AND (window_start IS NULL OR window_start <= $4) AND (window_end IS NULL OR window_end > $4)))
     ORDER BY id ASC LIMIT 1`,
    [project, view, row.commitSeq, row.eventTime],
  );
  const m = rows[0];
  return m
    ? {
        id: Number(m.id),
        workflowId: m.workflow_id ?? null,
        status: m.status,
        mode: m.mode,
        startedAt: m.started_at,
        finishedAt: m.finished_at ?? null,
      }
    : undefined;
}

/** An ingestion as the lineage graph shows it (column names as stored). */
export interface LineageIngestionRow {
  id: string;
  view: string;
  version: number;
  status: string;
  source: string | null;
  row_count: string | number;
  commit_seq: string | number | null;
  created_at: Date;
  created_by: string | null;
  workflow_id: string | null;
}

/** A training set and one view it read, with that view's newest commit up to the set's pin. */
export interface LineageTrainingSetRow {
  id: string;
  status: string;
  created_at: Date;
  created_by: string | null;
  as_of_commit_seq: string | number | null;
  workflow_id: string | null;
  view: string;
  version: number;
  features: unknown;
  commit_seq: string | number | null;
}

/** What the lineage graph is drawn from: the newest ingestions per view, the watermarks, the training sets' reads. */
export async function lineageRecords(
  registry: PgRegistry,
  project: string,
  opts: { ingestionsPerView: number; trainingSets: number },
): Promise<{
  ingestions: LineageIngestionRow[];
  watermarks: { view: string; commit_seq: string | number }[];
  trainingSets: LineageTrainingSetRow[];
}> {
  const t = (name: string) => qualified(registry.schema, name);
  const [ings, marks, sets] = await Promise.all([
    registry.pool.query<LineageIngestionRow>(
      `SELECT id, view, version, status, source, row_count, commit_seq, created_at, created_by, workflow_id FROM (
         SELECT i.id, i.view, i.version, i.status, i.source, i.row_count, i.commit_seq, i.created_at, i.created_by,
           i.workflow_id, row_number() OVER (PARTITION BY i.view ORDER BY i.created_at DESC, i.id DESC) AS rn
         FROM ${t('ingestions')} i WHERE i.project = $1) x
       WHERE rn <= $2 ORDER BY view, created_at`,
      [project, opts.ingestionsPerView],
    ),
    registry.pool.query<{ view: string; commit_seq: string | number }>(
      `SELECT view, commit_seq FROM ${t('watermarks')} WHERE project = $1`,
      [project],
    ),
    // Each training set with, per view it read, the newest commit of that view up to its pinned commit.
    registry.pool.query<LineageTrainingSetRow>(
      `SELECT ts.id, ts.status, ts.created_at, ts.created_by, ts.as_of_commit_seq, ts.workflow_id, sel.view, sel.version,
         sel.features, (SELECT max(i.commit_seq) FROM ${t('ingestions')} i WHERE i.project = ts.project AND i.view = sel.view
           AND i.status = 'committed' AND i.commit_seq <= ts.as_of_commit_seq) AS commit_seq
       FROM (SELECT * FROM ${t('training_sets')} WHERE project = $1 ORDER BY created_at DESC LIMIT $2) ts
       CROSS JOIN LATERAL jsonb_to_recordset(ts.spec->'selections') AS sel(view text, version int, features jsonb)
       ORDER BY ts.created_at`,
      [project, opts.trainingSets],
    ),
  ]);
  return { ingestions: ings.rows, watermarks: marks.rows, trainingSets: sets.rows };
}

/** Every registry object of the given projects (what search filters), ordered by project, kind and name. */
export async function registryObjects(
  registry: PgRegistry,
  projects: string[],
): Promise<{ project: string; kind: ObjectKind; name: string; spec: unknown }[]> {
  const { rows } = await registry.pool.query<{ project: string; kind: ObjectKind; name: string; spec: unknown }>(
    `SELECT project, kind, name, spec FROM ${qualified(registry.schema, 'objects')}
     WHERE project = ANY($1::text[]) ORDER BY project, kind, name`,
    [projects],
  );
  return rows;
}
