import pg from 'pg';

// int8 -> bigint-safe JS value (number when safe, else bigint); numeric stays text; timestamps -> Date.
pg.types.setTypeParser(20, (v: string) => {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : BigInt(v);
});
// int8[]: reuse the text[] parser, then convert each element.
const parseTextArray = pg.types.getTypeParser(1009 as never) as (s: string) => (string | null)[];
pg.types.setTypeParser(1016 as never, (v: string) =>
  parseTextArray(v).map((x) => {
    if (x === null) return null;
    const n = Number(x);
    return Number.isSafeInteger(n) ? n : BigInt(x);
  }),
);

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export function createPool(
  url: string,
  options: {
    max?: number;
    applicationName?: string /** Every session read-only (a read replica's pool). */;
    readOnly?: boolean;
  } = {},
): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'strata',
    ...(options.readOnly ? { options: '-c default_transaction_read_only=on' } : {}),
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client that loses its connection (server restart) must not crash the process.
  pool.on('error', () => {});
  // Nor may a checked-out client whose backend is terminated mid-query (the query itself rejects with the error).
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  return pool;
}

export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
