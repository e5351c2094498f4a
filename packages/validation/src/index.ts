export { type Col, type ColKind, readColumn } from './columns.js';
export { compareAny, type EvalOptions, type ResultFormat, supportedExpectations } from './expectations.js';
export { DistinctCounter, HyperLogLog, KllSketch, Moments, quantileSorted, ValueBuffer } from './sketch.js';
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
