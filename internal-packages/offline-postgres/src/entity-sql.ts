/**
 * User SQL that picks a training set's entity rows (`entities: { sql }`, `--entity-sql`), run against the offline
 * store. Whatever the text says it can only read: ONE statement (sent by the extended protocol, which refuses a
 * second one), a query (declared as a cursor, which only SELECT/VALUES/TABLE/WITH without data-modifying parts can
 * be), in a read-only transaction whose snapshot is taken before the text runs (so nothing can make it read-write),
 * under a statement timeout, and as the database's read-only role (READER_ROLE) where there is one.
 * docs/offline-store.md, "User SQL is read-only".
 */
import { invalidInput, StrataError } from '@strata/core';
import type pg from 'pg';
import type { Pool } from './pool.js';

/** The Postgres role that user SQL runs as where the database has it (see docs/offline-store.md). */
export const READER_ROLE = 'strata_reader';
/** How long an entity query may run by default. */
export const ENTITY_SQL_TIMEOUT_MS = 300_000;

/** A clear INVALID_INPUT for each way an entity query can be refused. */
function entitySqlError(err: Error & { code?: string }, timeoutMs: number): StrataError {
  const msg = err.message;
  const where = { where: 'entity SQL' };
  if (/cannot insert multiple commands into a prepared statement/.test(msg)) {
    return invalidInput('the entity query must be one SQL statement (a SELECT), but it has several', {
      ...where,
      hint: 'remove the ";" and what follows; the query runs read-only, one statement',
    });
  }
  if (
    err.code === '42601' &&
    /syntax error at or near "(DELETE|INSERT|UPDATE|MERGE|COPY|SET|CREATE|DROP|ALTER|TRUNCATE|GRANT|CALL|DO|VACUUM|RESET|BEGIN|COMMIT|ROLLBACK)"/i.test(
      msg,
    )
  ) {
    return invalidInput('the entity query must be a query (SELECT, VALUES, TABLE or WITH … SELECT); it cannot change anything', {
      ...where,
      hint: 'write a SELECT that returns the entity rows',
    });
  }
  if (err.code === '0A000' && /data-modifying/.test(msg)) {
    return invalidInput('the entity query must be a query: a WITH clause cannot hold INSERT, UPDATE, DELETE or MERGE', {
      ...where,
      hint: 'write a SELECT that returns the entity rows',
    });
  }
  if (err.code === '25006' || err.code === '25001') {
    return invalidInput(`the entity query tried to write, and it runs read-only: ${msg}`, {
      ...where,
      hint: 'entity SQL can only read; remove what writes (a function that writes, nextval, FOR UPDATE, ...)',
    });
  }
  if (err.code === '42501') {
    return invalidInput(`the entity query is not allowed: ${msg}`, {
      ...where,
      hint: `entity SQL runs as the read-only role ${READER_ROLE}: it can read tables, nothing else`,
    });
  }
  if (err.code === '57014') {
    return invalidInput(`the entity query took longer than ${timeoutMs} ms and was stopped`, {
      ...where,
      hint: 'make the query cheaper, or raise the timeout ({ sql, timeoutMs } / --entity-sql-timeout <ms>)',
    });
  }
  return invalidInput(`the entity query failed: ${msg}`, {
    ...where,
    hint: 'check the SQL; it runs read-only against the offline store, one SELECT',
  });
}

/** Runs an entity query read-only (see above) and returns all its rows; refusals are INVALID_INPUT saying why. */
export async function runEntityQuery(pool: Pool, sql: string, opts: { timeoutMs?: number } = {}): Promise<pg.QueryResult> {
  const timeoutMs = opts.timeoutMs ?? ENTITY_SQL_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw invalidInput(`the entity query timeout must be a positive number of milliseconds, got ${timeoutMs}`);
  }
  const client = await pool.connect();
  try {
    await client.query('BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(`SET LOCAL statement_timeout = ${timeoutMs}`);
    await client.query('SAVEPOINT strata_reader');
    try {
      await client.query(`SET LOCAL ROLE ${READER_ROLE}`);
      await client.query('RELEASE SAVEPOINT strata_reader');
    } catch {
      // No read-only role in this database (or not ours to use): the read-only transaction still holds.
      await client.query('ROLLBACK TO SAVEPOINT strata_reader');
    }
    // The first query takes the transaction's snapshot: from here on it cannot be made read-write.
    await client.query('SELECT 1');
    // queryMode 'extended' (pg >= 8.12, not in its typings yet) sends Parse/Bind/Execute even without parameters.
    const declare = { text: `DECLARE strata_entity_rows NO SCROLL CURSOR FOR ${sql}`, queryMode: 'extended' };
    await client.query(declare);
    const res = await client.query('FETCH ALL FROM strata_entity_rows');
    await client.query('ROLLBACK');
    return res;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    if (err instanceof StrataError) throw err;
    throw entitySqlError(err as Error & { code?: string }, timeoutMs);
  } finally {
    client.release();
  }
}
