/**
 * User SQL, read-only: exactly one statement, inside a READ ONLY transaction with a statement timeout, always rolled
 * back. Used wherever a user's query runs (pipeline sources; shareable by every user-SQL path).
 */
import { checkReadOnlyQuery, invalidInput } from '@strata/core';
import type { Pool, PoolClient } from './pool.js';

export interface ReadOnlyOptions {
  /** Statement timeout in milliseconds. */
  timeoutMs: number;
  /** Where the query comes from, for error messages. */
  where: string;
}

/** Throws INVALID_INPUT unless `sql` is one read-only query. */
export function assertReadOnlyQuery(sql: string, where: string): void {
  const problems = checkReadOnlyQuery(sql, where);
  if (problems.length) {
    throw invalidInput(problems[0] as string, { where, hint: 'give one SELECT (or WITH ... SELECT) statement' });
  }
}

/**
 * Runs `fn` with a client inside a read-only transaction (statement timeout set), then rolls back. The client is
 * dedicated to `fn` for its duration (cursors may be used).
 */
export async function withReadOnly<T>(pool: Pool, opts: ReadOnlyOptions, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN TRANSACTION READ ONLY');
    await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(opts.timeoutMs))}`);
    await client.query(`SET LOCAL idle_in_transaction_session_timeout = ${Math.max(1, Math.round(opts.timeoutMs))}`);
    return await fn(client);
  } finally {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true;
    }
    client.release(broken ? true : undefined);
  }
}
