export type {
  FeatureRead,
  FeatureStatus,
  OnlineSelection,
  OnlineStore,
  OnlineViewRef,
  OnlineWriteRow,
  ViewColumns,
  WriteOptions,
} from '@strata/online-store';
export { parseClusterNodes, type RedisClusterConnectOptions, RedisClusterOnlineStore } from './cluster.js';
export {
  createdField,
  entityKeyPrefixV3,
  featureFieldHash,
  projectKeyPattern,
  redisKey,
  serializeEntityKeyV3,
  sortJoinKeys,
  splitRedisKey,
  timestampField,
} from './keys.js';
export { murmur3x86_32 } from './murmur.js';
export { type OnlineStoreConfig, openOnlineStore } from './open.js';
export {
  decodeTimestamp,
  decodeTypedValue,
  decodeValue,
  encodeTimestamp,
  encodeValue,
  NULL_TIMESTAMP_INT,
  VALUE_FIELDS,
} from './proto.js';
export { FeastRedisStore, markerKey, type RedisConnectOptions, RedisOnlineStore } from './store.js';
export { WRITE_ROWS_SCRIPT, WRITE_ROWS_SCRIPT_SHA } from './write-script.js';
