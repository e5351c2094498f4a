export {
  type ConnectOptions,
  entity,
  type FeatureSelection,
  featureService,
  type HistoricalOptions,
  type IngestHandle,
  type IngestOptions,
  parseValidationPolicy,
  RunHandle,
  Strata,
  VALIDATION_POLICIES,
} from './client.js';
export {
  connectionUrls,
  ConfigSchema,
  findConfigFile,
  loadConfig,
  type LoadConfigOptions,
  offlineOptions,
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
export {
  detectFormat,
  type FileFormat,
  inferTextType,
  readArrowBatches,
  readBatches,
  readTable,
  viewColumnTypes,
} from './readers.js';
export { type CsvArrowOptions, inferCsvTypes, readCsvArrow } from './csv-arrow.js';
export * from '@strata/core';
export type { IngestResult, MaterializeResult, Progress, TrainingSetResult } from '@strata/workflows';

import { type ConnectOptions, Strata } from './client.js';

/** Connects to the stores and Temporal described by strata.yaml and the environment. */
export function connect(opts: ConnectOptions = {}): Promise<Strata> {
  return Strata.connect(opts);
}
export { checkWritable, formatTable, writeBatches, writeTable } from './writers.js';
export { collect, parseAsOf, type TimeTravelOptions } from './history.js';
export type { CommitInfo, JanitorReport, TrainingSet } from '@strata/offline-postgres';
export { csvFastPathHeader, stageCsvFile } from '@strata/offline-postgres';
export {
  createMaterializeSchedule,
  deleteMaterializeSchedule,
  describeSchedule,
  ensureJanitorSchedule,
  type JanitorSchedule,
  listMaterializeSchedules,
  type MaterializeSchedule,
  materializeScheduleId,
  parseEvery,
  runJanitor,
  scheduleJanitor,
  triggerMaterializeSchedule,
} from './schedules.js';
export { type MaterializationRun, materializationHistory } from './materializations.js';
export type {
  ClientFeatureSelection,
  ClientHistoricalOptions,
  ClientIngestOptions,
  IngestRun,
  Run,
  RunInfo,
  StrataClient,
  TrainingSetRun,
} from './api.js';
export {
  type ApiKeyRecord,
  type AuditEntry,
  checkRoles,
  generateApiKey,
  hashApiKey,
  hasRole,
  Identity,
  type IdentityOptions,
  type KeyPrincipal,
  ROLES,
  type Role,
  roleOn,
} from './identity.js';
export type { Ingestion, ViewVersion } from '@strata/offline-postgres';
export { type RemoteOptions, RemoteStrata } from './remote.js';

import type { StrataClient } from './api.js';
import { loadConfig } from './config.js';
import { RemoteStrata } from './remote.js';

/**
 * Connects in the mode the configuration asks for: a Strata server (remote: `server.url` in strata.yaml,
 * STRATA_SERVER_URL, or `server` here) with an API key, else the stores directly (local). Both implement
 * StrataClient.
 */
export async function connectClient(
  opts: ConnectOptions & { server?: { url?: string | undefined; apiKey?: string | undefined } } = {},
): Promise<StrataClient> {
  const config = opts.config ?? loadConfig(opts);
  const url = opts.server?.url ?? config.server.url;
  if (url) return new RemoteStrata({ url, apiKey: opts.server?.apiKey ?? config.server.apiKey, project: config.project });
  return Strata.connect({ ...opts, config });
}
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
export { createIngestFileActivities, DEFAULT_STAGE_CHUNK_ROWS } from './ingest-activities.js';
export { checkTransformOutput, runTransformation, type TransformRun } from './pipeline/transform.js';
export type { PipelineRunResult } from '@strata/workflows';
export {
  EXPLAIN_ROWS_MAX,
  type ExplainedRow,
  type Explanation,
  type ExplainOptions,
  explainValue,
  parseEntityArgs,
  publicSource,
} from './explain.js';
export {
  LINEAGE_INGESTIONS_MAX,
  type LineageEdge,
  type LineageGraph,
  type LineageKind,
  type LineageNode,
  lineage,
} from './lineage.js';
export { temporalRunUrl } from './links.js';
export { type MaterializationState, materializationState } from './materializations.js';
export { listRuns, RUN_KINDS, type RunKind, type RunStep, type RunSummary, runSteps } from './runs.js';
export { type SearchHit, type SearchKind, type SearchQuery, SEARCH_KINDS, searchRegistry } from './search.js';
export {
  type FeatureDrift,
  type FeatureSummary,
  SERIES_LIMIT_MAX,
  type StatisticsPoint,
  type StatisticsSeries,
  statisticsSeries,
} from './statistics-series.js';
export { addOnDemand, applyFittedOnline, type TypedAnswer, typedAnswer } from './on-demand-online.js';
