import { describe, expect, it } from 'vitest';
import { parseClusterNodes } from './cluster.js';
import { openOnlineStore } from './open.js';

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
