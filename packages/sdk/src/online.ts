/**
 * Online reads in Feast's response shape: metadata.feature_names (join keys first), then one column per name with
 * values, statuses and event timestamps.
 */
import { invalidInput, type JoinKey, type ResolvedSelection } from '@strata/core';
import {
  type FeatureRead,
  type FeatureStatus,
  type OnlineSelection,
  type OnlineStore,
  readFeatureRecords,
} from '@strata/online-store';

export interface OnlineColumn {
  values: unknown[];
  statuses: FeatureStatus[];
  event_timestamps: string[];
}

export interface OnlineFeaturesResponse {
  metadata: { feature_names: string[] };
  results: OnlineColumn[];
}

const EPOCH = '1970-01-01T00:00:00Z';

/** Columnar entities ({user_id: [1, 2]}) to rows; all columns must have the same length. */
export function entityRowsFromColumns(entities: Record<string, unknown>): Record<string, unknown>[] {
  if (!entities || typeof entities !== 'object' || Array.isArray(entities)) {
    throw invalidInput('entities must be an object of columns, e.g. {"user_id": [1, 2]}');
  }
  const names = Object.keys(entities);
  if (!names.length) throw invalidInput('entities is empty', { hint: 'give at least one join key column' });
  let n: number | undefined;
  for (const name of names) {
    const col = entities[name];
    if (!Array.isArray(col))
      throw invalidInput(`entity column '${name}' must be a list of values`, { where: `entities.${name}` });
    if (n === undefined) n = col.length;
    else if (col.length !== n) {
      throw invalidInput(`entity columns have unequal lengths ('${names[0]}' has ${n}, '${name}' has ${col.length})`, {
        where: `entities.${name}`,
      });
    }
  }
  return Array.from({ length: n ?? 0 }, (_, i) =>
    Object.fromEntries(names.map((name) => [name, (entities[name] as unknown[])[i]])),
  );
}

function isoSeconds(d: Date | null): string {
  return d ? `${d.toISOString().slice(0, 19)}Z` : EPOCH;
}

export async function readOnline(
  store: OnlineStore,
  project: string,
  selections: (ResolvedSelection & { joinKeys: JoinKey[] })[],
  entityRows: Record<string, unknown>[],
  opts: { fullFeatureNames?: boolean; now?: Date } = {},
): Promise<OnlineFeaturesResponse> {
  const keyNames: string[] = [];
  for (const s of selections) for (const k of s.joinKeys) if (!keyNames.includes(k.name)) keyNames.push(k.name);
  for (const k of keyNames) {
    for (const [i, row] of entityRows.entries()) {
      if (row[k] === undefined || row[k] === null) {
        throw invalidInput(`entity row ${i + 1} has no value for join key '${k}'`, {
          where: `entities.${k}`,
          hint: `pass a '${k}' column`,
        });
      }
    }
  }
  const storeSelections: OnlineSelection[] = selections.map((s) => ({
    view: s.view,
    joinKeys: s.joinKeys,
    features: s.features.map((f) => f.name),
  }));
  const reads: Record<string, FeatureRead>[] = await readFeatureRecords(
    store,
    project,
    entityRows,
    storeSelections,
    opts.now ? { now: opts.now } : {},
  );
  const names: string[] = [...keyNames];
  const results: OnlineColumn[] = keyNames.map((k) => ({
    values: entityRows.map((r) => r[k]),
    statuses: entityRows.map(() => 'PRESENT' as const),
    event_timestamps: entityRows.map(() => EPOCH),
  }));
  for (const s of selections) {
    for (const f of s.features) {
      names.push(opts.fullFeatureNames ? `${s.view.name}__${f.name}` : f.name);
      const key = `${s.view.name}:${f.name}`;
      results.push({
        values: reads.map((r) => jsonValue(r[key]?.value ?? null)),
        statuses: reads.map((r) => r[key]?.status ?? 'NOT_FOUND'),
        event_timestamps: reads.map((r) => isoSeconds(r[key]?.eventTime ?? null)),
      });
    }
  }
  return { metadata: { feature_names: names }, results };
}

/** JSON-friendly value: bigint -> number when safe else string, Date -> ISO, bytes -> base64. */
export function jsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return v.map(jsonValue);
  if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  return v;
}

/** Rows view of a response: one object per entity row, keyed by feature name. */
export function responseToRows(res: OnlineFeaturesResponse): Record<string, unknown>[] {
  const n = res.results[0]?.values.length ?? 0;
  return Array.from({ length: n }, (_, i) =>
    Object.fromEntries(res.metadata.feature_names.map((name, c) => [name, res.results[c]?.values[i]])),
  );
}
