/**
 * Time travel over a view's commits: its history (one entry per ingestion), a read of the view as of a commit or a
 * wall-clock time (only what was committed by then), and the rows that commits added between two commits.
 * Commits are append-only, so "as of commit N" is exactly the rows with __commit_seq <= N.
 */
import { invalidInput, StrataError, type ValueTypeName } from '@strata/core';
import type * as arrow from 'apache-arrow';
import type { IngestionStatus, OfflineStore } from './offline.js';
import { viewColumns } from './offline.js';
import type { ViewVersion } from './registry.js';
import { ident, qualified } from './sql.js';
import { cursorBatches, type TypedColumn } from './stream.js';

export interface CommitInfo {
  ingestionId: string;
  /** Null for ingestions that never committed (staging, staged, failed, quarantined). */
  commitSeq: number | null;
  version: number;
  status: IngestionStatus;
  rows: number;
  minEventTime: Date | null;
  maxEventTime: Date | null;
  createdBy: string | null;
  createdAt: Date;
  committedAt: Date | null;
  source: string | null;
  workflowId: string | null;
}

/** Every ingestion of a view (all versions), commits in commit order, then the uncommitted ones by creation time. */
export async function viewHistory(store: OfflineStore, project: string, view: string, limit = 1000): Promise<CommitInfo[]> {
  await store.registry.getView(project, view); // UNKNOWN_OBJECT for an unknown view
  // Only the columns shown: the profile, report and drift of each ingestion are hundreds of kilobytes (TOAST) apiece.
  const { rows } = await store.pool.query(
    `SELECT id, commit_seq, version, status, row_count, min_event_time, max_event_time, created_by, created_at,
       committed_at, source, workflow_id
     FROM ${qualified(store.schema, 'ingestions')} WHERE project = $1 AND view = $2
     ORDER BY commit_seq ASC NULLS LAST, created_at ASC LIMIT $3`,
    [project, view, limit],
  );
  return rows.map((r) => ({
    ingestionId: r.id,
    commitSeq: r.commit_seq === null ? null : Number(r.commit_seq),
    version: r.version,
    status: r.status,
    rows: Number(r.row_count ?? 0),
    minEventTime: r.min_event_time ?? null,
    maxEventTime: r.max_event_time ?? null,
    createdBy: r.created_by ?? null,
    createdAt: r.created_at,
    committedAt: r.committed_at ?? null,
    source: r.source ?? null,
    workflowId: r.workflow_id ?? null,
  }));
}

export interface AsOf {
  commitSeq?: number;
  time?: Date;
}

/**
 * The highest commit of a view version visible as of a commit number or a time. An as-of before the view's first
 * commit is an error (it could only read nothing); a view with no commits reads as empty.
 */
export async function resolveAsOf(store: OfflineStore, vv: ViewVersion, asOf: AsOf): Promise<number> {
  const { rows } = await store.pool.query<{ commit_seq: string; committed_at: Date }>(
    `SELECT commit_seq, committed_at FROM ${qualified(store.schema, 'ingestions')}
     WHERE project = $1 AND view = $2 AND version = $3 AND status = 'committed' ORDER BY commit_seq`,
    [vv.project, vv.name, vv.version],
  );
  if (!rows.length) return 0;
  const visible = rows.filter(
    (r) =>
      (asOf.commitSeq === undefined || Number(r.commit_seq) <= asOf.commitSeq) &&
      (asOf.time === undefined || r.committed_at.getTime() <= asOf.time.getTime()),
  );
  const first = rows[0] as { commit_seq: string; committed_at: Date };
  if (!visible.length) {
    throw invalidInput(
      `the as-of ${asOf.time ? `time ${asOf.time.toISOString()}` : `commit ${asOf.commitSeq}`} is before the first commit of view '${vv.name}' v${vv.version}`,
      {
        hint: `its first commit is ${first.commit_seq} at ${first.committed_at.toISOString()}; see 'strata history ${vv.name}'`,
        details: { firstCommit: Number(first.commit_seq), firstCommittedAt: first.committed_at.toISOString() },
      },
    );
  }
  return Number((visible[visible.length - 1] as { commit_seq: string }).commit_seq);
}

function columnsOf(vv: ViewVersion, withCommit: boolean): TypedColumn[] {
  const cols: TypedColumn[] = viewColumns(vv.spec, vv.joinKeys).map((c) => ({ name: c.name, valueType: c.valueType }));
  if (withCommit) {
    cols.push({ name: '__commit_seq', valueType: 'INT64' as ValueTypeName });
    cols.push({ name: '__ingestion_id', valueType: 'STRING' as ValueTypeName });
  }
  return cols;
}

async function* readSql(
  store: OfflineStore,
  sql: string,
  params: unknown[],
  columns: TypedColumn[],
  batchSize: number,
): AsyncGenerator<arrow.RecordBatch> {
  const client = await store.pool.connect();
  try {
    // REPEATABLE READ: the cursor reads one snapshot, so a commit landing mid-read is not half-seen.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    yield* cursorBatches(client, sql, params, columns, batchSize);
    await client.query('COMMIT');
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    client.release();
  }
}

