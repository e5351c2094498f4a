/**
 * The Redis online store, in Feast's Redis layout (see docs/online-store.md): newer-wins writes by a Lua script,
 * pipelined reads with per-feature statuses, and per-view deletes that leave other views of the same entity alone.
 */
import { createHash } from 'node:crypto';
import {
  type FeatureViewSpec,
  invalidInput,
  invalidSpec,
  type JoinKey,
  StrataError,
  type StrataErrorOptions,
} from '@strata/core';
import { Redis, type RedisOptions } from 'ioredis';
import {
  createdField,
  featureFieldHash,
  projectKeyPattern,
  redisKey,
  sortJoinKeys,
  splitRedisKey,
  timestampField,
} from './keys.js';
import { decodeTimestamp, decodeValue, encodeTimestamp, encodeValue, timestampParts } from './proto.js';
import { WRITE_SCRIPT } from './write-script.js';

export interface OnlineViewRef {
  project: string;
  view: FeatureViewSpec;
  joinKeys: JoinKey[];
}

export interface OnlineWriteRow {
  /** Join key values by join-key name. */
  entityKey: Record<string, unknown>;
  eventTime: Date;
  /** Breaks ties between rows with the same event time (a later created time wins). */
  createdTime?: Date;
  /** Feature values by feature name; a feature of the view missing here is written as null. */
  values: Record<string, unknown>;
}

export type FeatureStatus = 'PRESENT' | 'NOT_FOUND' | 'NULL_VALUE' | 'OUTSIDE_MAX_AGE';

export interface FeatureRead {
  value: unknown;
  status: FeatureStatus;
  /** Event time of the view's row for this entity; null when there is none. */
  eventTime: Date | null;
}

export interface OnlineSelection {
  view: FeatureViewSpec;
  joinKeys: JoinKey[];
  features: string[];
}

export interface RedisConnectOptions {
  /** Time to establish a connection, per attempt (default 3000 ms). */
  connectTimeoutMs?: number;
  /** Time a command may wait for its reply before it fails (default 5000 ms). */
  commandTimeoutMs?: number;
  /** How many reconnect attempts a command waits through before it fails (default 2). */
  maxRetriesPerRequest?: number;
  /** Longest pause between reconnect attempts (default 1000 ms); the client keeps reconnecting forever. */
  maxReconnectDelayMs?: number;
  /**
   * Fail commands at once while disconnected instead of queueing them until the connection is back (ioredis'
   * enableOfflineQueue false): what a server answering requests wants (a fast 503, not a timeout).
   */
  failFast?: boolean;
  /** Extra ioredis options, applied last. */
  redis?: RedisOptions;
}

export interface WriteOptions {
  /** Expire entity hashes this long after the write (never shortens a longer expiry, never adds one to a key without). */
  keyTtlSeconds?: number;
}

/** Rows per pipelined round trip. */
const WRITE_BATCH = 500;
const READ_BATCH = 1000;
const SCAN_COUNT = 1000;
const WRITE_SCRIPT_SHA = createHash('sha1').update(WRITE_SCRIPT).digest('hex');

type PipelineResult = [Error | null, unknown][];

interface PreparedRow {
  key: Buffer;
  args: (Buffer | string)[];
}

function describeAddress(redis: Redis): string {
  const o = redis.options ?? {};
  if (o.path) return o.path;
  return `${o.host ?? 'localhost'}:${o.port ?? 6379}${o.db ? `/${o.db}` : ''}`;
}

function withRow(err: unknown, what: string): unknown {
  if (!(err instanceof StrataError)) return err;
  const opts: StrataErrorOptions = { where: err.where ? `${what}, ${err.where}` : what, details: err.details, cause: err };
  if (err.hint) opts.hint = err.hint;
  return new StrataError(err.code, `${what}: ${err.message}`, opts);
}

function checkRef(project: string, view: FeatureViewSpec, joinKeys: JoinKey[]): void {
  if (typeof project !== 'string' || project === '') throw invalidSpec('the online store needs a project name');
  if (!view || typeof view.name !== 'string' || !Array.isArray(view.features)) {
    throw invalidSpec('the online store needs a feature view spec with a name and features');
  }
  if (!Array.isArray(joinKeys) || joinKeys.length === 0) {
    throw invalidSpec(`feature view '${view.name}' has no join keys`, { hint: 'pass the join keys of the view entities' });
  }
}

function checkDate(d: unknown, what: string): Date {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw invalidInput(`${what} is not a valid Date`);
  return d;
}

/** The key of a view's materialization marker (see RedisOnlineStore.writeMarker). */
export function markerKey(project: string, view: string): string {
  return `strata:materialized:${project}:${view}`;
}

