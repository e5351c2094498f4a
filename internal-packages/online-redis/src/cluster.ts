/**
 * The online store on a Redis Cluster, in the same key layout as the standalone store and as Feast's `redis_cluster`
 * online store: the key is the serialized entity key followed by the project, with no hash tag, so each entity hash
 * lands on the slot Redis computes for those bytes (CRC16 mod 16384) and Feast and Strata find it in the same place.
 * A batch is split by the node group that serves each key's slot and the groups' pipelines run in parallel.
 */
import { invalidSpec } from '@strata/core';
import calculateSlot from 'cluster-key-slot';
import { type ChainableCommander, Cluster, type ClusterOptions, type Redis } from 'ioredis';
import { FeastRedisStore, type PipelineResult, type RedisConnectOptions } from './store.js';
import { WRITE_SCRIPTS } from './write-script.js';

/** Replies that mean the slot map changed or the cluster is not serving the slot right now. */
const REDIRECTED = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b/;

export interface RedisClusterConnectOptions extends RedisConnectOptions {
  /** How often the client re-reads the slot map (default 1000 ms), so a failover is noticed quickly. */
  slotsRefreshIntervalMs?: number;
  /** Extra ioredis Cluster options, applied last. */
  cluster?: ClusterOptions;
}

/**
 * Startup nodes from a comma-separated list: `redis://[user:password@]host:port,host:port,...` (the scheme and the
 * credentials on the first entry apply to all; `rediss://` means TLS).
 */
export function parseClusterNodes(spec: string): {
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
  tls: boolean;
} {
  const parts = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length === 0) {
    throw invalidSpec('the Redis Cluster URL names no nodes', {
      hint: 'give one or more nodes: redis://host1:6379,host2:6379',
    });
  }
  let username: string | undefined;
  let password: string | undefined;
  let tls = false;
  const nodes = parts.map((part, i) => {
    const withScheme = /^[a-z]+:\/\//i.test(part) ? part : `redis://${part}`;
    let u: URL;
    try {
      u = new URL(withScheme);
    } catch {
      throw invalidSpec(`Redis Cluster node '${part.replace(/\/\/[^@]*@/, '//***@')}' is not host:port`, {
        hint: 'give nodes as redis://host1:6379,host2:6379',
      });
    }
    if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
      throw invalidSpec(`Redis Cluster node scheme ${u.protocol} is not redis: or rediss:`);
    }
    if (i === 0) {
      tls = u.protocol === 'rediss:';
      if (u.username) username = decodeURIComponent(u.username);
      if (u.password) password = decodeURIComponent(u.password);
    }
    return { host: u.hostname, port: u.port ? Number(u.port) : 6379 };
  });
  const out: ReturnType<typeof parseClusterNodes> = { nodes, tls };
  if (username !== undefined) out.username = username;
  if (password !== undefined) out.password = password;
  return out;
}

export class RedisClusterOnlineStore extends FeastRedisStore {
  readonly kind = 'redis-cluster';
  readonly cluster: Cluster;
  readonly address: string;
  private readonly owned: boolean;

  /** Opens a store on a cluster given by its startup nodes (see parseClusterNodes); close() disconnects it. */
  static connect(spec: string, options: RedisClusterConnectOptions = {}): RedisClusterOnlineStore {
    const parsed = parseClusterNodes(spec);
    const maxDelay = options.maxReconnectDelayMs ?? 1000;
    const cluster = new Cluster(parsed.nodes, {
      scaleReads: 'master',
      enableOfflineQueue: true,
      slotsRefreshInterval: options.slotsRefreshIntervalMs ?? 1000,
      slotsRefreshTimeout: options.connectTimeoutMs ?? 3000,
      clusterRetryStrategy: (times) => Math.min(times * 100, maxDelay),
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      redisOptions: {
        connectTimeout: options.connectTimeoutMs ?? 3000,
        commandTimeout: options.commandTimeoutMs ?? 5000,
        maxRetriesPerRequest: options.maxRetriesPerRequest ?? 2,
        ...(parsed.username !== undefined ? { username: parsed.username } : {}),
        ...(parsed.password !== undefined ? { password: parsed.password } : {}),
        ...(parsed.tls ? { tls: {} } : {}),
        ...options.redis,
      },
      ...options.cluster,
    });
    // Connection errors surface through the calls that fail; without a listener ioredis would print each one.
    cluster.on('error', () => {});
    return new RedisClusterOnlineStore(
      cluster,
      true,
      parsed.nodes.map((n) => `${n.host}:${n.port}`).join(','),
      options.commandTimeoutMs ?? 5000,
    );
  }

