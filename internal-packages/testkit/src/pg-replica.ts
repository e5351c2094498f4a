/**
 * A real streaming replica of the stack's Postgres (`infra/stack.sh replica-up`: pg_basebackup -R, a hot standby on
 * STRATA_PG_REPLICA_PORT, default 5434), and pausing its WAL replay to make replication lag for real.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);
const STACK = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'infra', 'stack.sh');

/**
 * Starts the replica (idempotent) and returns its URL, or why it cannot run here (for requireOrSkip): the primary is
 * external, or the script failed.
 */
export async function startPgReplica(env: NodeJS.ProcessEnv = process.env): Promise<{ url?: string; missing?: string }> {
  try {
    await run('bash', [STACK, 'replica-up'], { env, timeout: 180_000 });
    const { stdout } = await run('bash', [STACK, 'env'], { env, timeout: 30_000 });
    const url = /^export STRATA_PG_REPLICA_URL=(.+)$/m.exec(stdout)?.[1];
    return url ? { url } : { missing: "infra/stack.sh env printed no STRATA_PG_REPLICA_URL after 'replica-up'" };
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return { missing: `infra/stack.sh replica-up failed: ${(e.stderr || e.message).trim().split('\n').pop()}` };
  }
}

async function onReplica<T>(url: string, sql: string): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows[0] as T;
  } finally {
    await c.end();
  }
}

/** Pauses WAL replay on the replica: from now on it lags behind every commit on the primary. */
export async function pauseReplay(url: string): Promise<void> {
  await onReplica(url, 'SELECT pg_wal_replay_pause()');
}

export async function resumeReplay(url: string): Promise<void> {
  await onReplica(url, 'SELECT pg_wal_replay_resume()');
}

/** Whether the server at `url` is a standby in recovery. */
export async function inRecovery(url: string): Promise<boolean> {
  return (await onReplica<{ r: boolean }>(url, 'SELECT pg_is_in_recovery() AS r')).r;
}
