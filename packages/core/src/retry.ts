import type { Step } from './domain/steps.js';
import { type PipelineError, RateLimitedError, toPipelineError } from './errors.js';

/**
 * The one retry policy: capped exponential backoff with full jitter, honouring the wait the
 * remote side asks for (Retry-After). Every retried operation of the pipeline (a step's try,
 * the terminal notification, a record write, a worker's poll, an adapter that must retry within
 * one call) runs through {@link retry} with a policy of this shape.
 */
export interface RetryPolicy {
  /** Tries of one operation, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  /** The cap of the backoff; also the longest Retry-After waited for unless `maxRetryAfterMs` says otherwise. */
  maxDelayMs: number;
  /** A wait asked for (Retry-After) beyond this is not waited for: the operation fails as rate-limited. */
  maxRetryAfterMs?: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 30_000 };

/**
 * The wait before retry number `attempt` (1 = the first retry). A wait the remote side asked
 * for (Retry-After) is honoured as a floor; the caller decides whether a floor above
 * `maxDelayMs` is worth waiting for.
 */
export function backoffDelay(
  policy: RetryPolicy,
  attempt: number,
  random: () => number,
  retryAfterMs?: number,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(random() * ceiling);
  return Math.max(jittered, retryAfterMs ?? 0);
}

/** What a retry is about to wait for. */
export interface RetryNotice {
  /** The try that failed (1 = the first). */
  attempt: number;
  /** Tries used so far, counting those the failing callee made itself (`error.tries`). */
  used: number;
  maxAttempts: number;
  waitMs: number;
}

export interface RetryOptions {
  policy: RetryPolicy;
  /** Waits between tries; rejects when its signal aborts (Clock.sleep has this shape). */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Jitter source, in [0, 1). */
  random: () => number;
  /** Stops the tries: a try in flight is abandoned and its reason thrown, also during a wait. */
  signal?: AbortSignal | undefined;
  /** The step errors are attributed to. */
  step?: Step | undefined;
  /** Deadline of one try: its signal aborts with `deadline.error()` after `ms`. */
  deadline?: { ms: number; error: () => PipelineError; retryable?: boolean } | undefined;
  /** Whether an error is worth another try (default: `error.retryable`). */
  retryable?: (error: PipelineError) => boolean;
  /** Called before each wait: log it, record it. */
  onRetry?: (error: PipelineError, notice: RetryNotice) => void | Promise<void>;
  /** The error thrown when the wait asked for is above `maxRetryAfterMs` (default: a RateLimitedError with the wait). */
  tooLong?: (error: PipelineError, waitMs: number) => PipelineError;
}

/**
 * Runs `work` until it succeeds, fails for good, or the policy's tries are used up; throws the
 * last error, with `tries` saying how many tries were made (so a caller retrying the same
 * operation counts them against its own policy instead of multiplying them). A try that ignores
 * its signal is abandoned when the deadline or `signal` fires.
 */
export async function retry<T>(
  work: (attempt: { signal: AbortSignal; attempt: number }) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const { policy, signal, step, deadline } = options;
  let used = 0;
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw toPipelineError(signal.reason, step);
    const controller = new AbortController();
    const timer = deadline ? setTimeout(() => controller.abort(deadline.error()), deadline.ms) : undefined;
    const onStop = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onStop, { once: true });
    let error: PipelineError;
    try {
      return await abortable(work({ signal: controller.signal, attempt }), controller.signal);
    } catch (thrown) {
      const stopped = signal?.aborted === true;
      const timedOut = !stopped && controller.signal.aborted;
      error = toPipelineError(controller.signal.aborted ? controller.signal.reason : thrown, step);
      used += error.tries;
      if (stopped) throw error;
      if (timedOut && !deadline?.retryable) throw error.withTries(used);
      if (!(options.retryable ?? ((e: PipelineError) => e.retryable))(error)) throw error.withTries(used);
      if (used >= policy.maxAttempts) throw error.withTries(used);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onStop);
    }
    const waitMs = backoffDelay(policy, attempt, options.random, error.retryAfterMs);
    if (waitMs > (policy.maxRetryAfterMs ?? policy.maxDelayMs)) {
      throw (options.tooLong ?? rateLimited)(error, waitMs).withTries(used);
    }
    await options.onRetry?.(error, { attempt, used, maxAttempts: policy.maxAttempts, waitMs });
    try {
      await options.sleep(waitMs, signal);
    } catch (thrown) {
      throw toPipelineError(signal?.aborted ? signal.reason : thrown, step);
    }
  }
}

function rateLimited(error: PipelineError, waitMs: number): PipelineError {
  if (error.code === 'RATE_LIMITED' && error.retryAfterMs === waitMs) return error;
  return new RateLimitedError(error.message, { step: error.step, retryAfterMs: waitMs, cause: error });
}

/** Rejects as soon as `signal` aborts, even if the work ignores the signal (a hung call). */
export function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** A duration for a message: `50 ms`, `2.5 s`, `3 min`. */
export function formatMs(ms: number): string {
  return ms >= 60_000
    ? `${Math.round(ms / 60_000)} min`
    : ms >= 1000
      ? `${Math.round(ms / 100) / 10} s`
      : `${ms} ms`;
}