/**
 * A view as it was at a commit or time: every row committed by then (`latest: false`, default), or the latest row
 * per entity by then (`latest: true`, the same tie-breaking as training sets). Rows carry their commit number.
 */
export async function* readViewAsOf(
  store: OfflineStore,
  vv: ViewVersion,
  opts: AsOf & { latest?: boolean; batchSize?: number } = {},
): AsyncGenerator<arrow.RecordBatch> {
  const seq = opts.commitSeq === undefined && opts.time === undefined ? undefined : await resolveAsOf(store, vv, opts);
  const cols = columnsOf(vv, true);
  const list = cols.map((c) => ident(c.name)).join(', ');
  const keys = vv.joinKeys.map((k) => ident(k.name));
  const ts = ident(vv.spec.timestampField);
  const created = vv.spec.createdTimestampField ? ident(vv.spec.createdTimestampField) : undefined;
  const where = seq === undefined ? '' : 'WHERE "__commit_seq" <= $1';
  const order = [...keys, `${ts} DESC`, ...(created ? [`${created} DESC NULLS LAST`] : []), '"__commit_seq" DESC'];
  const sql = opts.latest
    ? `SELECT DISTINCT ON (${keys.join(', ')}) ${list} FROM ${qualified(store.schema, vv.tableName)} ${where} ORDER BY ${order.join(', ')}`
    : `SELECT ${list} FROM ${qualified(store.schema, vv.tableName)} ${where} ORDER BY "__commit_seq", ${keys.join(', ')}, ${ts}`;
  yield* readSql(store, sql, seq === undefined ? [] : [seq], cols, opts.batchSize ?? 50_000);
}

/** Checks that both commits are commits of this view version and that from < to. */
export async function checkCommitRange(store: OfflineStore, vv: ViewVersion, from: number, to: number): Promise<void> {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to < 0)
    throw invalidInput(`commit numbers must be non-negative integers (got ${from} and ${to})`);
  if (from >= to) throw invalidInput(`the first commit (${from}) must come before the second (${to})`);
  const { rows } = await store.pool.query<{ commit_seq: string; version: number }>(
    `SELECT commit_seq, version FROM ${qualified(store.schema, 'ingestions')}
     WHERE project = $1 AND view = $2 AND status = 'committed' AND commit_seq = ANY($3::bigint[])`,
    [vv.project, vv.name, [from, to]],
  );
  for (const s of from === 0 ? [to] : [from, to]) {
    const r = rows.find((x) => Number(x.commit_seq) === s);
    if (!r)
      throw new StrataError('UNKNOWN_OBJECT', `view '${vv.name}' has no commit ${s}`, {
        hint: `list its commits with 'strata history ${vv.name}' (0 means "before the first commit")`,
      });
    if (r.version !== vv.version)
      throw invalidInput(`commit ${s} belongs to version ${r.version} of view '${vv.name}', not version ${vv.version}`, {
        hint: 'compare commits of one version',
      });
  }
}

/** The rows that commits (from, to] added to a view, in commit order, with their commit number and ingestion id. */
export async function* diffCommits(
  store: OfflineStore,
  vv: ViewVersion,
  from: number,
  to: number,
  opts: { batchSize?: number } = {},
): AsyncGenerator<arrow.RecordBatch> {
  await checkCommitRange(store, vv, from, to);
  const cols = columnsOf(vv, true);
  const keys = vv.joinKeys.map((k) => ident(k.name));
  const sql = `SELECT ${cols.map((c) => ident(c.name)).join(', ')} FROM ${qualified(store.schema, vv.tableName)}
    WHERE "__commit_seq" > $1 AND "__commit_seq" <= $2 ORDER BY "__commit_seq", ${keys.join(', ')}, ${ident(vv.spec.timestampField)}`;
  yield* readSql(store, sql, [from, to], cols, opts.batchSize ?? 50_000);
}

/** Per-commit counts between two commits (what `strata diff` prints before the rows). */
export async function diffSummary(
  store: OfflineStore,
  vv: ViewVersion,
  from: number,
  to: number,
): Promise<{ commitSeq: number; ingestionId: string; rows: number; entities: number }[]> {
  await checkCommitRange(store, vv, from, to);
  const keys = vv.joinKeys.map((k) => ident(k.name));
  const { rows } = await store.pool.query(
    `SELECT "__commit_seq" AS s, min("__ingestion_id") AS id, count(*) AS n, count(DISTINCT (${keys.join(', ')})) AS e
     FROM ${qualified(store.schema, vv.tableName)} WHERE "__commit_seq" > $1 AND "__commit_seq" <= $2
     GROUP BY "__commit_seq" ORDER BY "__commit_seq"`,
    [from, to],
  );
  return rows.map((r) => ({ commitSeq: Number(r.s), ingestionId: r.id, rows: Number(r.n), entities: Number(r.e) }));
}
