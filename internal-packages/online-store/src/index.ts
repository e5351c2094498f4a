export {
  type FeatureRead,
  type FeatureStatus,
  type OnlineSelection,
  type OnlineStore,
  type OnlineViewRef,
  type OnlineWriteRow,
  readFeatureRecords,
  type ReadOptions,
  type ViewColumns,
  type WriteOptions,
  type WriteResult,
} from './store.js';
