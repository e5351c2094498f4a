export {
  ColumnarOfflineStore,
  type OfflineConfig,
  openOfflineStore,
  PostgresOfflineStore,
} from './bindings.js';
export type { LatestPageOptions, OfflineEngineName, OfflineStore, TrainingRequest } from './store.js';
