export {
  type ConnectOptions,
  entity,
  type FeatureSelection,
  featureService,
  type HistoricalOptions,
  type IngestHandle,
  type IngestOptions,
  RunHandle,
  Strata,
} from './client.js';
export {
  connectionUrls,
  ConfigSchema,
  findConfigFile,
  loadConfig,
  type LoadConfigOptions,
  type StrataConfig,
  type StrataConfigInput,
} from './config.js';
export {
  entityRowsFromColumns,
  jsonValue,
  type OnlineColumn,
  type OnlineFeaturesResponse,
  readOnline,
  responseToRows,
} from './online.js';
export { detectFormat, type FileFormat, inferTextType, readBatches, readTable, viewColumnTypes } from './readers.js';
export * from '@strata/core';
export type { IngestResult, MaterializeResult, Progress, TrainingSetResult } from '@strata/workflows';

import { type ConnectOptions, Strata } from './client.js';

/** Connects to the stores and Temporal described by strata.yaml and the environment. */
export function connect(opts: ConnectOptions = {}): Promise<Strata> {
  return Strata.connect(opts);
}
export { checkWritable, formatTable, writeBatches, writeTable } from './writers.js';
export { collect, parseAsOf, type TimeTravelOptions } from './history.js';
export type { CommitInfo, TrainingSet } from '@strata/offline-postgres';
export { csvFastPathHeader, stageCsvFile } from '@strata/offline-postgres';
export {
  createMaterializeSchedule,
  deleteMaterializeSchedule,
  describeSchedule,
  listMaterializeSchedules,
  type MaterializeSchedule,
  materializeScheduleId,
  parseEvery,
  triggerMaterializeSchedule,
} from './schedules.js';
export { type MaterializationRun, materializationHistory } from './materializations.js';
export {
  backfill,
  createPipelineSchedule,
  deletePipelineSchedule,
  describePipelineSchedule,
  type PipelineSchedule,
  type PipelineScheduleOptions,
  type PipelineStatus,
  type PipelineWindowRecord,
  pausePipelineSchedule,
  pipelineStatus,
  resumePipelineSchedule,
  runPipeline,
  triggerPipelineSchedule,
} from './pipelines.js';
export { bundleTransformations, pipelineCodeHash, windowIngestionId } from './pipeline/code.js';
export { createPipelineActivities, type PipelineActivityDeps } from './pipeline/activities.js';
export { checkTransformOutput, runTransformation, type TransformRun } from './pipeline/transform.js';
export type { PipelineRunResult } from '@strata/workflows';
