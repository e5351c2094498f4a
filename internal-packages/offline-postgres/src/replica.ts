/**
 * A read-only replica for training-set reads (offline.readUrl): a hot standby streaming from the primary, or any
 * server holding a copy. Writes never go there: its pool opens every transaction read-only, so even a read URL that
 * names a writable server refuses a write.
 *
 * Replication lag: a read goes to the replica only when every commit it needs is visible there. For each selected
 * view the primary is asked for the view's latest commit within the request's pin (commit or time); commits of one
 * view are serialised (one advisory lock per view) and WAL replays in commit order, so when that commit is visible
 * on the replica all earlier commits of the view are too. If the replica has not caught up within `maxWaitMs`, the
 * read falls back to the primary: a lagging replica never returns stale rows, it only costs the primary the read.
 */
import { qualified } from './sql.js';
import type { Pool } from './pool.js';
import { createPool } from './pool.js';
import type { ViewVersion } from './registry.js';

export interface ReadReplica {
  pool: Pool;
  /** How long a read waits for the replica to replay the commits it needs before it falls back to the primary. */
  maxWaitMs: number;
}

/** Where a read ran, and why it did not run on the replica when it did not. */
export interface ReadRoute {
  server: 'replica' | 'primary';
  reason?: string;
}

export interface ReplicaOptions {
  maxWaitMs?: number;
  poolSize?: number;
  applicationName?: string;
}

/** Default wait for a lagging replica: long enough for streaming replication's usual sub-second lag. */
export const DEFAULT_REPLICA_WAIT_MS = 2000;

/** A pool on the read URL whose sessions are read-only (default_transaction_read_only), for ReadReplica. */
export function openReadReplica(url: string, opts: ReplicaOptions = {}): ReadReplica {
  const pool = createPool(url, {
    max: opts.poolSize ?? 10,
    applicationName: opts.applicationName ?? 'strata-read',
    readOnly: true,
  });
  return { pool, maxWaitMs: opts.maxWaitMs ?? DEFAULT_REPLICA_WAIT_MS };
}

/** What a read needs: per view version, the latest commit within the pin, as the primary sees it now. */
export interface NeededCommit {
  view: ViewVersion;
  seq: number;
}

/** The primary's latest commit of each view within the pin (0: the view has none, only its table is needed). */
export async function neededCommits(
  primary: Pool,
  schema: string,
  views: ViewVersion[],
  pin: { asOfCommitSeq?: number; asOfTime?: Date },
): Promise<NeededCommit[]> {
  const out: NeededCommit[] = [];
  for (const view of views) {
    const { rows } = await primary.query<{ s: string | null }>(
      `SELECT max(commit_seq) AS s FROM ${qualified(schema, 'ingestions')}
       WHERE project = $1 AND view = $2 AND version = $3 AND status = 'committed'
         AND ($4::bigint IS NULL OR commit_seq <= $4) AND ($5::timestamptz IS NULL OR committed_at <= $5)`,
      [view.project, view.name, view.version, pin.asOfCommitSeq ?? null, pin.asOfTime ?? null],
    );
    out.push({ view, seq: Number(rows[0]?.s ?? 0) });
  }
  return out;
}

/** Why the replica cannot serve the read yet (undefined: it can): a view table or a commit not replayed there. */
async function missingOnReplica(replica: Pool, schema: string, needed: NeededCommit[]): Promise<string | undefined> {
  for (const n of needed) {
    const { rows } = await replica.query<{ t: string | null; ok: boolean }>(
      `SELECT to_regclass($1) AS t, ($2::bigint = 0 OR EXISTS (SELECT 1 FROM ${qualified(schema, 'ingestions')}
         WHERE commit_seq = $2 AND status = 'committed')) AS ok`,
      [qualified(schema, n.view.tableName), n.seq],
    );
    if (!rows[0]?.t) return `the table of view '${n.view.name}' v${n.view.version} is not on the replica yet`;
    if (!rows[0].ok) return `commit ${n.seq} of view '${n.view.name}' is not on the replica yet`;
  }
  return undefined;
}

/**
 * Waits (polling, up to the replica's maxWaitMs) until the replica holds every needed commit. Returns the route: the
 * replica, or the primary with the reason (lag, or the replica unreachable).
 */
export async function routeRead(
  primary: Pool,
  replica: ReadReplica,
  schema: string,
  views: ViewVersion[],
  pin: { asOfCommitSeq?: number; asOfTime?: Date },
): Promise<ReadRoute> {
  const needed = await neededCommits(primary, schema, views, pin);
  const until = Date.now() + replica.maxWaitMs;
  let delay = 20;
  for (;;) {
    let reason: string | undefined;
    try {
      reason = await missingOnReplica(replica.pool, schema, needed);
    } catch (err) {
      return { server: 'primary', reason: `the replica is not reachable: ${(err as Error).message}` };
    }
    if (!reason) return { server: 'replica' };
    if (Date.now() >= until) return { server: 'primary', reason: `${reason} after ${replica.maxWaitMs} ms` };
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, until - Date.now()))));
    delay = Math.min(delay * 2, 200);
  }
}
