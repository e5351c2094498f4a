/**
 * The registry's record of materialization runs (`<schema>.materializations`): control-plane data, kept with the
 * registry, not in the offline store. Its only SQL is here; the activities and the SDK call these functions.
 */
import type { PgRegistry } from './registry.js';
import { qualified } from './sql.js';

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

export interface MaterializationStart {
  project: string;
  view: string;
  version: number;
  mode: string;
  /** The window, when the run has one (a Date or an ISO time). */
  start?: Date | string | null;
  end?: Date | string | null;
  fromSeq: number;
  toSeq: number;
  workflowId?: string | null;
}

/** Records a run as 'running'; returns its id. */
export async function startMaterializationRun(registry: PgRegistry, run: MaterializationStart): Promise<number> {
  const { rows } = await registry.pool.query<{ id: string }>(
    `INSERT INTO ${qualified(registry.schema, 'materializations')} (project, view, version, mode, window_start, window_end, from_seq, to_seq, status, workflow_id)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'running',$9) RETURNING id`,
    [
      run.project,
      run.view,
      run.version,
      run.mode,
      run.start ?? null,
      run.end ?? null,
      run.fromSeq,
      run.toSeq,
      run.workflowId ?? null,
    ],
  );
  return Number(rows[0]?.id);
}

/** Marks a run completed with its row counts. */
export async function finishMaterializationRun(
  registry: PgRegistry,
  id: number,
  written: number,
  skipped: number,
): Promise<void> {
  await registry.pool.query(
    `UPDATE ${qualified(registry.schema, 'materializations')} SET status = 'completed', rows_written = $2, rows_skipped = $3, finished_at = now() WHERE id = $1`,
    [id, written, skipped],
  );
}

/** A project's runs, newest first (optionally one view's), with durations and rates. */
export async function materializationRuns(
  registry: PgRegistry,
  project: string,
  view?: string,
  limit = 50,
): Promise<MaterializationRun[]> {
  const { rows } = await registry.pool.query(
    `SELECT * FROM ${qualified(registry.schema, 'materializations')}
     WHERE project = $1 AND ($2::text IS NULL OR view = $2) ORDER BY id DESC LIMIT $3`,
    [project, view ?? null, limit],
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

/** A view's materialization watermark and the newest event time among the commits up to it (what was materialized). */
export interface WatermarkRecord {
  commitSeq: number;
  updatedAt: Date | null;
  materializedEventTime: Date | null;
}

export async function watermarkRecord(registry: PgRegistry, project: string, view: string): Promise<WatermarkRecord> {
  const t = (name: string) => qualified(registry.schema, name);
  const { rows } = await registry.pool.query(
    `SELECT w.commit_seq, w.updated_at,
       (SELECT max(i.max_event_time) FROM ${t('ingestions')} i
         WHERE i.project = w.project AND i.view = w.view AND i.commit_seq <= w.commit_seq) AS max_event
     FROM ${t('watermarks')} w WHERE w.project = $1 AND w.view = $2`,
    [project, view],
  );
  const w = rows[0];
  return {
    commitSeq: w ? Number(w.commit_seq) : 0,
    updatedAt: w?.updated_at ?? null,
    materializedEventTime: w?.max_event ?? null,
  };
}
