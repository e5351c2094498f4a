export { type CopyColumn, csvField, encodeColumns, encodeRows, pgText, RowError } from './copy-encode.js';
export {
  checkAsOf,
  entityColumns,
  entityRowChunks,
  entityRowError,
  entityRowsCsv,
  type EntityStream,
  getHistoricalFeatures,
  type HistoricalReadOptions,
  type HistoricalRequest,
  type HistoricalSelection,
  historicalColumns,
  INLINE_CHUNK_ROWS,
  inlineEntities,
  labelColumns,
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
  type IngestionSummary,
  isTransientSqlState,
  type JanitorReport,
  OfflineStore,
  type OfflineStoreOptions,
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
export { checkWritable, DATASET_MARKER, emptyBatch, type OutputFormat, outputFormat, writeBatches } from './output.js';
export {
  buildTrainingChunk,
  createTrainingSet,
  failTrainingSet,
  finishTrainingSet,
  getTrainingSet,
  listTrainingSets,
  markTrainingSetBuilding,
  DEFAULT_SEGMENT_ROWS,
  segmentPath,
  type TrainingChunkCursor,
  type TrainingChunkResult,
  partsDir,
  requestOf,
  setTrainingSetWorkflow,
  type TrainingSet,
  type TrainingSetSpec,
  type TrainingSetStatus,
} from './training-sets.js';
export { applyFittedBatch, type DerivedFeatures, fitTransformations, onDemandBatch } from './training-on-demand.js';
export { csvFastPathHeader, stageCsvFile } from './stage-csv.js';
export { type ResumableStageOptions, type StagingCursor, stageResumable, stagingChunkPrefix } from './stage-chunks.js';
export { type ApiKeyRecord, type AuditEntry, PgAccess, type Role } from './access.js';
export { advanceStreamOffsets, type OffsetAdvance, readStreamOffsets, readStreamStates } from './stream-offsets.js';
export { aggregateHistory, type HistoryWindow, windowAggregateSql } from './windows.js';
export {
  backfillCommitFiles,
  type CommitExport,
  type CommitFile,
  type CommitFileFacts,
  type CommitFileSink,
  commitFiles,
  commitsWithoutFiles,
  type ExportColumn,
  exportCommit,
  filesWithoutFacts,
  recordFileFacts,
  type WrittenCommitFile,
} from './manifest.js';
export { assertReadOnlyQuery, type ReadOnlyOptions, withReadOnly } from './readonly.js';
export {
  DEFAULT_REPLICA_WAIT_MS,
  type NeededCommit,
  neededCommits,
  openReadReplica,
  type ReadReplica,
  type ReadRoute,
  type ReplicaOptions,
  routeRead,
} from './replica.js';
export {
  finishMaterializationRun,
  type MaterializationRun,
  type MaterializationStart,
  materializationRuns,
  startMaterializationRun,
  type WatermarkRecord,
  watermarkRecord,
} from './runs.js';
export { ENTITY_SQL_TIMEOUT_MS, READER_ROLE, runEntityQuery } from './entity-sql.js';
export {
  advancePipelineWatermark,
  doneWindows,
  pipelineWatermark,
  type PipelineWindow,
  type PipelineWindowOutcome,
  pipelineWindows,
  recordPipelineWindow,
} from './pipeline-state.js';
export {
  type EntityRow,
  entityRows,
  firstMaterializationOf,
  type LineageIngestionRow,
  type LineageTrainingSetRow,
  lineageRecords,
  registryObjects,
} from './insight.js';
