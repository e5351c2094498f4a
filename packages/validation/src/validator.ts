/**
 * SuiteValidator: runs a whole suite over a stream of record batches in one pass and returns GE's
 * ExpectationSuiteValidationResult JSON.
 */
import { invalidInput } from '@strata/core';
import type * as arrow from 'apache-arrow';
import { BatchView, batchesOf } from './columns.js';
import {
  createEvaluator,
  type EvalOptions,
  type Evaluator,
  ExpectationError,
  type ResultFormat,
  supportedExpectations,
} from './expectations.js';
import { type ExpectationConfig, type ExpectationSuite, hasParameterRefs, resolveParameters } from './suite.js';

export interface ExceptionInfo {
  raised_exception: boolean;
  exception_message: string | null;
  exception_traceback: string | null;
}

export interface ExpectationResult {
  success: boolean;
  expectation_config: {
    type: string;
    expectation_type: string;
    kwargs: Record<string, unknown>;
    meta: Record<string, unknown>;
    id?: string;
  };
  result: Record<string, unknown>;
  meta: Record<string, unknown>;
  exception_info: ExceptionInfo;
}

export interface ValidationResult {
  success: boolean;
  results: ExpectationResult[];
  suite_name: string;
  suite_parameters: Record<string, unknown>;
  statistics: {
    evaluated_expectations: number;
    successful_expectations: number;
    unsuccessful_expectations: number;
    success_percent: number | null;
  };
  meta: Record<string, unknown>;
}

export interface SuiteValidatorOptions {
  resultFormat?: ResultFormat;
  runParameters?: Record<string, unknown>;
  /** The columns the data will have (e.g. a view's schema): expectations naming others fail up front. */
  columnsAvailable?: string[];
  partialUnexpectedCount?: number;
  unexpectedListLimit?: number;
  exactValueLimit?: number;
  exactDistinctLimit?: number;
  /** Extra fields for the result's meta (ingestion id, view, ...). */
  meta?: Record<string, unknown>;
}

interface Slot {
  config: ExpectationConfig;
  evaluator?: Evaluator;
  error?: string;
}

const NO_EXCEPTION: ExceptionInfo = { raised_exception: false, exception_message: null, exception_traceback: null };

export class SuiteValidator {
  private readonly slots: Slot[];
  private readonly suite: ExpectationSuite;
  private readonly opts: EvalOptions;
  private rows = 0;
  private seq = 0;
  private tableColumns: string[] | undefined;
  private finished = false;
  private readonly started = new Date();

  constructor(
    suite: ExpectationSuite,
    private readonly options: SuiteValidatorOptions = {},
  ) {
    const params = options.runParameters ?? {};
    this.suite = hasParameterRefs(suite.expectations.map((e) => e.kwargs)) ? resolveParameters(suite, params) : suite;
    const rf = options.resultFormat ?? 'SUMMARY';
    if (!['BOOLEAN_ONLY', 'BASIC', 'SUMMARY', 'COMPLETE'].includes(rf)) {
      throw invalidInput(`unknown resultFormat '${rf}'`, {
        where: 'SuiteValidator options',
        hint: 'use BOOLEAN_ONLY, BASIC, SUMMARY or COMPLETE',
      });
    }
    this.opts = {
      resultFormat: rf,
      partialUnexpectedCount: options.partialUnexpectedCount ?? 20,
      unexpectedListLimit: options.unexpectedListLimit ?? 10_000,
      exactValueLimit: options.exactValueLimit ?? 5_000_000,
      exactDistinctLimit: options.exactDistinctLimit ?? 2_000_000,
    };
    const supported = new Set(supportedExpectations());
    this.slots = this.suite.expectations.map((config, i) => {
      const where = `${this.suite.name}.expectations[${i}] (${config.type})`;
      if (!supported.has(config.type)) {
        return {
          config,
          error: `unknown expectation type '${config.type}'; supported: ${supportedExpectations().join(', ')}`,
        };
      }
      // kwargs of the wrong type are a suite error (GE refuses such a suite when it loads it).
      const evaluator = createEvaluator(config.type, config.kwargs, this.opts, where)!;
      return { config, evaluator };
    });
    if (options.columnsAvailable) this.checkColumns(options.columnsAvailable);
  }

  private checkColumns(columns: string[]): void {
    for (const s of this.slots) {
      if (!s.evaluator || s.error) continue;
      const missing = s.evaluator.columns.filter((c) => !columns.includes(c));
      if (missing.length) {
        s.error = `Error: The column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `"${c}"`).join(', ')} in BatchData does not exist.`;
      }
    }
  }

  update(input: arrow.RecordBatch | arrow.Table): void {
    if (this.finished)
      throw invalidInput('SuiteValidator.update() after finish()', { hint: 'create a new SuiteValidator per run' });
    for (const batch of batchesOf(input)) this.updateView(new BatchView(batch, this.rows, this.seq++));
  }

  /** Feeds an already-read batch view (lets validateAndProfile read each column once for both passes). */
  updateView(view: BatchView): void {
    if (!this.tableColumns) this.tableColumns = view.columnNames;
    this.checkColumns(view.columnNames);
    for (const s of this.slots) {
      if (!s.evaluator || s.error) continue;
      try {
        s.evaluator.update(view);
      } catch (err) {
        s.error = errorMessage(err);
      }
    }
    this.rows += view.numRows;
  }

  /** Rows seen so far. */
  get rowCount(): number {
    return this.rows;
  }

  finish(): ValidationResult {
    this.finished = true;
    const columns = this.tableColumns ?? this.options.columnsAvailable ?? [];
    const results = this.slots.map((s): ExpectationResult => {
      const expectation_config = {
        type: s.config.type,
        expectation_type: s.config.type,
        kwargs: s.config.kwargs,
        meta: s.config.meta,
        ...(s.config.id ? { id: s.config.id } : {}),
      };
      if (!s.error && s.evaluator) {
        try {
          const out = s.evaluator.finish(columns);
          return {
            success: out.success,
            expectation_config,
            result: this.opts.resultFormat === 'BOOLEAN_ONLY' ? {} : clean(out.result),
            meta: {},
            exception_info: NO_EXCEPTION,
          };
        } catch (err) {
          s.error = errorMessage(err);
        }
      }
      return {
        success: false,
        expectation_config,
        result: {},
        meta: {},
        exception_info: { raised_exception: true, exception_message: s.error ?? 'not evaluated', exception_traceback: null },
      };
    });
    const ok = results.filter((r) => r.success).length;
    return {
      success: ok === results.length,
      results,
      suite_name: this.suite.name,
      suite_parameters: this.options.runParameters ?? {},
      statistics: {
        evaluated_expectations: results.length,
        successful_expectations: ok,
        unsuccessful_expectations: results.length - ok,
        success_percent: results.length ? (ok / results.length) * 100 : null,
      },
      meta: {
        strata_validation_version: '0.1.0',
        great_expectations_compatible: '1.x',
        validation_time: this.started.toISOString(),
        row_count: this.rows,
        ...(this.options.meta ?? {}),
      },
    };
  }
}

function errorMessage(err: unknown): string {
  if (err instanceof ExpectationError) return err.message;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/** JSON-safe result: non-finite numbers become null, as GE's JSON serialisation does. */
function clean(v: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? null : x))) as Record<
    string,
    unknown
  >;
}