  /** Wraps an existing ioredis Cluster; close() then leaves it open. */
  /**
   * A batch that is not answered within this time fails (UNAVAILABLE), even while the client is still following
   * redirections or waiting for a new slot map after a failover.
   */
  readonly batchTimeoutMs: number;

  constructor(cluster: Cluster, owned = false, address?: string, batchTimeoutMs = 5000) {
    super();
    this.batchTimeoutMs = batchTimeoutMs;
    this.cluster = cluster;
    this.owned = owned;
    this.address = address ?? 'redis cluster';
  }

  /** Master connections by "host:port", from the cluster's pool; rebuilt when one is missing or closed. */
  private masters = new Map<string, Redis>();

  private masterFor(nodeKey: string): Redis | undefined {
    const known = this.masters.get(nodeKey);
    if (known && known.status === 'ready') return known;
    this.masters.clear();
    for (const m of this.cluster.nodes('master')) this.masters.set(`${m.options.host}:${m.options.port}`, m);
    const found = this.masters.get(nodeKey);
    return found && found.status === 'ready' ? found : undefined;
  }

  /**
   * Groups the commands by the master that owns each key's slot and sends each group as a plain pipeline on that
   * master's connection (the groups in parallel). A group that meets a redirection (MOVED, ASK: the slot map
   * changed), a cluster that is down or a closed connection goes again through ioredis' cluster pipeline, which
   * follows redirections and waits for a new slot map.
   */
  protected async pipelined(keys: Buffer[], add: (pipeline: ChainableCommander, i: number) => void): Promise<PipelineResult> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${this.batchTimeoutMs} ms (failover or overload)`)),
        this.batchTimeoutMs,
      );
    });
    const work = this.pipelinedByMaster(keys, add);
    work.catch(() => {});
    try {
      return await Promise.race([work, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async pipelinedByMaster(
    keys: Buffer[],
    add: (pipeline: ChainableCommander, i: number) => void,
  ): Promise<PipelineResult> {
    const groups = new Map<string, number[]>();
    const slots = this.cluster.slots;
    for (let i = 0; i < keys.length; i++) {
      const slot = calculateSlot(keys[i] as Buffer);
      const owner = slots[slot]?.[0];
      const g = owner ?? `slot:${slot}`;
      let list = groups.get(g);
      if (!list) {
        list = [];
        groups.set(g, list);
      }
      list.push(i);
    }
    const out = new Array<[Error | null, unknown]>(keys.length);
    await Promise.all(
      [...groups.entries()].map(async ([owner, idx]) => {
        const node = owner.startsWith('slot:') ? undefined : this.masterFor(owner);
        let res: PipelineResult | null = null;
        if (node) {
          const p = node.pipeline();
          for (const i of idx) add(p, i);
          try {
            res = (await p.exec()) as PipelineResult | null;
          } catch {
            res = null;
          }
          if (res?.some(([err]) => err && REDIRECTED.test(err.message))) res = null;
        }
        if (!res) res = await this.viaCluster(keys, idx, add);
        idx.forEach((i, j) => {
          out[i] = (res as PipelineResult)[j] as [Error | null, unknown];
        });
      }),
    );
    return out;
  }

  /** The commands at `idx` through ioredis' cluster pipelines, one per slot group (as ioredis requires). */
  private async viaCluster(
    keys: Buffer[],
    idx: number[],
    add: (pipeline: ChainableCommander, i: number) => void,
  ): Promise<PipelineResult> {
    const bySlotGroup = new Map<string, number[]>();
    for (const i of idx) {
      const slot = calculateSlot(keys[i] as Buffer);
      const g = this.cluster.slots[slot]?.join(';') ?? `slot:${slot}`;
      const list = bySlotGroup.get(g) ?? [];
      list.push(i);
      bySlotGroup.set(g, list);
    }
    const where = new Map<number, [Error | null, unknown]>();
    await Promise.all(
      [...bySlotGroup.values()].map(async (group) => {
        const pipeline = this.cluster.pipeline();
        for (const i of group) add(pipeline, i);
        const res = (await pipeline.exec()) as PipelineResult | null;
        if (!res) throw new Error('pipeline was discarded');
        group.forEach((i, j) => {
          where.set(i, res[j] as [Error | null, unknown]);
        });
      }),
    );
    return idx.map((i) => where.get(i) as [Error | null, unknown]);
  }

  /**
   * A call of the write script may only touch keys of one slot: the rows are grouped by slot (in their order) and
   * each group split at `perCall` rows. Random entity keys rarely share a slot, so most calls hold one row here.
   */
  override writeCalls(keys: Buffer[], perCall: number): number[][] {
    const bySlot = new Map<number, number[][]>();
    const calls: number[][] = [];
    for (let i = 0; i < keys.length; i++) {
      const slot = calculateSlot(keys[i] as Buffer);
      let open = bySlot.get(slot);
      if (!open) {
        open = [];
        bySlot.set(slot, open);
      }
      let call = open[open.length - 1];
      if (!call || call.length >= perCall) {
        call = [];
        open.push(call);
        calls.push(call);
      }
      call.push(i);
    }
    return calls;
  }

  protected scanNodes(): Redis[] {
    return this.cluster.nodes('master');
  }

  protected async loadScriptEverywhere(): Promise<void> {
    await this.ready();
    const masters = this.cluster.nodes('master');
    if (masters.length === 0) throw new Error('the cluster has no reachable master');
    await Promise.all(
      masters.map(async (m) => {
        for (const s of WRITE_SCRIPTS) {
          const sha = await m.script('LOAD', s.source);
          if (sha !== s.sha) throw new Error(`SCRIPT LOAD returned ${String(sha)}, expected ${s.sha}`);
        }
      }),
    );
  }

  /** Waits until the client knows the slot map (its first connect). */
  private async ready(): Promise<void> {
    if (this.cluster.status === 'ready') return;
    await this.cluster.ping();
  }

  /**
   * Waits until the client knows the slot map, at most `ms`; true when it does. (A cluster client keeps its offline
   * queue even with failFast: during a failover commands wait for the new master, bounded by the command timeout.)
   */
  async waitUntilReady(ms: number): Promise<boolean> {
    if (this.cluster.status === 'ready') return true;
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.cluster.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), ms);
      timer.unref?.();
      this.cluster.once('ready', onReady);
    });
  }

  /** Health: every master answers and the cluster reports cluster_state:ok. */
  async ping(): Promise<void> {
    try {
      await this.ready();
      const masters = this.cluster.nodes('master');
      if (masters.length === 0) throw new Error('no reachable master');
      await Promise.all(masters.map((m) => m.ping()));
      const info = String(await (masters[0] as Redis).cluster('INFO'));
      if (!/cluster_state:ok/.test(info)) {
        throw new Error(`cluster state is ${/cluster_state:(\w+)/.exec(info)?.[1] ?? 'unknown'}`);
      }
    } catch (err) {
      throw this.unavailable(err, 'PING');
    }
  }

  async close(): Promise<void> {
    if (!this.owned) return;
    try {
      await this.cluster.quit();
    } catch {
      this.cluster.disconnect();
    }
  }
}
