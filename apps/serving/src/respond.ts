/**
 * Feast's online response shape built for serving: the same output as the SDK's readOnline (the itest compares
 * them), read through the OnlineStore interface straight into columns. A batch of 100 entities x 50 features is
 * 5,000 values, so the per-value work is cut down: the store hands back one column per feature (values and statuses)
 * and one event time per entity row and view; here only the event-time text (made once per entity row and view and
 * cached by second) and the JSON rendering of values remain.
 */
import { invalidInput, type JoinKey, type ResolvedSelection, StrataError } from '@strata/core';
import type { FeatureStatus, OnlineSelection, OnlineStore } from '@strata/online-store';
import { jsonValue, type OnlineColumn, type OnlineFeaturesResponse } from '@strata/sdk';

const EPOCH = '1970-01-01T00:00:00Z';
const isoCache = new Map<number, string>();

function isoSeconds(ms: number): string {
  const s = Math.floor(ms / 1000);
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

/**
 * The store selection per resolved selection. The resolution is memoized per registry snapshot, so passing the same
 * selection object again lets the store reuse the field names it prepared for it.
 */
const storeSelections = new WeakMap<object, OnlineSelection>();

function selectionFor(sel: ResolvedSelection & { joinKeys: JoinKey[] }, memoKey: object | undefined): OnlineSelection {
  const cached = memoKey ? storeSelections.get(memoKey) : undefined;
  if (cached && cached.view === sel.view) return cached;
  const out: OnlineSelection = { view: sel.view, joinKeys: sel.joinKeys, features: sel.features.map((f) => f.name) };
  if (memoKey) storeSelections.set(memoKey, out);
  return out;
}

export async function serveOnline(
  store: OnlineStore,
  project: string,
  selections: (ResolvedSelection & { joinKeys: JoinKey[] })[],
  entityRows: Record<string, unknown>[],
  opts: {
    fullFeatureNames?: boolean;
    now?: Date;
    memo?: object[];
    /** Called with the age (ms, now - event time) of each view row served: the freshness metric. */
    onServedAge?: (view: string, ageMs: number) => void;
  } = {},
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
  const sels = selections.map((s, i) => selectionFor(s, opts.memo?.[i]));
  const views = await store.readColumns(project, sels, entityRows, opts.now ? { now: opts.now } : {});

  const n = entityRows.length;
  const names: string[] = [...keyNames];
  const results: OnlineColumn[] = keyNames.map((k) => ({
    values: entityRows.map((r) => r[k]),
    statuses: new Array<FeatureStatus>(n).fill('PRESENT'),
    event_timestamps: new Array<string>(n).fill(EPOCH),
  }));
  for (let si = 0; si < sels.length; si++) {
    const sel = sels[si] as OnlineSelection;
    const read = views[si];
    if (!read || read.columns.length !== sel.features.length) {
      throw new StrataError(
        'INTERNAL',
        `the online store answered ${read?.columns.length ?? 0} columns for view '${sel.view.name}'`,
      );
    }
    const times = read.eventTimes.map((ms) => (ms === null ? EPOCH : isoSeconds(ms)));
    if (opts.onServedAge) {
      // A row counts when it is served (not OUTSIDE_MAX_AGE): its first feature's status tells.
      const nowMs = (opts.now ?? new Date()).getTime();
      const first = read.columns[0]?.statuses;
      read.eventTimes.forEach((ms, i) => {
        if (ms !== null && first?.[i] !== 'OUTSIDE_MAX_AGE') opts.onServedAge?.(sel.view.name, nowMs - ms);
      });
    }
    sel.features.forEach((f, j) => {
      names.push(opts.fullFeatureNames ? `${sel.view.name}__${f}` : f);
      const col = read.columns[j] as (typeof read.columns)[number];
      // The store's arrays are this call's own: render the values in place.
      const values = col.values;
      const stamps = new Array<string>(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v !== null) values[i] = plain(v);
        stamps[i] = col.statuses[i] === 'NOT_FOUND' ? EPOCH : (times[i] as string);
      }
      results.push({ values, statuses: col.statuses, event_timestamps: stamps });
    });
  }
  return { metadata: { feature_names: names }, results };
}
