/**
 * Feast's online response shape built for serving: the same output as the SDK's readOnline (the itest compares
 * them), read straight into columns. A batch of 100 entities x 50 features is 5,000 values, so the per-value work is
 * cut down: one pipelined HMGET per entity row and view (as the online store does), values decoded into the column
 * arrays without an intermediate record per value, DOUBLE values (a 9-byte Value message) read directly, event-time
 * text made once per entity row and view and cached by second, and numbers, strings and booleans passed through.
 */
import { invalidInput, type JoinKey, type ResolvedSelection, StrataError } from '@strata/core';
import {
  decodeTimestamp,
  decodeValue,
  type FeatureStatus,
  featureFieldHash,
  type RedisOnlineStore,
  redisKey,
  sortJoinKeys,
  timestampField,
} from '@strata/online-redis';
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

const READ_BATCH = 1000;

interface Plan {
  sel: ResolvedSelection & { joinKeys: JoinKey[] };
  sortedKeys: JoinKey[];
  fields: Buffer[];
}

/** Field lists per resolved selection (the resolution itself is memoized per registry snapshot). */
const plans = new WeakMap<object, Plan>();

function planFor(sel: ResolvedSelection & { joinKeys: JoinKey[] }, memoKey: object | undefined): Plan {
  const cached = memoKey ? plans.get(memoKey) : undefined;
  if (cached && cached.sel.view === sel.view) return cached;
  const plan: Plan = {
    sel,
    sortedKeys: sortJoinKeys(sel.joinKeys),
    fields: [...sel.features.map((f) => featureFieldHash(sel.view.name, f.name)), Buffer.from(timestampField(sel.view.name))],
  };
  if (memoKey) plans.set(memoKey, plan);
  return plan;
}

function unavailable(store: RedisOnlineStore, err: unknown): StrataError {
  if (err instanceof StrataError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const details = { address: store.address, operation: 'HMGET' };
  if (err instanceof Error && err.name === 'ReplyError' && /^(WRONGTYPE|ERR)/.test(message)) {
    return new StrataError('INTERNAL', `Redis at ${store.address} refused HMGET: ${message}`, { details, cause: err });
  }
  return new StrataError('UNAVAILABLE', `Redis at ${store.address} is unavailable (HMGET): ${message}`, {
    where: store.address,
    hint: 'check that Redis is running and reachable; the call can be retried',
    details,
    cause: err,
  });
}

function decode(bytes: Buffer): unknown {
  // A Value holding only double_val (field 5, fixed64): tag 0x29 and 8 bytes little-endian.
  if (bytes.length === 9 && bytes[0] === 0x29) return bytes.readDoubleLE(1);
  return decodeValue(bytes);
}

export async function serveOnline(
  store: RedisOnlineStore,
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
  const ps = selections.map((s, i) => planFor(s, opts.memo?.[i]));
  const n = entityRows.length;
  const keys: Buffer[][] = ps.map(() => new Array<Buffer>(n));
  for (let i = 0; i < n; i++) {
    for (let si = 0; si < ps.length; si++) {
      const p = ps[si] as Plan;
      try {
        (keys[si] as Buffer[])[i] = redisKey(project, p.sortedKeys, entityRows[i] as Record<string, unknown>);
      } catch (err) {
        if (err instanceof StrataError) {
          throw new StrataError(err.code, `entity row ${i}: ${err.message}`, {
            where: err.where ? `entity row ${i}, ${err.where}` : `entity row ${i}`,
            details: err.details,
            cause: err,
            ...(err.hint ? { hint: err.hint } : {}),
          });
        }
        throw err;
      }
    }
  }
  // replies[si][i]: the HMGET reply of view si for entity row i.
  const replies: (Buffer | null)[][][] = ps.map(() => new Array(n));
  const total = n * ps.length;
  for (let start = 0; start < total; start += READ_BATCH) {
    const pipeline = store.redis.pipeline();
    const end = Math.min(total, start + READ_BATCH);
    for (let c = start; c < end; c++) {
      const si = c % ps.length;
      const i = (c - si) / ps.length;
      pipeline.hmgetBuffer((keys[si] as Buffer[])[i] as Buffer, ...(ps[si] as Plan).fields);
    }
    let out: [Error | null, unknown][] | null;
    try {
      out = (await pipeline.exec()) as [Error | null, unknown][] | null;
    } catch (err) {
      throw unavailable(store, err);
    }
    if (!out) throw unavailable(store, new Error('pipeline was discarded'));
    for (let c = start; c < end; c++) {
      const [err, value] = out[c - start] as [Error | null, unknown];
      if (err) throw unavailable(store, err);
      const si = c % ps.length;
      (replies[si] as (Buffer | null)[][])[(c - si) / ps.length] = value as (Buffer | null)[];
    }
  }

  const now = opts.now ? opts.now.getTime() : Date.now();
  const names: string[] = [...keyNames];
  const results: OnlineColumn[] = keyNames.map((k) => ({
    values: entityRows.map((r) => r[k]),
    statuses: new Array<FeatureStatus>(n).fill('PRESENT'),
    event_timestamps: new Array<string>(n).fill(EPOCH),
  }));
  for (let si = 0; si < ps.length; si++) {
    const p = ps[si] as Plan;
    const view = p.sel.view;
    const nf = p.sel.features.length;
    const cols: OnlineColumn[] = p.sel.features.map((f) => {
      names.push(opts.fullFeatureNames ? `${view.name}__${f.name}` : f.name);
      return { values: new Array(n), statuses: new Array<FeatureStatus>(n), event_timestamps: new Array<string>(n) };
    });
    for (let i = 0; i < n; i++) {
      const reply = (replies[si] as (Buffer | null)[][])[i] as (Buffer | null)[];
      const tsBytes = reply[nf];
      const eventTime = tsBytes ? decodeTimestamp(tsBytes) : null;
      const tooOld = eventTime !== null && view.ttlSeconds > 0 && now - eventTime.getTime() > view.ttlSeconds * 1000;
      if (eventTime !== null && !tooOld && opts.onServedAge) opts.onServedAge(view.name, now - eventTime.getTime());
      const timeText = eventTime ? isoSeconds(eventTime) : EPOCH;
      for (let j = 0; j < nf; j++) {
        const col = cols[j] as OnlineColumn;
        const bytes = reply[j];
        if (eventTime === null || bytes === null || bytes === undefined) {
          col.values[i] = null;
          col.statuses[i] = 'NOT_FOUND';
          col.event_timestamps[i] = EPOCH;
        } else if (tooOld) {
          col.values[i] = null;
          col.statuses[i] = 'OUTSIDE_MAX_AGE';
          col.event_timestamps[i] = timeText;
        } else {
          let value: unknown;
          try {
            value = decode(bytes);
          } catch (err) {
            throw new StrataError(
              'INTERNAL',
              `stored value of ${view.name}:${p.sel.features[j]?.name} is not a Feast Value message`,
              {
                cause: err,
              },
            );
          }
          col.values[i] = value === null ? null : plain(value);
          col.statuses[i] = value === null ? 'NULL_VALUE' : 'PRESENT';
          col.event_timestamps[i] = timeText;
        }
      }
    }
    results.push(...cols);
  }
  return { metadata: { feature_names: names }, results };
}
