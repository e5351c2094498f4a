/**
 * Typed errors with stable codes. Every error says whether retrying the same call can help, so Temporal retry
 * policies, the SDK and the CLI can all decide without parsing messages.
 */
export const ErrorCodes = {
  INVALID_SPEC: { retryable: false, exitCode: 3 },
  INVALID_INPUT: { retryable: false, exitCode: 3 },
  SCHEMA_MISMATCH: { retryable: false, exitCode: 3 },
  UNKNOWN_OBJECT: { retryable: false, exitCode: 4 },
  UNKNOWN_FEATURE: { retryable: false, exitCode: 4 },
  CONFLICT: { retryable: true, exitCode: 5 },
  VALIDATION_FAILED: { retryable: false, exitCode: 6 },
  CONFIG: { retryable: false, exitCode: 2 },
  UNAVAILABLE: { retryable: true, exitCode: 7 },
  /** A pipeline's source query failed or timed out: that window fails and is retried. */
  SOURCE_FAILED: { retryable: true, exitCode: 8 },
  /** A transformation threw, hung or returned the wrong columns or types: that window fails, nothing committed. */
  TRANSFORM_FAILED: { retryable: false, exitCode: 9 },
  INTERNAL: { retryable: false, exitCode: 1 },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export interface StrataErrorOptions {
  /** Where the problem is: a file and line, a column, a view name. */
  where?: string;
  /** How to fix it, in one sentence. */
  hint?: string;
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class StrataError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly where: string | undefined;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: StrataErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StrataError';
    this.code = code;
    this.retryable = ErrorCodes[code].retryable;
    this.where = options.where;
    this.hint = options.hint;
    this.details = options.details ?? {};
  }

  /** One readable paragraph: what, where, how to fix. */
  describe(): string {
    const parts = [`${this.code}: ${this.message}`];
    if (this.where) parts.push(`  at: ${this.where}`);
    if (this.hint) parts.push(`  fix: ${this.hint}`);
    return parts.join('\n');
  }

  toJSON(): {
    code: ErrorCode;
    message: string;
    retryable: boolean;
    where?: string;
    hint?: string;
    details: Record<string, unknown>;
  } {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.where ? { where: this.where } : {}),
      ...(this.hint ? { hint: this.hint } : {}),
      details: this.details,
    };
  }

  static is(err: unknown, code?: ErrorCode): err is StrataError {
    return err instanceof StrataError && (code === undefined || err.code === code);
  }
}

export const invalidSpec = (message: string, options?: StrataErrorOptions) => new StrataError('INVALID_SPEC', message, options);
export const invalidInput = (message: string, options?: StrataErrorOptions) => new StrataError('INVALID_INPUT', message, options);
export const schemaMismatch = (message: string, options?: StrataErrorOptions) =>
  new StrataError('SCHEMA_MISMATCH', message, options);
export const unknownObject = (kind: string, name: string, known: readonly string[], options?: StrataErrorOptions) =>
  new StrataError('UNKNOWN_OBJECT', `unknown ${kind} '${name}'`, {
    hint: known.length
      ? `known ${kind}s: ${known.slice(0, 20).join(', ')}${known.length > 20 ? ', ...' : ''}`
      : `no ${kind} is registered yet; run 'strata apply' first`,
    ...options,
    details: { kind, name, ...(options?.details ?? {}) },
  });
