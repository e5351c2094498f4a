/**
 * Feast's online response shape built for serving: the same output as the SDK's readOnline, with the per-value work
 * cut down (event-time text computed once per entity row and view and cached by second; numbers, strings and
 * booleans passed through without conversion), since a batch of 100 entities x 50 features is 5,000 values.
 */
import { invalidInput, type JoinKey, type ResolvedSelection } from '@strata/core';
import type { FeatureStatus, RedisOnlineStore } from '@strata/online-redis';
import { jsonValue, type OnlineColumn, type OnlineFeaturesResponse } from '@strata/sdk';

const EPOCH = '1970-01-01T00:00:00Z';
const isoCache = new Map<number, string>();

function isoSeconds(d: Date | null): string {
  if (!d) return EPOCH;
  const s = Math.floor(d.getTime() / 1000);
  let text = isoCache.get(s);
  if (text === undefined) {
    text = `${new Date(s * 1000).toISOString().slice(0, 19)}Z`;
    if (isoCache.size > 100_000) isoCache.clear();
    isoCache.set(s, text);
  }
  return text;
}

function plain(v: unknown): unknown {
  const t = typeof v;
  if (v === null || t === 'string' || t === 'boolean' || (t === 'number' && Number.isFinite(v as number))) return v;
  return jsonValue(v);
}

export async function serveOnline(
  store: RedisOnlineStore,
  project: string,
  selections: (ResolvedSelection & { joinKeys: JoinKey[] })[],
  entityRows: Record<string, unknown>[],
  opts: { fullFeatureNames?: boolean } = {},
): Promise<OnlineFeaturesResponse> {
  const keyNames: string[] = [];
  for (const s of selections) for (const k of s.joinKeys) if (!keyNames.includes(k.name)) keyNames.push(k.name);
  for (const k of keyNames) {
    for (let i = 0; i < entityRows.length; i++) {
      const v = (entityRows[i] as Record<string, unknown>)[k];
      if (v === undefined || v === null) {
        throw invalidInput(`entity row ${i + 1} has no value for join key '${k}'`, {
          where: `entities.${k}`,
          hint: `pass a '${k}' column`,
        });
      }
    }
  }
  const reads = await store.readFeatures(
    project,
    entityRows,
    selections.map((s) => ({ view: s.view, joinKeys: s.joinKeys, features: s.features.map((f) => f.name) })),
  );
  const n = entityRows.length;
  const names: string[] = [...keyNames];
  const results: OnlineColumn[] = keyNames.map((k) => ({
    values: entityRows.map((r) => r[k]),
    statuses: new Array<FeatureStatus>(n).fill('PRESENT'),
    event_timestamps: new Array<string>(n).fill(EPOCH),
  }));
  for (const s of selections) {
    // Every feature of a view read for one entity row shares the row's event time: its text is made once per row.
    const rowTimes = new Array<string | undefined>(n);
    for (const f of s.features) {
      names.push(opts.fullFeatureNames ? `${s.view.name}__${f.name}` : f.name);
      const key = `${s.view.name}:${f.name}`;
      const values = new Array<unknown>(n);
      const statuses = new Array<FeatureStatus>(n);
      const times = new Array<string>(n);
      for (let i = 0; i < n; i++) {
        const fr = (reads[i] as Record<string, { value: unknown; status: FeatureStatus; eventTime: Date | null } | undefined>)[
          key
        ];
        values[i] = fr ? plain(fr.value) : null;
        statuses[i] = fr?.status ?? 'NOT_FOUND';
        if (fr?.eventTime) {
          let t = rowTimes[i];
          if (t === undefined) {
            t = isoSeconds(fr.eventTime);
            rowTimes[i] = t;
          }
          times[i] = t;
        } else times[i] = EPOCH;
      }
      results.push({ values, statuses, event_timestamps: times });
    }
  }
  return { metadata: { feature_names: names }, results };
}
