/**
 * Strata errors as Temporal failures: the failure type is the error code and its retryability is the code's, so bad
 * input fails a run at once while transient faults retry with backoff.
 */
import { StrataError } from '@strata/core';
import { translatePgError } from '@strata/offline-postgres';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';

function currentAttempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1; // called outside an activity (tests, the SDK)
  }
}

/** Attempts an unexpected (INTERNAL) error gets before it fails the run: enough for a flaky fault, not 50 for a bug. */
export const INTERNAL_MAX_ATTEMPTS = 3;

/**
 * `attempt` is the activity's attempt number (1-based). Bad input and non-transient database errors (a SQLSTATE
 * outside the transient classes) fail at once; an INTERNAL error without a SQLSTATE (an unexpected exception) is
 * retried until INTERNAL_MAX_ATTEMPTS, then fails; transient faults (UNAVAILABLE, CONFLICT) retry by the policy.
 */
export function toFailure(err: unknown, attempt = 1): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = err instanceof StrataError ? err : translatePgError(err);
  const internalGivesUp = e.code === 'INTERNAL' && (e.details.retryable === false || attempt >= INTERNAL_MAX_ATTEMPTS);
  return ApplicationFailure.create({
    type: e.code,
    message: e.where ? `${e.message} (at ${e.where})` : e.message,
    nonRetryable: e.code === 'INTERNAL' ? internalGivesUp : !e.retryable,
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
      throw toFailure(err, currentAttempt());
    }
  };
}
