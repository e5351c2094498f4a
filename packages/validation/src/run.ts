/** validateAndProfile: validation and statistics in one streaming pass over record batches. */
import * as arrow from 'apache-arrow';
import { BatchView } from './columns.js';
import { Profiler, type Profile, type ProfilerOptions } from './profile.js';
import type { ExpectationSuite } from './suite.js';
import { SuiteValidator, type SuiteValidatorOptions, type ValidationResult } from './validator.js';

export interface ValidateAndProfileOptions extends SuiteValidatorOptions {
  profile?: ProfilerOptions | false;
  /** Called after each batch with the rows seen so far (for heartbeats / progress). */
  onProgress?: (rows: number) => void;
}

export async function validateAndProfile(
  batches: AsyncIterable<arrow.RecordBatch | arrow.Table> | Iterable<arrow.RecordBatch | arrow.Table>,
  suite?: ExpectationSuite,
  opts: ValidateAndProfileOptions = {},
): Promise<{ result?: ValidationResult; profile: Profile }> {
  const validator = suite ? new SuiteValidator(suite, opts) : undefined;
  const profiler = new Profiler(opts.profile === false ? {} : opts.profile);
  let rows = 0;
  let seq = 0;
  for await (const item of batches as AsyncIterable<arrow.RecordBatch | arrow.Table>) {
    const list = item instanceof arrow.Table ? item.batches : [item];
    for (const batch of list) {
      const view = new BatchView(batch, rows, seq++);
      validator?.updateView(view);
      if (opts.profile !== false) profiler.update(view);
      rows += batch.numRows;
    }
    opts.onProgress?.(rows);
  }
  const profile = profiler.finish();
  profile.rowCount = rows;
  return validator ? { result: validator.finish(), profile } : { profile };
}
