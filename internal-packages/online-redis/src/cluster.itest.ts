/**
 * The Redis Cluster binding on a real cluster (3 masters + 3 replicas, `infra/stack.sh cluster-up`, address in
 * STRATA_REDIS_CLUSTER_URL) runs the OnlineStore conformance suite, and its keys sit where Redis Cluster puts them.
 * Without a cluster the suite is skipped, except under CI=true, where it fails.
 */
import { onlineStoreConformance } from '@strata/testkit';
import * as vitest from 'vitest';
import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClusterNodes, RedisClusterOnlineStore } from './cluster.js';
import { redisKey } from './keys.js';
import { CLUSTER_URL, clusterRaw, feastVectors, layout } from './raw.itest-helpers.js';

const url = CLUSTER_URL ?? (process.env.CI === 'true' ? 'redis://127.0.0.1:1' : undefined);

describe.skipIf(!url)('Redis Cluster binding (needs STRATA_REDIS_CLUSTER_URL, from infra/stack.sh cluster-up)', () => {
  const open = () => RedisClusterOnlineStore.connect(url as string);
  const rawCluster = () => new Cluster(parseClusterNodes(url as string).nodes, { redisOptions: { maxRetriesPerRequest: 2 } });

  onlineStoreConformance('Redis Cluster', { open, raw: () => clusterRaw(rawCluster()), layout, feastVectors, test: vitest });

  describe('cluster specifics', () => {
    let store: RedisClusterOnlineStore;
    let raw: Cluster;
    beforeAll(async () => {
      store = open();
      raw = rawCluster();
      await store.ping();
    });
    afterAll(async () => {
      await store.close();
      raw.disconnect();
    });

    it('talks to 3 masters, and a batch of keys lands on all of them in the unhashed Feast layout', async () => {
      expect(store.kind).toBe('redis-cluster');
      const masters = raw.nodes('master');
      await raw.ping();
      expect(raw.nodes('master').length).toBe(3);
      const project = `cl_${Date.now().toString(36)}`;
      const v = {
        name: 'spread',
        entities: ['user'],
        features: [{ name: 'n', valueType: 'INT64' as const }],
        timestampField: 'ts',
        ttlSeconds: 0,
        online: true,
      };
      const joinKeys = [{ name: 'user_id', valueType: 'INT64' as const }];
      const rows = Array.from({ length: 300 }, (_, i) => ({
        entityKey: { user_id: i },
        eventTime: new Date(),
        values: { n: i },
      }));
      expect(await store.writeRows({ project, view: v, joinKeys }, rows)).toEqual({ written: 300, skippedOlder: 0 });
      // Each key is on the master that owns CRC16(key) mod 16384 of the whole key (no hash tag): ask that node itself.
      const perMaster = new Map<string, number>();
      for (const r of rows) {
        const key = redisKey(project, joinKeys, r.entityKey);
        const owner = raw.slots[calculateSlot(key)]?.[0] as string;
        const node = masters.find((m) => `${m.options.host}:${m.options.port}` === owner);
        expect(node, owner).toBeDefined();
        expect(await node?.exists(key)).toBe(1);
        perMaster.set(owner, (perMaster.get(owner) ?? 0) + 1);
      }
      expect(perMaster.size).toBe(3);
      expect((await store.deleteView({ project, view: v, joinKeys })).keysTouched).toBe(300);
    });
  });
});
