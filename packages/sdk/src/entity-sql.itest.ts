/**
 * The entity SQL of a training set is the user's text: whatever it says, it can only read. Each attack runs against
 * the real Postgres of the stack and must be refused with INVALID_INPUT, leaving the table and its rows in place.
 */
import { freshSchema, type FreshSchema, serviceUrls, uniqueName } from '@strata/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Strata } from './client.js';
import { loadConfig } from './config.js';

describe('entity SQL is read-only whatever its text', () => {
  let fresh: FreshSchema;
  let strata: Strata;
  let admin: Strata['pool'];
  let s: string;

  beforeAll(async () => {
    fresh = await freshSchema();
    s = `"${fresh.schema}"`;
    const urls = serviceUrls();
    const config = loadConfig({
      env: {
        STRATA_PROJECT: uniqueName('sql'),
        STRATA_POSTGRES_URL: urls.postgres,
        STRATA_POSTGRES_SCHEMA: fresh.schema,
        TEMPORAL_ADDRESS: urls.temporal,
      },
      configPath: undefined as unknown as string,
    });
    strata = await Strata.connect({ config });
    admin = strata.pool;
    await admin.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await admin.query(`CREATE TABLE ${s}.victim (user_id bigint, ts timestamptz)`);
    await admin.query(`INSERT INTO ${s}.victim VALUES (1, '2024-01-01Z'), (2, '2024-01-02Z')`);
    await admin.query(`CREATE SEQUENCE ${s}.seq`);
    await admin.query(
      `CREATE FUNCTION ${s}.evil() RETURNS int LANGUAGE plpgsql AS $$ BEGIN DELETE FROM ${s}.victim; RETURN 1; END $$`,
    );
    await admin.query(
      `CREATE FUNCTION ${s}.sneaky() RETURNS int LANGUAGE plpgsql AS $$ BEGIN PERFORM set_config('transaction_read_only', 'off', true); DELETE FROM ${s}.victim; RETURN 1; END $$`,
    );
  });
  afterAll(async () => {
    await strata?.close();
    await fresh?.drop();
  });

  const rows = async () => Number((await admin.query(`SELECT count(*) AS n FROM ${s}.victim`)).rows[0].n);

  it('reads with a plain SELECT (and a read-only CTE)', async () => {
    const t = await strata.queryTable(`SELECT user_id, ts AS event_timestamp FROM ${s}.victim ORDER BY user_id`);
    expect(t.numRows).toBe(2);
    const cte = await strata.queryTable(`WITH x AS (SELECT * FROM ${s}.victim) SELECT count(*) AS n FROM x`);
    expect(Number(cte.getChild('n')?.get(0))).toBe(2);
  });

  it('runs as the read-only role where the database has one', async () => {
    const t = await strata.queryTable('SELECT current_user AS who');
    expect(t.getChild('who')?.get(0)).toBe('strata_reader');
  });

  const attacks: [string, () => string, RegExp][] = [
    [
      'the issue’s COMMIT; DROP TABLE',
      () => `select 1 as user_id; COMMIT; DROP TABLE ${s}.victim; select 1`,
      /one SQL statement/,
    ],
    ['a DELETE', () => `DELETE FROM ${s}.victim`, /must be a query/],
    ['a DELETE … RETURNING', () => `DELETE FROM ${s}.victim RETURNING user_id`, /must be a query/],
    ['SET TRANSACTION READ WRITE', () => 'SET TRANSACTION READ WRITE', /must be a query/],
    [
      'a data-modifying CTE',
      () => `WITH d AS (DELETE FROM ${s}.victim RETURNING *) SELECT * FROM d`,
      /data-modifying|must be a query|read-only/,
    ],
    ['a function that writes', () => `SELECT ${s}.evil() AS user_id`, /read-only/],
    ['a function that turns the transaction read-write', () => `SELECT ${s}.sneaky()`, /read-write|read-only/],
    ['nextval', () => `SELECT nextval('${fresh.schema}.seq')`, /read-only|not allowed/],
    ['COPY TO PROGRAM', () => `COPY (SELECT 1) TO PROGRAM 'true'`, /must be a query/],
    ['SELECT … FOR UPDATE', () => `SELECT * FROM ${s}.victim FOR UPDATE`, /read-only|permission/],
    ['a comment that hides a second statement', () => `SELECT 1 /* x */; DELETE FROM ${s}.victim`, /one SQL statement/],
  ];
  for (const [name, sql, message] of attacks) {
    it(`refuses ${name} with INVALID_INPUT and keeps the table`, async () => {
      const err = await strata.queryTable(sql()).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, 'the statement was not refused').toBeDefined();
      expect((err as { code?: string }).code).toBe('INVALID_INPUT');
      expect((err as Error).message).toMatch(message);
      expect(await rows()).toBe(2);
      expect((await admin.query(`SELECT is_called FROM ${s}.seq`)).rows[0].is_called).toBe(false);
    });
  }

  it('stops a query that runs too long with a clear error', async () => {
    const err = await strata.queryTable('SELECT pg_sleep(5)', { timeoutMs: 300 }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('INVALID_INPUT');
    expect((err as Error).message).toMatch(/took longer than 300 ms/);
  });
});