export class RedisOnlineStore {
  readonly redis: Redis;
  readonly address: string;
  private readonly owned: boolean;
  private scriptLoaded = false;

  /** Opens a store that owns its ioredis client (closed by close()). */
  static connect(url: string, options: RedisConnectOptions = {}): RedisOnlineStore {
    const maxDelay = options.maxReconnectDelayMs ?? 1000;
    const redis = new Redis(url, {
      connectTimeout: options.connectTimeoutMs ?? 3000,
      commandTimeout: options.commandTimeoutMs ?? 5000,
      maxRetriesPerRequest: options.maxRetriesPerRequest ?? 2,
      retryStrategy: (times) => Math.min(times * 100, maxDelay),
      enableOfflineQueue: !options.failFast,
      ...options.redis,
    });
    // Connection errors surface through the calls that fail; without a listener ioredis would print each one.
    redis.on('error', () => {});
    return new RedisOnlineStore(redis, true);
  }

  /** Wraps an existing ioredis client; close() then leaves it open. */
  constructor(redis: Redis, owned = false) {
    this.redis = redis;
    this.owned = owned;
    this.address = describeAddress(redis);
  }

  private unavailable(err: unknown, op: string): StrataError {
    if (err instanceof StrataError) return err;
    const message = err instanceof Error ? err.message : String(err);
    const details = { address: this.address, operation: op };
    if (err instanceof Error && err.name === 'ReplyError' && /^(WRONGTYPE|ERR)/.test(message)) {
      return new StrataError('INTERNAL', `Redis at ${this.address} refused ${op}: ${message}`, {
        where: this.address,
        details,
        cause: err,
      });
    }
    return new StrataError('UNAVAILABLE', `Redis at ${this.address} is unavailable (${op}): ${message}`, {
      where: this.address,
      hint: 'check that Redis is running and reachable; the call can be retried',
      details,
      cause: err,
    });
  }

  private async exec(pipeline: ReturnType<Redis['pipeline']>, op: string): Promise<PipelineResult> {
    let out: PipelineResult | null;
    try {
      out = (await pipeline.exec()) as PipelineResult | null;
    } catch (err) {
      throw this.unavailable(err, op);
    }
    if (!out) throw this.unavailable(new Error('pipeline was discarded'), op);
    return out;
  }

