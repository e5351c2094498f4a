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
export {
  decodeTimestamp,
  decodeTypedValue,
  decodeValue,
  encodeTimestamp,
  encodeValue,
  NULL_TIMESTAMP_INT,
  VALUE_FIELDS,
} from './proto.js';
export {
  type FeatureRead,
  type FeatureStatus,
  type OnlineSelection,
  type OnlineViewRef,
  type OnlineWriteRow,
  markerKey,
  type RedisConnectOptions,
  RedisOnlineStore,
  type WriteOptions,
} from './store.js';
export { WRITE_SCRIPT } from './write-script.js';
