import { invalidSpec } from '@strata/core';
import type { OnlineStore } from '@strata/online-store';
import { RedisClusterOnlineStore } from './cluster.js';
import { type RedisConnectOptions, RedisOnlineStore } from './store.js';

export interface OnlineStoreConfig {
  /** 'redis' (one server, the default) or 'redis_cluster' (Feast's name for it). */
  type?: 'redis' | 'redis_cluster';
  /** redis://host:port[/db] for 'redis'; a comma-separated node list (redis://h1:p1,h2:p2) for 'redis_cluster'. */
  url: string;
}

/** Opens the online store a config names; the caller closes it. */
export function openOnlineStore(config: OnlineStoreConfig, options: RedisConnectOptions = {}): OnlineStore {
  const type = config.type ?? 'redis';
  if (type === 'redis') return RedisOnlineStore.connect(config.url, options);
  if (type === 'redis_cluster') return RedisClusterOnlineStore.connect(config.url, options);
  throw invalidSpec(`online store type '${String(type)}' is not known`, { hint: "use 'redis' or 'redis_cluster'" });
}
