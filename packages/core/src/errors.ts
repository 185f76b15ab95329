import type { Step } from './domain/steps.js';

const MARKER = Symbol.for('mvp-pipeline/error');

/** The closed vocabulary of failures. Adapters map vendor errors onto it; the retry policy reads only it. */
export type ErrorCode =
  | 'VALIDATION'
  | 'CONFIG'
  | 'NOT_FOUND'
  | 'VERSION_CONFLICT'
  | 'LEASE_HELD'
  | 'LEASE_LOST'
  | 'ILLEGAL_TRANSITION'
  | 'TRANSIENT'
  | 'RATE_LIMITED'
  | 'PERMANENT'
  | 'BUDGET_EXCEEDED'
  | 'BUILD_FAILED'
  | 'DEADLINE_EXCEEDED'
  | 'CANCELLED'
  | 'INTERRUPTED';

export interface PipelineErrorOptions {
  step?: Step | undefined;
  cause?: unknown;
  retryAfterMs?: number | undefined;
  /**
   * How many tries of the operation this error ends, when the thrower already retried it under
   * the retry policy (see `retry` in retry.ts): a caller's own retries count them, so one failure is
   * never retried twice over.
   */
  tries?: number | undefined;
}

/**
 * Base of every error this project throws. `isInstance` works across duplicated installs
 * (an embedder with two copies of the core), where `instanceof` does not.
 */
export abstract class PipelineError extends Error {
  readonly [MARKER] = true;
  abstract readonly code: ErrorCode;
  /** Whether trying the same operation again may succeed. */
  abstract readonly retryable: boolean;
  readonly step: Step | undefined;
  /** A wait the remote side asked for (Retry-After, x-ratelimit-reset), in milliseconds. */
  readonly retryAfterMs: number | undefined;
  /** Tries of the operation already made by whoever threw it (1 when it did not retry). */
  readonly tries: number;

  constructor(message: string, options: PipelineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.step = options.step;
    this.retryAfterMs = options.retryAfterMs;
    this.tries = Math.max(1, Math.floor(options.tries ?? 1));
  }

  /** The same error, saying that `tries` tries of the operation were made before it. */
  withTries(tries: number): this {
    const copy = this.copy();
    Object.assign(copy, { tries: Math.max(1, Math.floor(tries)) });
    return copy;
  }

  static isInstance(value: unknown): value is PipelineError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }

  /** The same error, attributed to a step (errors from ports are raised without one). */
  withStep(step: Step): this {
    if (this.step === step) return this;
    const copy = this.copy();
    Object.assign(copy, { step });
    return copy;
  }

  private copy(): this {
    const copy = Object.create(Object.getPrototypeOf(this)) as this;
    Object.assign(copy, this);
    Object.defineProperty(copy, 'message', { value: this.message, enumerable: false, writable: true });
    Object.defineProperty(copy, 'stack', { value: this.stack, enumerable: false, writable: true });
    if ('cause' in this) Object.defineProperty(copy, 'cause', { value: this.cause, enumerable: false });
    return copy;
  }
}

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `product.name` or `specifications.keyFeatures[2]`. */
  path: string;
  message: string;
}

/** Input that can never be accepted as it is: a spec, a request, an option. */
export class ValidationError extends PipelineError {
  readonly code = 'VALIDATION' as const;
  readonly retryable = false;
  readonly issues: readonly FieldIssue[];
  constructor(subject: string, issues: readonly FieldIssue[], options?: PipelineErrorOptions) {
    super(
      `Invalid ${subject}: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`,
      options,
    );
    this.issues = issues;
  }
}

/** A configuration variable is missing or malformed. The message names the variable, never its value. */
export class ConfigError extends PipelineError {
  readonly code = 'CONFIG' as const;
  readonly retryable = false;
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.variable = variable;
  }
}

export class NotFoundError extends PipelineError {
  readonly code = 'NOT_FOUND' as const;
  readonly retryable = false;
}

/** A conditional write found another version than the one expected. */
export class VersionConflictError extends PipelineError {
  readonly code = 'VERSION_CONFLICT' as const;
  readonly retryable = true;
  readonly expectedVersion: number;
  readonly actualVersion: number | undefined;
  constructor(jobId: string, expectedVersion: number, actualVersion: number | undefined) {
    super(
      `Job ${jobId} changed under us: expected version ${expectedVersion}, found ${actualVersion ?? 'no record'}`,
    );
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

/** Another runner holds a live lease on the job. */
export class LeaseHeldError extends PipelineError {
  readonly code = 'LEASE_HELD' as const;
  readonly retryable = false;
}

/** This runner's lease expired or was taken over: it must stop writing. */
export class LeaseLostError extends PipelineError {
  readonly code = 'LEASE_LOST' as const;
  readonly retryable = false;
}

export class IllegalTransitionError extends PipelineError {
  readonly code = 'ILLEGAL_TRANSITION' as const;
  readonly retryable = false;
}

/** Throttling, 5xx, timeouts, overloaded: the same call may succeed later. */
export class TransientError extends PipelineError {
  readonly code = 'TRANSIENT' as const;
  readonly retryable = true;
}

/** The remote side asked us to wait. Retried when the wait is short; otherwise the step fails with the wait in the message. */
export class RateLimitedError extends PipelineError {
  readonly code = 'RATE_LIMITED' as const;
  readonly retryable = true;
}

/** Failures that will not go away by trying again: 4xx, invalid data, missing permissions. */
export class PermanentError extends PipelineError {
  readonly code = 'PERMANENT' as const;
  readonly retryable = false;
}

export class BudgetExceededError extends PipelineError {
  readonly code = 'BUDGET_EXCEEDED' as const;
  readonly retryable = false;
}

/** The build ran and failed; `output` is the tail of what it printed. */
export class BuildFailedError extends PipelineError {
  readonly code = 'BUILD_FAILED' as const;
  readonly retryable = false;
  readonly output: string;
  constructor(message: string, output: string, options?: PipelineErrorOptions) {
    super(message, options);
    this.output = output;
  }
}

export class DeadlineExceededError extends PipelineError {
  readonly code = 'DEADLINE_EXCEEDED' as const;
  readonly retryable = false;
}

/** The job was cancelled on request. */
export class CancelledError extends PipelineError {
  readonly code = 'CANCELLED' as const;
  readonly retryable = false;
}

/** The runner was told to stop (SIGTERM): the job is left resumable, not failed. */
export class InterruptedError extends PipelineError {
  readonly code = 'INTERRUPTED' as const;
  readonly retryable = true;
}

/** Any thrown value as a PipelineError: ours pass through, anything else is permanent (a bug must not loop). */
export function toPipelineError(error: unknown, step?: Step): PipelineError {
  if (PipelineError.isInstance(error)) return step && !error.step ? error.withStep(step) : error;
  const message = error instanceof Error ? error.message : String(error);
  return new PermanentError(`Unexpected error: ${message}`, { step, cause: error });
}
