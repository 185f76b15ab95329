import {
  NotFoundError,
  PermanentError,
  type PipelineError,
  RateLimitedError,
  type Redactor,
  TransientError,
} from '@mvp-pipeline/core';

/** The parts of Octokit's RequestError we read (duck-typed: the class lives in a transitive package). */
interface RequestErrorLike {
  status: number;
  message: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

/** A `{ message, errors[] }` body as GitHub sends with 4xx answers. */
interface GitHubErrorBody {
  message?: string;
  errors?: Array<{ resource?: string; field?: string; code?: string; message?: string } | string>;
}

/** How GitHub words a push a ruleset or a branch protection refused (GH013, GH006, a declined hook). */
export const RULESET_REFUSAL = /GH013|GH006|rule|protected branch|hook declined/i;

export function isRequestError(error: unknown): error is RequestErrorLike {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { status?: unknown }).status === 'number' &&
    typeof (error as { message?: unknown }).message === 'string'
  );
}

function body(error: RequestErrorLike): GitHubErrorBody {
  const data = error.response?.data;
  return typeof data === 'object' && data !== null ? (data as GitHubErrorBody) : {};
}

function header(error: RequestErrorLike, name: string): string | undefined {
  const value = error.response?.headers?.[name];
  return value === undefined ? undefined : String(value);
}

/**
 * Whether a 422 says the repository name is taken. GitHub answers in two shapes: POST /user/repos
 * and /orgs/{org}/repos give `errors: [{ field: 'name', message: 'name already exists on this
 * account' }]`; POST …/generate gives the message "Could not clone: Name already exists on this account".
 */
export function isNameTaken(error: unknown): boolean {
  if (!isRequestError(error) || error.status !== 422) return false;
  const { message, errors } = body(error);
  if (/name already exists/i.test(message ?? '')) return true;
  return (errors ?? []).some((e) =>
    typeof e === 'string'
      ? /already exists/i.test(e)
      : e.field === 'name' && /already exists/i.test(e.message ?? e.code ?? ''),
  );
}

/** GitHub's answer as one line: its message and the messages of its `errors[]`. */
function describe(error: RequestErrorLike): string {
  const { message, errors } = body(error);
  const details = (errors ?? [])
    .map((e) => (typeof e === 'string' ? e : (e.message ?? [e.field, e.code].filter(Boolean).join(' '))))
    .filter(Boolean);
  const main = message ?? error.message.split(' - ')[0] ?? 'no message';
  return details.length > 0 ? `${main} (${details.join('; ')})` : main;
}

/**
 * How long GitHub asked us to wait, or undefined when the answer is not a rate limit. Follows
 * GitHub's guidance: retry-after (seconds) first, then x-ratelimit-reset (epoch seconds) when
 * x-ratelimit-remaining is 0, else at least one minute for a secondary limit.
 */
export function rateLimitWaitMs(error: unknown, now: number): number | undefined {
  if (!isRequestError(error) || (error.status !== 403 && error.status !== 429)) return undefined;
  const retryAfter = header(error, 'retry-after');
  if (retryAfter !== undefined && /^\d+$/.test(retryAfter.trim())) return Number(retryAfter) * 1000;
  const remaining = header(error, 'x-ratelimit-remaining');
  const reset = header(error, 'x-ratelimit-reset');
  if (remaining === '0' && reset !== undefined && /^\d+$/.test(reset)) {
    return Math.max(0, Number(reset) * 1000 - now) + 1000;
  }
  if (error.status === 429 || /rate limit/i.test(describe(error))) return 60_000;
  return undefined;
}

function formatWait(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.ceil(seconds / 60);
  return minutes < 120 ? `${minutes} min` : `${Math.ceil(minutes / 60)} h`;
}

/**
 * Maps an error from the GitHub REST API onto the core's vocabulary. `what` says what we were
 * doing ("creating repository acme/eventhub-mvp"); the message is redacted.
 */
