/**
 * Raw access to what the Redis bindings stored (the conformance suite's `raw` and `layout`), for a standalone Redis
 * and for a Redis Cluster, plus the cluster address of the local stack.
 */
import { readFileSync } from 'node:fs';
import type { FeastVectors, OnlineLayout, OnlineRawAccess } from '@strata/testkit';
import { type Cluster, Redis } from 'ioredis';
import { featureFieldHash, globEscape, redisKey } from './keys.js';
import { decodeTimestamp } from './proto.js';

export const layout: OnlineLayout = { key: redisKey, featureField: featureFieldHash, decodeTimestamp };

export const feastVectors = JSON.parse(
  readFileSync(new URL('./__fixtures__/feast-vectors.json', import.meta.url), 'utf8'),
) as FeastVectors;

/** STRATA_REDIS_CLUSTER_URL (set by `infra/stack.sh env` while `infra/stack.sh cluster-up` runs). */
export const CLUSTER_URL = process.env.STRATA_REDIS_CLUSTER_URL;

async function hashFields(client: Redis | Cluster, key: Buffer): Promise<Map<string, Buffer>> {
  const flat = (await client.callBuffer('HGETALL', key)) as Buffer[];
  const out = new Map<string, Buffer>();
  for (let i = 0; i < flat.length; i += 2) out.set((flat[i] as Buffer).toString('hex'), flat[i + 1] as Buffer);
  return out;
}

async function dropOn(node: Redis, project: string): Promise<void> {
  const pattern = Buffer.concat([Buffer.from('*'), globEscape(Buffer.from(project, 'utf8'))]);
  let cursor = '0';
  do {
    const [next, keys] = (await node.callBuffer('SCAN', cursor, 'MATCH', pattern, 'COUNT', 1000)) as [Buffer, Buffer[]];
    cursor = next.toString();
    // One DEL per key: on a cluster node, keys of one call must share a slot.
    for (const k of keys) await node.del(k);
  } while (cursor !== '0');
}

export function standaloneRaw(url: string): OnlineRawAccess {
  const redis = new Redis(url, { maxRetriesPerRequest: 2 });
  return {
    hashFields: (key) => hashFields(redis, key),
    exists: async (key) => (await redis.exists(key)) === 1,
    pttl: (key) => redis.pttl(key),
    forgetScripts: async () => {
      await redis.script('FLUSH');
    },
    dropProject: (p) => dropOn(redis, p),
    close: async () => {
      redis.disconnect();
    },
  };
}

export function clusterRaw(cluster: Cluster): OnlineRawAccess {
  return {
    hashFields: (key) => hashFields(cluster, key),
    exists: async (key) => (await cluster.exists(key)) === 1,
    pttl: (key) => cluster.pttl(key),
    forgetScripts: async () => {
      await cluster.ping(); // connected: the node list is known
      await Promise.all(cluster.nodes('master').map((m) => m.script('FLUSH')));
    },
    dropProject: async (p) => {
      await cluster.ping();
      for (const m of cluster.nodes('master')) await dropOn(m, p);
    },
    close: async () => {
      cluster.disconnect();
    },
  };
}
