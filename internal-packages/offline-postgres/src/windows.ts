/**
 * Window aggregations over a view's offline history, in SQL: the same definition (WindowAggregationSpec from
 * @strata/core) the stream aggregator evaluates incrementally, so training data and the stream agree. One row per
 * key and window that holds at least one event; windows are [start, start + window) with start a multiple of the
 * slide (epoch milliseconds, UTC); count counts events, the others skip nulls.
 */
import { invalidInput, type WindowAggregationSpec } from '@strata/core';
import type { Pool } from './pool.js';
import type { ViewVersion } from './registry.js';
import { ident, qualified } from './sql.js';

export interface HistoryWindow {
  key: Record<string, unknown>;
  start: Date;
  end: Date;
  value: number | null;
}

const SQL_FN = { count: 'count(*)', sum: 'sum', mean: 'avg', min: 'min', max: 'max' } as const;

/** The SQL (and its parameters) that computes an aggregation over a view's table, optionally in an event-time range. */
export function windowAggregateSql(
  schema: string,
  vv: ViewVersion,
  agg: WindowAggregationSpec,
  range: { start?: Date; end?: Date } = {},
): { text: string; values: unknown[] } {
  const w = agg.windowSeconds * 1000;
  const s = (agg.slideSeconds ?? agg.windowSeconds) * 1000;
  const keys = vv.joinKeys.map((k) => ident(k.name));
  const ts = ident(vv.spec.timestampField);
  if (agg.function !== 'count') {
    const f = vv.spec.features.find((x) => x.name === agg.column);
    if (!f || !['INT32', 'INT64', 'FLOAT', 'DOUBLE'].includes(f.valueType)) {
      throw invalidInput(`aggregation '${agg.name}': '${String(agg.column)}' is not a numeric feature of view '${vv.name}'`);
    }
  }
  const value = agg.function === 'count' ? 'count(*)::float8' : `${SQL_FN[agg.function]}(${ident(agg.column as string)}::float8)`;
  const where: string[] = [];
  const values: unknown[] = [w, s];
  if (range.start) {
    values.push(range.start);
    where.push(`${ts} >= $${values.length}`);
  }
  if (range.end) {
    values.push(range.end);
    where.push(`${ts} < $${values.length}`);
  }
  // k from floor((t - W) / S) + 1 to floor(t / S): the windows k*S <= t < k*S + W.
  const text = `
    WITH e AS (
      SELECT ${keys.join(', ')}, ${agg.function === 'count' ? '' : `${ident(agg.column as string)}, `}
        floor(extract(epoch FROM ${ts}) * 1000)::bigint AS t
      FROM ${qualified(schema, vv.tableName)} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    )
    SELECT ${keys.join(', ')}, k * $2::bigint AS window_start, ${value} AS value
    FROM e, generate_series(floor((e.t - $1::bigint)::numeric / $2::bigint)::bigint + 1, floor(e.t::numeric / $2::bigint)::bigint) AS k
    GROUP BY ${keys.join(', ')}, k
    ORDER BY ${keys.join(', ')}, k`;
  return { text, values };
}

/** Computes an aggregation over a view's offline history (every committed row). */
export async function aggregateHistory(
  pool: Pool,
  schema: string,
  vv: ViewVersion,
  agg: WindowAggregationSpec,
  range: { start?: Date; end?: Date } = {},
): Promise<HistoryWindow[]> {
  const q = windowAggregateSql(schema, vv, agg, range);
  const { rows } = await pool.query(q.text, q.values);
  const w = agg.windowSeconds * 1000;
  return rows.map((r: Record<string, unknown>) => {
    const start = Number(r.window_start);
    return {
      key: Object.fromEntries(vv.joinKeys.map((k) => [k.name, r[k.name]])),
      start: new Date(start),
      end: new Date(start + w),
      value: r.value === null ? null : Number(r.value),
    };
  });
}
