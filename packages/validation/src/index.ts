export { type Col, type ColKind, readColumn } from './columns.js';
export { type DataDocsInput, escapeHtml, renderDataDocs } from './docs.js';
export { type ColumnDrift, type DriftReport, type DriftThresholds, drift, jensenShannon, psi } from './drift.js';
export { compareAny, type EvalOptions, type ResultFormat, supportedExpectations } from './expectations.js';
export {
  type ColumnProfile,
  type Histogram,
  mergeProfiles,
  type Profile,
  Profiler,
  type ProfilerOptions,
  toHopsworksStatistics,
} from './profile.js';
export { type ValidateAndProfileOptions, validateAndProfile } from './run.js';
export { DistinctCounter, HyperLogLog, KllSketch, Moments, quantileSorted, ValueBuffer } from './sketch.js';
export { type SuggestOptions, suggestSuite } from './suggest.js';
export {
  type ExpectationConfig,
  type ExpectationSuite,
  parseSuite,
  resolveParameters,
  suiteToGx1,
  suiteToHopsworks,
} from './suite.js';
export {
  type ExceptionInfo,
  type ExpectationResult,
  SuiteValidator,
  type SuiteValidatorOptions,
  type ValidationResult,
} from './validator.js';
