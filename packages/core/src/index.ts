export { parseDurationSeconds } from './duration.js';
export {
  ErrorCodes,
  type ErrorCode,
  StrataError,
  type StrataErrorOptions,
  invalidInput,
  invalidSpec,
  schemaMismatch,
  unknownObject,
} from './errors.js';
export { detectTimestampField, inferFeatureView, type InferOptions } from './infer.js';
export {
  checkName,
  type EntitySpec,
  type FeatureServiceSpec,
  type FeatureSpec,
  type FeatureViewSpec,
  type JoinKey,
  type MonitoringSpec,
  NAME_RE,
  normalizeEntity,
  normalizeFeatureView,
  type ObjectKind,
  type ObjectSpec,
  type RepoSpec,
  type ValidationPolicy,
  validateEntity,
  validateFeatureService,
  validateFeatureView,
  validateRepo,
  viewJoinKeys,
} from './model.js';
export {
  breakingViewChanges,
  type Change,
  type ChangeAction,
  diffEntity,
  diffService,
  diffView,
  formatPlan,
  sameSpec,
} from './plan.js';
export { parseRepoDocuments, type RepoDocument } from './repo.js';
export {
  elementType,
  fromArrowType,
  isListType,
  isTimestampArrowType,
  isValueTypeName,
  listOf,
  parseValueType,
  toArrowType,
  toHiveType,
  toPostgresType,
  VALUE_TYPE_NAMES,
  ValueType,
  type ValueTypeName,
} from './types.js';
export { CoerceError, coerceValue, parseTimestamp } from './coerce.js';
export { arrowVector, tableFromColumns, tableFromRows, type TypedColumn } from './arrow-build.js';
export { type ResolvedSelection, resolveFeatureRefs, resolveFeatureService } from './features.js';
export { checkKeys, closest, didYouMean, levenshtein, oneOf } from './suggest.js';
export {
  avroFieldNames,
  DEFAULT_STREAM_BATCH,
  deadLetterTopic,
  type StreamAggregateSpec,
  type StreamFormat,
  type StreamSourceSpec,
  streamColumns,
  streamField,
  validateStreamSource,
} from './stream.js';
export {
  AGGREGATE_FUNCTIONS,
  type AggregateFunction,
  checkWindowAggregation,
  type WindowAggregationSpec,
  WindowAggregator,
  type WindowState,
  type WindowValue,
  windowStarts,
} from './windows.js';
export {
  checkReadOnlyQuery,
  type FilesSourceSpec,
  parseWindow,
  type PipelineSpec,
  SOURCE_KINDS,
  type SourceSpec,
  type SqlSourceSpec,
  type SqlTransformationSpec,
  sqlStatementCount,
  type TimeWindow,
  type TransformationSpec,
  type TypeScriptTransformationSpec,
  validatePipelineParts,
  type WindowLength,
  windowsBetween,
} from './pipeline.js';
