import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from '@anthropic-ai/sdk';
import {
  BudgetExceededError,
  PermanentError,
  type PipelineError,
  RateLimitedError,
  type Redactor,
  TransientError,
} from '@mvp-pipeline/core';

/** Which budget ran out. */
export type BudgetName = 'turns' | 'output-tokens' | 'cost';

/**
 * A per-job budget ran out (code `BUDGET_EXCEEDED`, not retryable). The work done so far stays
 * in the workspace; `filesChanged` lists it. A fallback wrapper catches this (by
 * `error.code === 'BUDGET_EXCEEDED'` or `BudgetExceededError.isInstance`-style checks) and lets
 * another generator finish the job.
 */
export class AiBudgetExceededError extends BudgetExceededError {
  readonly budget: BudgetName;
  /** What was spent (turns, tokens or USD, as the budget counts). */
  readonly spent: number;
  readonly limit: number;
  readonly filesChanged: readonly string[];
  constructor(
    message: string,
    details: { budget: BudgetName; spent: number; limit: number; filesChanged: readonly string[] },
  ) {
    super(message);
    this.budget = details.budget;
    this.spent = details.spent;
    this.limit = details.limit;
    this.filesChanged = details.filesChanged;
  }
}

/** Why the no-progress breaker stopped a session. */
export type NoProgressReason = 'same-error' | 'idle-turns' | 'repeated-call';

/**
 * The session stopped making progress (code `PERMANENT`): the same build error kept coming back,
 * turns changed no file, or the model repeated one call. The partial work stays in the workspace.
 */
export class NoProgressError extends PermanentError {
  readonly reason: NoProgressReason;
  readonly filesChanged: readonly string[];
  constructor(message: string, details: { reason: NoProgressReason; filesChanged: readonly string[] }) {
    super(message);
    this.reason = details.reason;
    this.filesChanged = details.filesChanged;
  }
}

/** A wait the response asked for: `retry-after-ms`, else `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(headers: Headers | undefined, now: number = Date.now()): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Number(ms);
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Maps what the SDK threw onto the pipeline's error vocabulary:
 * 529, 5xx, 408, 409, timeouts and connection failures are transient; a 429 is rate limited
 * (with its retry-after) unless it is the organisation's spend limit, which is permanent like
 * every other 4xx. Messages pass through `redact`.
 */
export function mapModelError(error: unknown, redact: Redactor): PipelineError {
  const say = (text: string) => redact(text);
  if (error instanceof APIUserAbortError) return new TransientError(say('The model call was aborted'));
  if (error instanceof APIConnectionTimeoutError) {
    return new TransientError(say('The Anthropic API did not answer in time (request timed out)'), {
      cause: error,
    });
  }
  if (error instanceof APIConnectionError) {
    return new TransientError(say(`Could not reach the Anthropic API: ${error.message}`), { cause: error });
  }
  if (error instanceof APIError && typeof error.status === 'number') {
    const status = error.status;
    const type = error.type ?? 'error';
    const detail = error.apiMessage ?? error.message;
    const wait = retryAfterMs(error.headers as Headers | undefined);
    const errorCode =
      error.errorCode ??
      ((error.details as { error_code?: unknown } | null)?.error_code as string | undefined) ??
      null;
    if (status === 429 && errorCode === 'enforced_spend_limit_reached') {
      return new PermanentError(
        say(
          `Anthropic spend limit reached (429 ${errorCode}): ${detail}. Raise the limit in the Anthropic console or wait for it to reset`,
        ),
        { cause: error },
      );
    }
    if (status === 429) {
      return new RateLimitedError(say(`Anthropic API rate limit (429 ${type}): ${detail}`), {
        retryAfterMs: wait,
        cause: error,
      });
    }
    if (status === 529) {
      return new TransientError(say(`Anthropic API overloaded (529 ${type}): ${detail}`), {
        retryAfterMs: wait,
        cause: error,
      });
    }
    if (status >= 500 || status === 408 || status === 409) {
      return new TransientError(say(`Anthropic API error (${status} ${type}): ${detail}`), {
        retryAfterMs: wait,
        cause: error,
      });
    }
    if (status === 401 || status === 403) {
      return new PermanentError(
        say(`Anthropic API refused the credentials (${status} ${type}): ${detail}. Check ANTHROPIC_API_KEY`),
        { cause: error },
      );
    }
    return new PermanentError(say(`Anthropic API rejected the request (${status} ${type}): ${detail}`), {
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new PermanentError(say(`The model call failed: ${message}`), { cause: error });
}
