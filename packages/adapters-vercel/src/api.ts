import {
  PermanentError,
  type PipelineError,
  RateLimitedError,
  type Redactor,
  TransientError,
} from '@mvp-pipeline/core';

/** The `fetch` the adapter uses; tests and embedders inject their own. */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** A wait that can be cut short by an abort signal. */
export type SleepLike = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Vercel's error body: `{ error: { code, message, … } }`. */
export interface VercelErrorBody {
  code?: string;
  message?: string;
  /** Present on `missing_files`: the SHA-1 digests the create call could not find. */
  missing?: string[];
  /** Present on some limit errors. */
  limit?: { reset?: number; resetMs?: number; remaining?: number; total?: number };
  [key: string]: unknown;
}

/** A non-2xx answer, read once, before it is turned into one of our errors. */
export class VercelApiFailure {
  constructor(
    readonly operation: string,
    readonly status: number,
    readonly headers: Headers,
    readonly error: VercelErrorBody | undefined,
  ) {}
}

/** Codes Vercel uses for its plan caps (e.g. `api-deployments-free-per-day`) and throttling. */
const LIMIT_CODE = /^api-deployments-|^api-[a-z-]+-per-|rate[_-]?limit|too[_-]?many[_-]?requests/i;

/** Without any hint from Vercel, wait this long before asking again. */
const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;

export interface ApiClientOptions {
  apiUrl: string;
  token: string;
  teamId?: string | undefined;
  fetch: FetchLike;
  redact: Redactor;
  now: () => number;
}

/** A thin JSON client for the few Vercel REST endpoints the deployer uses. */
export interface ApiClient {
  /** Sends a request; resolves the parsed JSON (or undefined for an empty body) or a failure. */
  send<T>(
    operation: string,
    path: string,
    init: {
      method?: string;
      query?: Record<string, string | undefined>;
      json?: unknown;
      body?: Uint8Array;
      headers?: Record<string, string>;
      signal?: AbortSignal | undefined;
    },
  ): Promise<{ ok: true; value: T } | { ok: false; failure: VercelApiFailure }>;
  /** The same, throwing our typed error on failure. */
  call<T>(operation: string, path: string, init: Parameters<ApiClient['send']>[2]): Promise<T>;
  /** Maps a failure onto the error vocabulary, with a message a person can act on. */
  toError(failure: VercelApiFailure): PipelineError;
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const base = options.apiUrl.replace(/\/+$/, '');
  const { redact } = options;

  const send: ApiClient['send'] = async (operation, path, init) => {
    const url = new URL(base + path);
    for (const [key, value] of Object.entries({ ...init.query, teamId: options.teamId })) {
      if (value !== undefined) url.searchParams.set(key, value);
    }
    const headers: Record<string, string> = {
      Authorization: `Bearer ${options.token}`,
      Accept: 'application/json',
      ...init.headers,
    };
    let body: string | Uint8Array | undefined;
    if (init.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(init.json);
    } else if (init.body) {
      body = init.body;
    }
    let response: Response;
    try {
      response = await options.fetch(url.toString(), {
        method: init.method ?? 'GET',
        headers,
        ...(body === undefined ? {} : { body }),
        ...(init.signal ? { signal: init.signal } : {}),
      });
    } catch (error) {
      if (init.signal?.aborted) throw init.signal.reason ?? error;
      // Network trouble (refused, reset, DNS): the same call may work later.
      const reason = error instanceof Error ? describeNetworkError(error) : String(error);
      throw new TransientError(redact(`Vercel ${operation} did not answer: ${reason}`));
    }
    const text = await response.text().catch(() => '');
    if (response.ok) {
      if (!text.trim()) return { ok: true, value: undefined as never };
      try {
        return { ok: true, value: JSON.parse(text) };
      } catch {
        throw new TransientError(
          redact(`Vercel ${operation} answered ${response.status} with a body that is not JSON`),
        );
      }
    }
    return {
      ok: false,
      failure: new VercelApiFailure(operation, response.status, response.headers, parseError(text)),
    };
  };

  const toError = (failure: VercelApiFailure): PipelineError => {
    const { status, error, operation } = failure;
    const detail = [error?.code, error?.message].filter(Boolean).join(': ') || 'no details';
    const what = `Vercel ${operation} failed with HTTP ${status} (${detail})`;
    if (status === 429 || (error?.code && LIMIT_CODE.test(error.code))) {
      const waitMs = retryAfterMs(failure, options.now());
      const until = new Date(options.now() + waitMs).toISOString();
      return new RateLimitedError(
        redact(`${what}: rate limited, try again in ${formatWait(waitMs)} (after ${until})`),
        { retryAfterMs: waitMs },
      );
    }
    if (status >= 500) return new TransientError(redact(`${what}; Vercel may recover, try again`));
    if (status === 401 || status === 403) {
      return new PermanentError(
        redact(`${what}: the token was refused; check VERCEL_TOKEN and VERCEL_TEAM_ID`),
      );
    }
    return new PermanentError(redact(what));
  };

  return {
    send,
    toError,
    async call(operation, path, init) {
      const result = await send(operation, path, init);
      if (!result.ok) throw toError(result.failure);
      return result.value as never;
    },
  };
}

function parseError(text: string): VercelErrorBody | undefined {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object') {
      const inner = (parsed as { error?: unknown }).error;
      if (inner && typeof inner === 'object') return inner as VercelErrorBody;
      return parsed as VercelErrorBody;
    }
  } catch {
    // not JSON: keep a short excerpt as the message
  }
  const excerpt = text.trim().slice(0, 200);
  return excerpt ? { message: excerpt } : undefined;
}

function describeNetworkError(error: Error): string {
  const cause = (error as { cause?: unknown }).cause;
  const code = cause && typeof cause === 'object' ? (cause as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? `${error.message} (${code})` : error.message;
}

/**
 * How long Vercel asked us to wait, from the first of: `Retry-After` (seconds or a date),
 * `X-RateLimit-Reset` (epoch seconds), the body's `limit.resetMs` / `limit.reset`, or the
 * message's "try again in N hours" (what the plan-cap errors say). A minute when none is given.
 */
export function retryAfterMs(failure: VercelApiFailure, now: number): number {
  const header = failure.headers.get('retry-after');
  if (header) {
    const seconds = Number(header);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
    const date = Date.parse(header);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  const reset = Number(failure.headers.get('x-ratelimit-reset'));
  if (Number.isFinite(reset) && reset > 0) return Math.max(0, epochToMs(reset) - now);
  const limit = failure.error?.limit;
  if (typeof limit?.resetMs === 'number') return Math.max(0, limit.resetMs - now);
  if (typeof limit?.reset === 'number') return Math.max(0, epochToMs(limit.reset) - now);
  const said = /try again in (\d+(?:\.\d+)?)\s*(second|sec|s|minute|min|m|hour|h|day|d)/i.exec(
    failure.error?.message ?? '',
  );
  if (said) {
    const unit = said[2]!.toLowerCase();
    const factor = unit.startsWith('d')
      ? 86_400_000
      : unit.startsWith('h')
        ? 3_600_000
        : unit.startsWith('m')
          ? 60_000
          : 1000;
    return Math.round(Number(said[1]) * factor);
  }
  return DEFAULT_RATE_LIMIT_WAIT_MS;
}

/** Epoch seconds, or milliseconds when the number is clearly too large to be seconds. */
function epochToMs(value: number): number {
  return value > 1e12 ? value : value * 1000;
}

/** `2 h 5 min`, `45 s`: a wait as a person reads it. */
export function formatWait(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest ? `${hours} h ${rest} min` : `${hours} h`;
}
