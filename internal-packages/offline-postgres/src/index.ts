export { type CopyColumn, csvField, encodeRows, RowError } from './copy-encode.js';
export {
  type EntityStream,
  getHistoricalFeatures,
  type HistoricalRequest,
  type HistoricalSelection,
  historicalColumns,
  outputName,
  PIT_STRATEGIES,
  type PitStrategy,
  planHistorical,
  streamHistoricalFeatures,
} from './historical.js';
export {
  arrowColumnBatch,
  type ColumnBatch,
  type CommitResult,
  type Ingestion,
  type IngestionStatus,
  OfflineStore,
  type StageResult,
  translatePgError,
  viewColumns,
} from './offline.js';
export { createPool, type Pool, type PoolClient, withTransaction } from './pool.js';
export { type ApplyResult, PgRegistry, REGISTRY_CHANNEL, type ViewVersion } from './registry.js';
export { migrate, REGISTRY_SCHEMA_VERSION } from './schema.js';
export { ident, qualified, stagingTableName, viewTableName } from './sql.js';
export { arrowSchema, cursorBatches, recordBatch } from './stream.js';
export {
  type AsOf,
  type CommitInfo,
  checkCommitRange,
  diffCommits,
  diffSummary,
  readViewAsOf,
  resolveAsOf,
  viewHistory,
} from './timetravel.js';
export { checkWritable, emptyBatch, type OutputFormat, outputFormat, writeBatches } from './output.js';
export {
  buildTrainingChunk,
  createTrainingSet,
  failTrainingSet,
  finishTrainingSet,
  getTrainingSet,
  listTrainingSets,
  partPath,
  type TrainingSet,
  type TrainingSetSpec,
  type TrainingSetStatus,
} from './training-sets.js';
export { csvFastPathHeader, stageCsvFile } from './stage-csv.js';
export { assertReadOnlyQuery, type ReadOnlyOptions, withReadOnly } from './readonly.js';
