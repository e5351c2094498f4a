/**
 * The Redis online stores, in Feast's Redis layout (see docs/online-store.md): newer-wins writes by a Lua script,
 * pipelined reads straight into columns with per-feature statuses, and per-view deletes that leave other views of the
 * same entity alone. One implementation, two transports: a standalone Redis (RedisOnlineStore) and a Redis Cluster
 * (RedisClusterOnlineStore, in cluster.ts), which differ only in how a batch of commands reaches the servers.
 */
import {
  type FeatureViewSpec,
  invalidInput,
  invalidSpec,
  type JoinKey,
  StrataError,
  type StrataErrorOptions,
} from '@strata/core';
import type {
  FeatureRead,
  FeatureStatus,
  OnlineSelection,
  OnlineStore,
  OnlineViewRef,
  OnlineWriteRow,
  ReadOptions,
  ViewColumns,
  WriteOptions,
  WriteResult,
} from '@strata/online-store';
import { readFeatureRecords } from '@strata/online-store';
import type { ChainableCommander } from 'ioredis';
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
import { WRITE_ROWS_SCRIPT_SHA, WRITE_SCRIPTS } from './write-script.js';

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

/** Rows per pipelined round trip. */
export const WRITE_BATCH = 500;
/**
 * Rows per call of the write script at most: Redis pays its per-call cost (script lookup, argument vector, Lua
 * call setup) and the client its per-command cost once per call. On a cluster a call holds only rows of one slot.
 */
export const ROWS_PER_CALL = 100;
/** Arguments per call at most: a view with many features gets fewer rows per call (at least one). */
const MAX_CALL_ARGS = 20_000;

/** Rows per call of the write script for a view with `features` features. */
export function rowsPerCall(features: number): number {
  return Math.max(1, Math.min(ROWS_PER_CALL, Math.floor(MAX_CALL_ARGS / (4 + features))));
}
export const READ_BATCH = 1000;
const SCAN_COUNT = 1000;
export { WRITE_ROWS_SCRIPT_SHA };

export type PipelineResult = [Error | null, unknown][];

interface PreparedRow {
  key: Buffer;
  /** The row's arguments to the write script: event seconds, nanos, Timestamp bytes, created bytes or '', values. */
  args: (Buffer | string)[];
}

/** One call of the write script: the rows at these indexes, in order. */
type WriteCall = number[];

/** A Buffer over the same bytes (no copy; the encoders return fresh arrays). */
const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

interface ReadPlan {
  sel: OnlineSelection;
  view: FeatureViewSpec;
  features: string[];
  sortedKeys: JoinKey[];
  fields: Buffer[];
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

/** A Value message to its JS value; a Value holding only double_val (tag 0x29, 8 bytes LE) is read directly. */
function decodeStored(bytes: Buffer, view: string, feature: string): unknown {
  if (bytes.length === 9 && bytes[0] === 0x29) return bytes.readDoubleLE(1);
  try {
    return decodeValue(bytes);
  } catch (err) {
    throw new StrataError('INTERNAL', `stored value of ${view}:${feature} is not a Feast Value message`, { cause: err });
  }
}

/** Field lists per selection object, so a caller that passes the same selection again skips the hashing. */
const planCache = new WeakMap<OnlineSelection, ReadPlan>();

function planFor(project: string, sel: OnlineSelection): ReadPlan {
  const cached = planCache.get(sel);
  if (cached && cached.view === sel.view && cached.features === sel.features) return cached;
  checkRef(project, sel.view, sel.joinKeys);
  const known = new Set(sel.view.features.map((f) => f.name));
  for (const f of sel.features) {
    if (!known.has(f)) {
      throw new StrataError('UNKNOWN_FEATURE', `feature view '${sel.view.name}' has no feature '${f}'`, {
        where: `${sel.view.name}:${f}`,
        hint: `its features are ${[...known].join(', ')}`,
      });
    }
  }
  const plan: ReadPlan = {
    sel,
    view: sel.view,
    features: sel.features,
    sortedKeys: sortJoinKeys(sel.joinKeys),
    fields: [...sel.features.map((f) => featureFieldHash(sel.view.name, f)), timestampField(sel.view.name)],
  };
  planCache.set(sel, plan);
  return plan;
}

/**
 * What the two transports share. A subclass says how a batch of single-key commands is pipelined to the servers
 * (`pipelined`), which servers a SCAN must visit (`scanNodes`), and how the write script is loaded.
 */
/** The key of a view's materialization marker (see FeastRedisStore.writeMarker). */
export function markerKey(project: string, view: string): string {
  return `strata:materialized:${project}:${view}`;
}

export abstract class FeastRedisStore implements OnlineStore {
  abstract readonly kind: string;
  abstract readonly address: string;
  protected scriptLoaded = false;

