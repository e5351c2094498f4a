export {
  type EntityWithExtras,
  type Extras,
  emptyReport,
  formatReport,
  type ImportedRepo,
  type ImportReport,
  mergeReports,
  type RepoWithExtras,
  type ServiceWithExtras,
} from './report.js';
export {
  buildRegistry,
  COMPOSITE_TAG,
  type DecodeOptions,
  decodeFeastRegistry,
  type EncodeOptions,
  encodeFeastRegistry,
  sameRegistry,
} from './feast/registry.js';
export { SUPPORTED_REGISTRY_SCHEMA_VERSIONS } from './feast/schema.js';
export { parseFeatureSet } from './feast/feature-set.js';
export {
  type ExportOptions as FeastExportOptions,
  exportFeast,
  type FeatureStoreYaml,
  importFeast,
  parseFeatureStoreYaml,
  strataConfigFromFeast,
} from './feast/repo-files.js';
export { writeFolder } from './files.js';
export {
  type DecodedFeatureGroup,
  decodeHopsworksFeatureGroup,
  decodeHopsworksFeatureView,
  decodeHopsworksTrainingDataset,
  type Dto as HopsworksDto,
  encodeHopsworksFeatureGroup,
  encodeHopsworksFeatureView,
  encodeHopsworksTrainingDataset,
  FEATURE_GROUP_TYPES,
  suiteFromHopsworks,
  suiteToHopsworks,
  type TrainingDatasetSplit,
  type TrainingDatasetSummary,
} from './hopsworks/dto.js';
export { buildHopsworksFiles, exportHopsworks, type HopsworksExportOptions, importHopsworks } from './hopsworks/folder.js';
export { fromHiveType, fromOnlineType, toHiveType, toOnlineType, type TypeMapping } from './hopsworks/types.js';
export {
  type CompareInput,
  type CompareResult,
  compare,
  migrationPlan,
  parseRequirements,
  type Recommendation,
  type RequirementRow,
  type Requirements,
} from './compare/compare.js';
export { type Measurement, measureOnline } from './compare/measure.js';
export { FACT_VERSIONS, FACTS, type Fact, renderFactsTable, type Support, type SystemId } from './compare/facts.js';
