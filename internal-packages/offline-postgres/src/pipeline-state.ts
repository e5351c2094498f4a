/**
 * Feature pipelines' records in the registry schema: each window's outcome (`pipeline_windows`) and each pipeline's
 * watermark (`pipeline_watermarks`, the end of the last window done in order). Control-plane data kept with the
 * registry; the pipeline activities and `pipelineStatus` call these functions.
 */
import type { PgRegistry } from './registry.js';
import { qualified } from './sql.js';

export interface PipelineWindowOutcome {
  ingestionId: string;
  project: string;
  view: string;
  version: number;
  start: string;
  end: string;
  codeHash: string;
  status: string;
  rows: number;
  commitSeq?: number | null;
  workflowId?: string | null;
  error?: unknown;
}

/** The pipeline's watermark, or undefined before its first window. */
export async function pipelineWatermark(registry: PgRegistry, project: string, view: string): Promise<Date | undefined> {
  const { rows } = await registry.pool.query<{ watermark: Date }>(
    `SELECT watermark FROM ${qualified(registry.schema, 'pipeline_watermarks')} WHERE project = $1 AND view = $2`,
    [project, view],
  );
  return rows[0]?.watermark;
}

/** Moves the watermark forward only; returns the watermark now (ISO time). */
export async function advancePipelineWatermark(registry: PgRegistry, project: string, view: string, to: string): Promise<string> {
  const t = qualified(registry.schema, 'pipeline_watermarks');
  const { rows } = await registry.pool.query<{ watermark: Date }>(
    `INSERT INTO ${t} (project, view, watermark) VALUES ($1,$2,$3)
     ON CONFLICT (project, view) DO UPDATE SET watermark = GREATEST(${t}.watermark, EXCLUDED.watermark), updated_at = now()
     RETURNING watermark`,
    [project, view, to],
  );
  return new Date(rows[0]?.watermark ?? to).toISOString();
}

/** Of these window ingestion ids, the ones already done (committed, or empty). */
export async function doneWindows(registry: PgRegistry, ingestionIds: string[]): Promise<Set<string>> {
  const { rows } = await registry.pool.query<{ ingestion_id: string }>(
    `SELECT ingestion_id FROM ${qualified(registry.schema, 'pipeline_windows')} WHERE ingestion_id = ANY($1) AND status IN ('committed', 'empty')`,
    [ingestionIds],
  );
  return new Set(rows.map((r) => r.ingestion_id));
}

/** Records a window's outcome; a committed window stays committed (with its row count) whatever is recorded later. */
export async function recordPipelineWindow(registry: PgRegistry, w: PipelineWindowOutcome): Promise<void> {
  const t = qualified(registry.schema, 'pipeline_windows');
  await registry.pool.query(
    `INSERT INTO ${t} (ingestion_id, project, view, version, window_start, window_end, code_hash, status, row_count, commit_seq, workflow_id, error)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)
     ON CONFLICT (ingestion_id) DO UPDATE SET
       status = CASE WHEN ${t}.status = 'committed' THEN 'committed' ELSE EXCLUDED.status END,
       row_count = CASE WHEN ${t}.status = 'committed' THEN ${t}.row_count ELSE EXCLUDED.row_count END,
       commit_seq = COALESCE(${t}.commit_seq, EXCLUDED.commit_seq),
       workflow_id = COALESCE(EXCLUDED.workflow_id, ${t}.workflow_id),
       error = CASE WHEN EXCLUDED.status = 'failed' THEN EXCLUDED.error ELSE NULL END, updated_at = now()`,
    [
      w.ingestionId,
      w.project,
      w.view,
      w.version,
      w.start,
      w.end,
      w.codeHash,
      w.status,
      w.rows,
      w.commitSeq ?? null,
      w.workflowId ?? null,
      w.error === undefined ? null : JSON.stringify(w.error),
    ],
  );
}

/** A window as `pipelineStatus` shows it. */
export interface PipelineWindow {
  start: Date;
  end: Date;
  status: string;
  rows: number;
  commitSeq: number | null;
  ingestionId: string;
  codeHash: string;
  workflowId: string | null;
  error: unknown;
}

/** A pipeline's most recent windows, newest window first. */
export async function pipelineWindows(
  registry: PgRegistry,
  project: string,
  view: string,
  limit: number,
): Promise<PipelineWindow[]> {
  const { rows } = await registry.pool.query(
    `SELECT * FROM ${qualified(registry.schema, 'pipeline_windows')} WHERE project = $1 AND view = $2 ORDER BY window_start DESC, updated_at DESC LIMIT $3`,
    [project, view, limit],
  );
  return rows.map((r) => ({
    start: r.window_start,
    end: r.window_end,
    status: r.status,
    rows: Number(r.row_count),
    commitSeq: r.commit_seq === null ? null : Number(r.commit_seq),
    ingestionId: r.ingestion_id,
    codeHash: r.code_hash,
    workflowId: r.workflow_id,
    error: r.error,
  }));
}
