/** History of materialization runs (the registry's materializations table): rows, durations, status. */
import { qualified } from '@strata/offline-postgres';
import type { Strata } from './client.js';

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
