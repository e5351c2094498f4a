/**
 * Partitioned reads for fan-out materialization: the latest row per entity of one entity-key hash partition
 * (`abs(hashtext(ROW(keys)::text)) % count = index`), page by page in key order after a cursor. Partitions are
 * disjoint and cover every key, so child workflows can each take one and resume from their own cursor.
 */
import { type Pool, qualified, type ViewVersion, viewColumns, ident } from '@strata/offline-postgres';

export interface Partition {
  index: number;
  count: number;
}

export interface PageOptions {
  fromSeq?: number;
  toSeq?: number;
  start?: Date;
  end?: Date;
  cursor?: unknown[] | null;
  limit: number;
  partition?: Partition;
}

export async function latestPartitionPage(
  pool: Pool,
  schema: string,
  vv: ViewVersion,
  opts: PageOptions,
): Promise<{ rows: Record<string, unknown>[]; cursor: unknown[] | null }> {
  const keys = vv.joinKeys.map((k) => ident(k.name));
  const ts = ident(vv.spec.timestampField);
  const created = vv.spec.createdTimestampField ? ident(vv.spec.createdTimestampField) : undefined;
  const cols = viewColumns(vv.spec, vv.joinKeys).map((c) => ident(c.name));
  const where: string[] = [];
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (opts.fromSeq !== undefined) where.push(`"__commit_seq" > ${p(opts.fromSeq)}`);
  if (opts.toSeq !== undefined) where.push(`"__commit_seq" <= ${p(opts.toSeq)}`);
  if (opts.start) where.push(`${ts} >= ${p(opts.start)}`);
  if (opts.end) where.push(`${ts} < ${p(opts.end)}`);
  if (opts.partition && opts.partition.count > 1) {
    where.push(`abs(hashtext(ROW(${keys.join(', ')})::text)::bigint) % ${p(opts.partition.count)} = ${p(opts.partition.index)}`);
  }
  if (opts.cursor) where.push(`(${keys.join(', ')}) > (${opts.cursor.map((v) => p(v)).join(', ')})`);
  const order = [...keys, `${ts} DESC`, ...(created ? [`${created} DESC NULLS LAST`] : []), '"__commit_seq" DESC'];
  const sql = `SELECT DISTINCT ON (${keys.join(', ')}) ${cols.join(', ')} FROM ${qualified(schema, vv.tableName)}
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order.join(', ')} LIMIT ${p(opts.limit)}`;
  const { rows } = await pool.query(sql, params);
  const last = rows[rows.length - 1];
  const cursor = last && rows.length === opts.limit ? vv.joinKeys.map((k) => jsonSafe(last[k.name])) : null;
  return { rows, cursor };
}

function jsonSafe(v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v instanceof Date ? v.toISOString() : v;
}

/** Rows a materialization will read (committed rows in its commit range): sizes the fan-out. */
export async function rowsInRange(pool: Pool, schema: string, project: string, view: string, fromSeq: number, toSeq: number) {
  const { rows } = await pool.query<{ n: string | null }>(
    `SELECT sum(row_count) AS n FROM ${qualified(schema, 'ingestions')}
     WHERE project = $1 AND view = $2 AND status = 'committed' AND commit_seq > $3 AND commit_seq <= $4`,
    [project, view, fromSeq, toSeq],
  );
  return Number(rows[0]?.n ?? 0);
}

/** Partitions for a run: the caller's choice, else one per `rowsPerPartition` rows, at most `max`. */
export function partitionCount(rows: number, requested?: number, rowsPerPartition = 250_000, max = 16): number {
  if (requested !== undefined) return Math.max(1, Math.min(64, Math.floor(requested)));
  return Math.max(1, Math.min(max, Math.ceil(rows / rowsPerPartition)));
}