  /**
   * Runs one command per key, pipelined, and returns the replies in key order. `add` queues the command for key i on
   * the given pipeline. A transport error rejects (the caller maps it); per-command errors come back in the result.
   */
  protected abstract pipelined(
    keys: Buffer[],
    add: (pipeline: ChainableCommander, i: number) => void,
    op: string,
  ): Promise<PipelineResult>;

  /** Every server whose keys a SCAN must see (the one Redis, or every cluster master). */
  protected abstract scanNodes(): Redis[];

  /** Loads the write script where EVALSHA will run (the one Redis, or every cluster master). */
  protected abstract loadScriptEverywhere(): Promise<void>;

  /**
   * Splits a batch of rows (by their keys) into calls of the write script, each at most `perCall` rows, keeping the
   * rows' order within a call and for any one key (a standalone Redis: consecutive runs; a cluster: by slot).
   */
  writeCalls(keys: Buffer[], perCall: number): WriteCall[] {
    const calls: WriteCall[] = [];
    for (let start = 0; start < keys.length; start += perCall) {
      const call: WriteCall = [];
      for (let i = start; i < Math.min(keys.length, start + perCall); i++) call.push(i);
      calls.push(call);
    }
    return calls;
  }

  abstract ping(): Promise<void>;
  abstract waitUntilReady(ms: number): Promise<boolean>;
  abstract close(): Promise<void>;