  /** Waits until the connection is ready, at most `ms`; true when it is (a fail-fast client's first commands need it). */
  async waitUntilReady(ms: number): Promise<boolean> {
    if (this.redis.status === 'ready') return true;
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.redis.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), ms);
      timer.unref?.();
      this.redis.once('ready', onReady);
    });
  }

  async ping(): Promise<void> {
    try {
      await this.redis.ping();
    } catch (err) {
      throw this.unavailable(err, 'PING');
    }
  }

  async close(): Promise<void> {
    if (!this.owned) return;
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }

  /**
   * Writes the latest values of a view for many entities. A row is written only when its event time is later than
   * the one stored for that view and entity (equal: only with a later createdTime), so retried and out-of-order
   * batches never regress. Every row is checked and encoded before anything is sent: bad input writes nothing.
   */
  async writeRows(
    ref: OnlineViewRef,
    rows: OnlineWriteRow[],
    opts: WriteOptions = {},
  ): Promise<{ written: number; skippedOlder: number }> {
    const { project, view, joinKeys } = ref;
    checkRef(project, view, joinKeys);
    const ttl = opts.keyTtlSeconds;
    if (ttl !== undefined && !(typeof ttl === 'number' && Number.isFinite(ttl) && ttl > 0)) {
      throw invalidInput(`keyTtlSeconds must be a positive number of seconds, not ${String(ttl)}`);
    }
    const ttlMs = ttl ? String(Math.max(1, Math.round(ttl * 1000))) : '0';
    const sortedKeys = sortJoinKeys(joinKeys);
    const tsField = timestampField(view.name);
    const ctField = createdField(view.name);
    const features = view.features.map((f) => ({ ...f, field: featureFieldHash(view.name, f.name) }));

    const prepared: PreparedRow[] = rows.map((row, i) => {
      try {
        if (!row || typeof row !== 'object') throw invalidInput('a row must be an object');
        const event = checkDate(row.eventTime, 'eventTime');
        const ev = timestampParts(event);
        const args: (Buffer | string)[] = [
          tsField,
          String(ev.seconds),
          String(ev.nanos),
          Buffer.from(encodeTimestamp(event)),
          ctField,
        ];
        if (row.createdTime !== undefined && row.createdTime !== null) {
          const created = checkDate(row.createdTime, 'createdTime');
          const ct = timestampParts(created);
          args.push(String(ct.seconds), String(ct.nanos), Buffer.from(encodeTimestamp(created)));
        } else {
          args.push('0', '0', '');
        }
        args.push(ttlMs);
        const values = row.values ?? {};
        for (const f of features) {
          try {
            args.push(f.field, Buffer.from(encodeValue(f.valueType, values[f.name])));
          } catch (err) {
            throw withRow(err, `feature '${f.name}'`);
          }
        }
        return { key: redisKey(project, sortedKeys, row.entityKey ?? {}), args };
      } catch (err) {
        throw withRow(err, `row ${i} of view '${view.name}'`);
      }
    });

    let written = 0;
    for (let start = 0; start < prepared.length; start += WRITE_BATCH) {
      const results = await this.runWriteScript(prepared.slice(start, start + WRITE_BATCH));
      for (const r of results) written += r;
    }
    return { written, skippedOlder: prepared.length - written };
  }

  /** Runs the write script for each row in one pipeline; re-loads the script when Redis lost it (NOSCRIPT). */
  private async runWriteScript(rows: PreparedRow[]): Promise<number[]> {
    if (!this.scriptLoaded) await this.loadScript();
    const results = new Array<number>(rows.length).fill(0);
    let pending = rows.map((_, i) => i);
    for (let attempt = 0; pending.length > 0; attempt++) {
      const pipeline = this.redis.pipeline();
      for (const i of pending) {
        const row = rows[i] as PreparedRow;
        pipeline.evalsha(WRITE_SCRIPT_SHA, 1, row.key, ...row.args);
      }
      const out = await this.exec(pipeline, 'EVALSHA write');
      const retry: number[] = [];
      out.forEach(([err, value], j) => {
        const i = pending[j] as number;
        if (err) {
          if (/NOSCRIPT/.test(err.message) && attempt < 2) retry.push(i);
          else throw this.unavailable(err, 'EVALSHA write');
        } else {
          results[i] = Number(value);
        }
      });
      if (retry.length > 0) await this.loadScript();
      pending = retry;
    }
    return results;
  }

  private async loadScript(): Promise<void> {
    try {
      const sha = await this.redis.script('LOAD', WRITE_SCRIPT);
      if (sha !== WRITE_SCRIPT_SHA) throw new Error(`SCRIPT LOAD returned ${String(sha)}, expected ${WRITE_SCRIPT_SHA}`);
      this.scriptLoaded = true;
    } catch (err) {
      throw this.unavailable(err, 'SCRIPT LOAD');
    }
  }

  /**
   * Reads features for entity rows. The result has one record per entity row, keyed "view:feature". Status:
   * NOT_FOUND when the entity has no row for the view (or the feature was never written), OUTSIDE_MAX_AGE when the
   * view has a TTL and the row is older than that at `now` (value null), NULL_VALUE for a stored null, else PRESENT.
   */
  async readFeatures(
    project: string,
    entityRows: Record<string, unknown>[],
    selections: OnlineSelection[],
    opts: { now?: Date } = {},
  ): Promise<Array<Record<string, FeatureRead>>> {
    const now = opts.now ? checkDate(opts.now, 'now').getTime() : Date.now();
    const plans = selections.map((s) => {
      checkRef(project, s.view, s.joinKeys);
      const known = new Set(s.view.features.map((f) => f.name));
      for (const f of s.features) {
        if (!known.has(f)) {
          throw new StrataError('UNKNOWN_FEATURE', `feature view '${s.view.name}' has no feature '${f}'`, {
            where: `${s.view.name}:${f}`,
            hint: `its features are ${[...known].join(', ')}`,
          });
        }
      }
      const fields = [...s.features.map((f) => featureFieldHash(s.view.name, f)), timestampField(s.view.name)];
      return { ...s, sortedKeys: sortJoinKeys(s.joinKeys), fields };
    });

    const commands: { key: Buffer; fields: Buffer[] }[] = [];
    entityRows.forEach((row, i) => {
      for (const p of plans) {
        try {
          if (!row || typeof row !== 'object') throw invalidInput('an entity row must be an object of join key values');
          commands.push({ key: redisKey(project, p.sortedKeys, row), fields: p.fields });
        } catch (err) {
          throw withRow(err, `entity row ${i}`);
        }
      }
    });

    const replies: (Buffer | null)[][] = [];
    for (let start = 0; start < commands.length; start += READ_BATCH) {
      const pipeline = this.redis.pipeline();
      for (const c of commands.slice(start, start + READ_BATCH)) pipeline.hmgetBuffer(c.key, ...c.fields);
      const out = await this.exec(pipeline, 'HMGET');
      for (const [err, value] of out) {
        if (err) throw this.unavailable(err, 'HMGET');
        replies.push(value as (Buffer | null)[]);
      }
    }

    let next = 0;
    return entityRows.map(() => {
      const result: Record<string, FeatureRead> = {};
      for (const p of plans) {
        const reply = replies[next++] as (Buffer | null)[];
        const tsBytes = reply[reply.length - 1];
        const eventTime = tsBytes === null || tsBytes === undefined ? null : decodeTimestamp(tsBytes);
        const tooOld = eventTime !== null && p.view.ttlSeconds > 0 && now - eventTime.getTime() > p.view.ttlSeconds * 1000;
        p.features.forEach((f, j) => {
          const name = `${p.view.name}:${f}`;
          const bytes = reply[j];
          if (eventTime === null || bytes === null || bytes === undefined) {
            result[name] = { value: null, status: 'NOT_FOUND', eventTime: null };
          } else if (tooOld) {
            result[name] = { value: null, status: 'OUTSIDE_MAX_AGE', eventTime };
          } else {
            let value: unknown;
            try {
              value = decodeValue(bytes);
            } catch (err) {
              throw new StrataError('INTERNAL', `stored value of ${name} is not a Feast Value message`, { cause: err });
            }
            result[name] = { value, status: value === null ? 'NULL_VALUE' : 'PRESENT', eventTime };
          }
        });
      }
      return result;
    });
  }

  /**
   * Removes one view's online data from a project: its feature fields, `_ts:<view>` and `_ct:<view>` in every entity
   * hash with the view's join keys. Other views' fields stay; a hash left empty disappears (Redis deletes empty hashes).
   */
  async deleteView(ref: OnlineViewRef): Promise<{ keysTouched: number }> {
    const { project, view, joinKeys } = ref;
    checkRef(project, view, joinKeys);
    const pattern = projectKeyPattern(project, joinKeys);
    const projectBytes = Buffer.from(project, 'utf8');
    const names = sortJoinKeys(joinKeys).map((k) => k.name);
    const fields = [
      ...view.features.map((f) => featureFieldHash(view.name, f.name)),
      timestampField(view.name),
      createdField(view.name),
    ];
    let cursor = '0';
    let keysTouched = 0;
    do {
      let keys: Buffer[];
      try {
        // The pattern is binary, which scanBuffer's types do not allow; the command itself does.
        const [nextCursor, found] = (await this.redis.callBuffer('SCAN', cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT)) as [
          Buffer,
          Buffer[],
        ];
        cursor = nextCursor.toString();
        keys = found;
      } catch (err) {
        throw this.unavailable(err, 'SCAN');
      }
      // The pattern's '*' could also swallow the end of a longer project name: keep exact matches only.
      const mine = keys.filter((k) => {
        const split = splitRedisKey(k);
        return split?.projectBytes.equals(projectBytes) && split.joinKeyNames.join('\0') === names.join('\0');
      });
      if (mine.length === 0) continue;
      const pipeline = this.redis.pipeline();
      for (const k of mine) pipeline.hdel(k, ...fields);
      for (const [err, removed] of await this.exec(pipeline, 'HDEL')) {
        if (err) throw this.unavailable(err, 'HDEL');
        if (Number(removed) > 0) keysTouched++;
      }
    } while (cursor !== '0');
    return { keysTouched };
  }

  /**
   * Records that a view was materialized up to a commit: one small key per project and view, written with the
   * watermark. Its name starts with text, not the binary join-key count that every key of Feast's layout starts
   * with, so Feast's readers and Strata's own scans never see it. A Redis that lost its data loses this key too,
   * which is how a lost online store is told apart from a view that has no rows.
   */
  async writeMarker(project: string, view: string, commitSeq: number): Promise<void> {
    try {
      await this.redis.set(markerKey(project, view), JSON.stringify({ commitSeq, at: new Date().toISOString() }));
    } catch (err) {
      throw this.unavailable(err, 'SET');
    }
  }

  /** The commit each view's marker records (undefined: no marker). */
  async readMarkers(project: string, views: string[]): Promise<Map<string, number | undefined>> {
    const out = new Map<string, number | undefined>();
    if (!views.length) return out;
    let values: (string | null)[];
    try {
      values = await this.redis.mget(...views.map((v) => markerKey(project, v)));
    } catch (err) {
      throw this.unavailable(err, 'MGET');
    }
    views.forEach((v, i) => {
      const raw = values[i];
      let seq: number | undefined;
      if (raw) {
        try {
          seq = Number((JSON.parse(raw) as { commitSeq?: unknown }).commitSeq);
        } catch {
          seq = undefined;
        }
      }
      out.set(v, seq !== undefined && Number.isFinite(seq) ? seq : undefined);
    });
    return out;
  }

  /** Removes a view's marker (the view was deleted or its online data dropped). */
  async deleteMarker(project: string, view: string): Promise<void> {
    try {
      await this.redis.del(markerKey(project, view));
    } catch (err) {
      throw this.unavailable(err, 'DEL');
    }
  }
}
