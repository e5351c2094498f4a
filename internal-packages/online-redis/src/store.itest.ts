/**
 * The standalone Redis binding on a real Redis (STRATA_REDIS_URL, default the local stack's 127.0.0.1:6380) runs the
 * OnlineStore conformance suite.
 */
import { onlineStoreConformance } from '@strata/testkit';
import * as vitest from 'vitest';
import { feastVectors, layout, standaloneRaw } from './raw.itest-helpers.js';
import { RedisOnlineStore } from './store.js';

const REDIS_URL = process.env.STRATA_REDIS_URL ?? 'redis://127.0.0.1:6380';

onlineStoreConformance('standalone Redis', {
  open: () => RedisOnlineStore.connect(REDIS_URL),
  raw: () => standaloneRaw(REDIS_URL),
  layout,
  feastVectors,
  test: vitest,
});