export function fromRestError(
  error: unknown,
  what: string,
  redact: Redactor,
  now = Date.now(),
): PipelineError {
  if (!isRequestError(error)) return fromNetworkError(error, what, redact);
  const status = error.status;
  const text = describe(error);
  const wait = rateLimitWaitMs(error, now);
  if (wait !== undefined) {
    const until = new Date(now + wait).toISOString();
    return new RateLimitedError(
      redact(
        `GitHub rate limit while ${what} (${status}: ${text}): wait ${formatWait(wait)}, until ${until}, before retrying`,
      ),
      { retryAfterMs: wait },
    );
  }
  if (status === 401) {
    return new PermanentError(
      redact(`GitHub rejected the token while ${what} (401: ${text}): check GITHUB_TOKEN`),
    );
  }
  if (status === 403) {
    return new PermanentError(
      redact(
        `GitHub refused ${what} (403: ${text}): the token needs the repo scope (or Administration: write for an app)`,
      ),
    );
  }
  if (status === 404) return new NotFoundError(redact(`GitHub found nothing while ${what} (404: ${text})`));
  if (status >= 500 || status === 409 || status === 408) {
    return new TransientError(redact(`GitHub answered ${status} while ${what}: ${text}; try again later`));
  }
  return new PermanentError(redact(`GitHub refused ${what} (${status}: ${text})`));
}

/** isomorphic-git's HttpError carries the status in `data.statusCode`. */
export function gitHttpStatus(error: unknown): number | undefined {
  const data = (error as { code?: unknown; data?: { statusCode?: unknown } } | null)?.data;
  return (error as { code?: unknown } | null)?.code === 'HttpError' && typeof data?.statusCode === 'number'
    ? data.statusCode
    : undefined;
}

/** Fetch and socket failures: the service could not be reached at all. */
function fromNetworkError(error: unknown, what: string, redact: Redactor): PipelineError {
  const message = error instanceof Error ? error.message : String(error);
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const detail = typeof cause?.code === 'string' ? `${message} (${cause.code})` : message;
  return new TransientError(redact(`Could not reach GitHub while ${what}: ${detail}`));
}

/** Maps an error from an isomorphic-git clone, fetch or push onto the core's vocabulary. */
export function fromGitError(error: unknown, what: string, redact: Redactor): PipelineError {
  const status = gitHttpStatus(error);
  if (status === undefined) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'NotFoundError') {
      return new NotFoundError(redact(`Nothing to fetch while ${what}: ${(error as Error).message}`));
    }
    if (code === 'UserCanceledError') {
      return new PermanentError(
        redact(`The git server rejected the token while ${what}: check GITHUB_TOKEN`),
      );
    }
    if (code === 'SmartHttpError') {
      return new PermanentError(redact(`The server does not speak git smart HTTP while ${what}`));
    }
    if (code === 'PushRejectedError' || code === 'GitPushError') {
      const reason = (error as Error).message;
      return new PermanentError(
        redact(
          RULESET_REFUSAL.test(reason)
            ? `The git server refused the push while ${what}: a branch ruleset or protection rule forbids it (${reason}); exempt the job's branch or let this token bypass the rule`
            : `The git server refused the push while ${what}: ${reason}`,
        ),
      );
    }
    return fromNetworkError(error, what, redact);
  }
  if (status === 401) {
    return new PermanentError(
      redact(`The git server rejected the token while ${what} (401): check GITHUB_TOKEN`),
    );
  }
  if (status === 403) {
    return new PermanentError(
      redact(`The git server refused ${what} (403): the token needs contents: write on the repository`),
    );
  }
  if (status === 404)
    return new NotFoundError(redact(`The git server found no repository while ${what} (404)`));
  if (status === 429) return new RateLimitedError(redact(`The git server is rate limiting ${what} (429)`));
  if (status >= 500 || status === 409 || status === 408) {
    return new TransientError(redact(`The git server answered ${status} while ${what}; try again later`));
  }
  return new PermanentError(redact(`The git server answered ${status} while ${what}`));
}
