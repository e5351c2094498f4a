import calculateSlot from 'cluster-key-slot';
import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { parseClusterNodes, RedisClusterOnlineStore } from './cluster.js';
import { redisKey } from './keys.js';
import { openOnlineStore } from './open.js';
import { RedisOnlineStore, rowsPerCall } from './store.js';

describe('Redis Cluster startup nodes', () => {
  it('reads a comma-separated node list, with or without scheme, credentials from the first entry', () => {
    expect(parseClusterNodes('redis://u:p%40ss@10.0.0.1:7001,10.0.0.2:7002, redis://10.0.0.3')).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7001 },
        { host: '10.0.0.2', port: 7002 },
        { host: '10.0.0.3', port: 6379 },
      ],
      username: 'u',
      password: 'p@ss',
      tls: false,
    });
    expect(parseClusterNodes('rediss://h:1').tls).toBe(true);
  });

  it('refuses an empty list, a bad scheme and an unknown store type, without echoing a password', () => {
    expect(() => parseClusterNodes(' , ')).toThrow(expect.objectContaining({ code: 'INVALID_SPEC' }));
    expect(() => parseClusterNodes('http://h:1')).toThrow(expect.objectContaining({ code: 'INVALID_SPEC' }));
    try {
      parseClusterNodes('redis://:secret@[bad');
    } catch (err) {
      expect(String((err as Error).message)).not.toContain('secret');
    }
    expect(() => openOnlineStore({ type: 'memcached' as never, url: 'x' })).toThrow(
      expect.objectContaining({ code: 'INVALID_SPEC' }),
    );
  });
});

describe('write calls of the write script', () => {
  const keyOf = (id: number) => redisKey('p', [{ name: 'user_id', valueType: 'INT64' }], { user_id: id });

  it('on a cluster: rows of one slot per call, in their order, split at the rows-per-call limit', () => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    const store = new RedisClusterOnlineStore(cluster);
    const slot = calculateSlot(keyOf(1));
    const same = [1];
    for (let id = 2; same.length < 4; id++) if (calculateSlot(keyOf(id)) === slot) same.push(id);
    const other = [2, 3].find((id) => calculateSlot(keyOf(id)) !== slot) as number;
    // Rows: same[0], other, same[1], same[0] again, same[2], same[3].
    const keys = [same[0], other, same[1], same[0], same[2], same[3]].map((id) => keyOf(id as number));
    expect(store.writeCalls(keys, 3)).toEqual([[0, 2, 3], [1], [4, 5]]);
    for (const call of store.writeCalls(keys, 100)) {
      expect(new Set(call.map((i) => calculateSlot(keys[i] as Buffer))).size).toBe(1);
    }
    cluster.disconnect();
  });

  it('on one Redis: consecutive runs of rows; a wide view gets fewer rows per call, never none', () => {
    const store = new RedisOnlineStore(new Redis({ lazyConnect: true }));
    const keys = [1, 2, 3, 4, 5].map(keyOf);
    expect(store.writeCalls(keys, 2)).toEqual([[0, 1], [2, 3], [4]]);
    expect(rowsPerCall(10)).toBe(100);
    expect(rowsPerCall(1000)).toBe(19);
    expect(rowsPerCall(100_000)).toBe(1);
    store.redis.disconnect();
  });
});
