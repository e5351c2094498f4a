/**
 * Strata errors as Temporal failures: the failure type is the error code and its retryability is the code's, so bad
 * input fails a run at once while transient faults retry with backoff.
 */
import { StrataError } from '@strata/core';
import { translatePgError } from '@strata/offline-postgres';
import { ApplicationFailure } from '@temporalio/common';

export function toFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = err instanceof StrataError ? err : translatePgError(err);
  return ApplicationFailure.create({
    type: e.code,
    message: e.where ? `${e.message} (at ${e.where})` : e.message,
    // INTERNAL errors are unexpected: let them retry (a bug fixed and a worker redeployed then lets the run finish).
    nonRetryable: !e.retryable && e.code !== 'INTERNAL',
    details: [e.toJSON()],
    cause: err instanceof Error ? err : undefined,
  });
}

/** Runs an activity body, turning any error into an ApplicationFailure typed by its Strata code. */
export function wrap<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (err) {
      throw toFailure(err);
    }
  };
}