  /** Redis errors to StrataErrors: refusals (WRONGTYPE, ERR) are INTERNAL, anything else UNAVAILABLE (retryable). */
  unavailable(err: unknown, op: string): StrataError {
    if (err instanceof StrataError) return err;
    const message = err instanceof Error ? err.message : String(err);
    const details = { address: this.address, operation: op, store: this.kind };
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

  protected async run(
    keys: Buffer[],
    add: (pipeline: ChainableCommander, i: number) => void,
    op: string,
  ): Promise<PipelineResult> {
    try {
      return await this.pipelined(keys, add, op);
    } catch (err) {
      throw this.unavailable(err, op);
    }
  }

  /**
   * Records that a view was materialized up to a commit: one small key per project and view, written with the
   * watermark. Its name starts with text, not the binary join-key count that every key of Feast's layout starts
   * with, so Feast's readers and Strata's own scans never see it. A Redis that lost its data loses this key too,
   * which is how a lost online store is told apart from a view that has no rows.
   */
  async writeMarker(project: string, view: string, commitSeq: number): Promise<void> {
    const key = Buffer.from(markerKey(project, view));
    const value = JSON.stringify({ commitSeq, at: new Date().toISOString() });
    const [reply] = await this.run([key], (p) => p.set(key, value), 'SET');
    if (reply?.[0]) throw this.unavailable(reply[0], 'SET');
  }

  /** The commit each view's marker records (undefined: no marker). One GET per view, so a cluster routes each. */
  async readMarkers(project: string, views: string[]): Promise<Map<string, number | undefined>> {
    const out = new Map<string, number | undefined>();
    if (!views.length) return out;
    const keys = views.map((v) => Buffer.from(markerKey(project, v)));
    const replies = await this.run(keys, (p, i) => p.get(keys[i] as Buffer), 'GET');
    views.forEach((v, i) => {
      const [err, raw] = replies[i] ?? [null, null];
      if (err) throw this.unavailable(err, 'GET');
      let seq: number | undefined;
      if (typeof raw === 'string' && raw) {
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
    const key = Buffer.from(markerKey(project, view));
    const [reply] = await this.run([key], (p) => p.del(key), 'DEL');
    if (reply?.[0]) throw this.unavailable(reply[0], 'DEL');
  }

  async writeRows(ref: OnlineViewRef, rows: OnlineWriteRow[], opts: WriteOptions = {}): Promise<WriteResult> {
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
    const head: (Buffer | string)[] = [tsField, ctField, ttlMs, String(features.length), ...features.map((f) => f.field)];

    const prepared: PreparedRow[] = rows.map((row, i) => {
      try {
        if (!row || typeof row !== 'object') throw invalidInput('a row must be an object');
        const event = checkDate(row.eventTime, 'eventTime');
        const ev = timestampParts(event);
        const args: (Buffer | string)[] = [String(ev.seconds), String(ev.nanos), asBuffer(encodeTimestamp(event)), ''];
        if (row.createdTime !== undefined && row.createdTime !== null) {
          args[3] = asBuffer(encodeTimestamp(checkDate(row.createdTime, 'createdTime')));
        }
        const values = row.values ?? {};
        for (const f of features) {
          try {
            args.push(asBuffer(encodeValue(f.valueType, values[f.name])));
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
      written += await this.runWriteScript(head, prepared.slice(start, start + WRITE_BATCH), rowsPerCall(features.length));
    }
    return { written, skippedOlder: prepared.length - written };
  }

  /**
   * Runs the write script over the rows, several rows per call (see writeCalls), the calls pipelined; re-loads the
   * script where Redis lost it (NOSCRIPT). Returns how many rows were written.
   */
  private async runWriteScript(head: (Buffer | string)[], rows: PreparedRow[], perCall: number): Promise<number> {
    if (!this.scriptLoaded) await this.loadScript();
    const calls = this.writeCalls(
      rows.map((r) => r.key),
      perCall,
    );
    let written = 0;
    let pending = calls;
    for (let attempt = 0; pending.length > 0; attempt++) {
      const batch = pending;
      const out = await this.run(
        batch.map((call) => (rows[call[0] as number] as PreparedRow).key),
        (p, j) => {
          const call = batch[j] as WriteCall;
          const keys = call.map((i) => (rows[i] as PreparedRow).key);
          const args: (Buffer | string)[] = head.slice();
          for (const i of call) for (const a of (rows[i] as PreparedRow).args) args.push(a);
          p.evalsha(WRITE_ROWS_SCRIPT_SHA, keys.length, ...keys, ...args);
        },
        'EVALSHA write',
      );
      const retry: WriteCall[] = [];
      out.forEach(([err, value], j) => {
        if (err) {
          if (/NOSCRIPT/.test(err.message) && attempt < 2) retry.push(batch[j] as WriteCall);
          else throw this.unavailable(err, 'EVALSHA write');
        } else {
          written += Number(value);
        }
      });
      if (retry.length > 0) await this.loadScript();
      pending = retry;
    }
    return written;
  }

  private async loadScript(): Promise<void> {
    try {
      await this.loadScriptEverywhere();
      this.scriptLoaded = true;
    } catch (err) {
      throw this.unavailable(err, 'SCRIPT LOAD');
    }
  }

  async readColumns(
    project: string,
    selections: OnlineSelection[],
    entityRows: Record<string, unknown>[],
    opts: ReadOptions = {},
  ): Promise<ViewColumns[]> {
    const now = opts.now ? checkDate(opts.now, 'now').getTime() : Date.now();
    const ps = selections.map((s) => planFor(project, s));
    const nv = ps.length;
    const n = entityRows.length;
    // Command c reads view c % nv of entity row floor(c / nv).
    const keys = new Array<Buffer>(n * nv);
    for (let i = 0; i < n; i++) {
      const row = entityRows[i] as Record<string, unknown>;
      for (let si = 0; si < nv; si++) {
        try {
          if (!row || typeof row !== 'object') throw invalidInput('an entity row must be an object of join key values');
          keys[i * nv + si] = redisKey(project, (ps[si] as ReadPlan).sortedKeys, row);
        } catch (err) {
          throw withRow(err, `entity row ${i}`);
        }
      }
    }
    const replies = new Array<(Buffer | null)[]>(keys.length);
    for (let start = 0; start < keys.length; start += READ_BATCH) {
      const chunk = keys.slice(start, start + READ_BATCH);
      const out = await this.run(
        chunk,
        (p, j) => {
          p.hmgetBuffer(chunk[j] as Buffer, ...(ps[(start + j) % nv] as ReadPlan).fields);
        },
        'HMGET',
      );
      for (let j = 0; j < out.length; j++) {
        const [err, value] = out[j] as [Error | null, unknown];
        if (err) throw this.unavailable(err, 'HMGET');
        replies[start + j] = value as (Buffer | null)[];
      }
    }

    return ps.map((p, si) => {
      const view = p.view;
      const names = p.sel.features;
      const nf = names.length;
      const eventTimes = new Array<number | null>(n);
      const columns = names.map(() => ({ values: new Array<unknown>(n), statuses: new Array<FeatureStatus>(n) }));
      const maxAgeMs = view.ttlSeconds > 0 ? view.ttlSeconds * 1000 : 0;
      for (let i = 0; i < n; i++) {
        const reply = replies[i * nv + si] as (Buffer | null)[];
        const tsBytes = reply[nf];
        const ms = tsBytes ? decodeTimestamp(tsBytes).getTime() : null;
        eventTimes[i] = ms;
        const tooOld = ms !== null && maxAgeMs > 0 && now - ms > maxAgeMs;
        for (let j = 0; j < nf; j++) {
          const col = columns[j] as ViewColumns['columns'][number];
          const bytes = reply[j];
          if (ms === null || bytes === null || bytes === undefined) {
            col.values[i] = null;
            col.statuses[i] = 'NOT_FOUND';
          } else if (tooOld) {
            col.values[i] = null;
            col.statuses[i] = 'OUTSIDE_MAX_AGE';
          } else {
            const value = decodeStored(bytes, view.name, names[j] as string);
            col.values[i] = value;
            col.statuses[i] = value === null ? 'NULL_VALUE' : 'PRESENT';
          }
        }
      }
      return { eventTimes, columns };
    });
  }

  /** readColumns as one record per entity row, keyed "view:feature". */
  readFeatures(
    project: string,
    entityRows: Record<string, unknown>[],
    selections: OnlineSelection[],
    opts: ReadOptions = {},
  ): Promise<Array<Record<string, FeatureRead>>> {
    return readFeatureRecords(this, project, entityRows, selections, opts);
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
    let keysTouched = 0;
    for (const node of this.scanNodes()) {
      let cursor = '0';
      do {
        let keys: Buffer[];
        try {
          // The pattern is binary, which scanBuffer's types do not allow; the command itself does.
          const [nextCursor, found] = (await node.callBuffer('SCAN', cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT)) as [
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
        const out = await this.run(mine, (p, j) => p.hdel(mine[j] as Buffer, ...fields), 'HDEL');
        for (const [err, removed] of out) {
          if (err) throw this.unavailable(err, 'HDEL');
          if (Number(removed) > 0) keysTouched++;
        }
      } while (cursor !== '0');
    }
    return { keysTouched };
  }
}

function describeAddress(redis: Redis): string {
  const o = redis.options ?? {};
  if (o.path) return o.path;
  return `${o.host ?? 'localhost'}:${o.port ?? 6379}${o.db ? `/${o.db}` : ''}`;
}

/** The online store on one standalone Redis. */
export class RedisOnlineStore extends FeastRedisStore {
  readonly kind = 'redis';
  readonly redis: Redis;
  readonly address: string;
  private readonly owned: boolean;

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
    super();
    this.redis = redis;
    this.owned = owned;
    this.address = describeAddress(redis);
  }

  protected async pipelined(keys: Buffer[], add: (pipeline: ChainableCommander, i: number) => void): Promise<PipelineResult> {
    const pipeline = this.redis.pipeline();
    for (let i = 0; i < keys.length; i++) add(pipeline, i);
    const out = (await pipeline.exec()) as PipelineResult | null;
    if (!out) throw new Error('pipeline was discarded');
    return out;
  }

  protected scanNodes(): Redis[] {
    return [this.redis];
  }

  protected async loadScriptEverywhere(): Promise<void> {
    for (const s of WRITE_SCRIPTS) {
      const sha = await this.redis.script('LOAD', s.source);
      if (sha !== s.sha) throw new Error(`SCRIPT LOAD returned ${String(sha)}, expected ${s.sha}`);
    }
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
}
