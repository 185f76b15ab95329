import { PermanentError, RateLimitedError, type Redactor, TransientError } from '@mvp-pipeline/core';

/** Neon's API v2 base. */
export const DEFAULT_NEON_API_URL = 'https://console.neon.tech/api/v2';

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;
/** Waits `ms`, or rejects with the signal's reason once it is aborted. */
export type SleepLike = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Neon's error body: `{"code": "...", "message": "..."}`. */
export interface NeonErrorBody {
  code?: string;
  message?: string;
}

export interface NeonOperation {
  id: string;
  project_id: string;
  action: string;
  status: 'scheduling' | 'running' | 'finished' | 'failed' | 'error' | 'cancelling' | 'cancelled' | 'skipped';
  error?: string;
}

/** Neon's terminal statuses (a `failed` operation is retried by Neon, so it is waited on). */
const TERMINAL = new Set(['finished', 'skipped', 'cancelled']);

export const defaultSleep: SleepLike = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Retry-After in seconds or as an HTTP date, in milliseconds; undefined when absent. */
export function retryAfterMs(headers: Headers, now: number): number | undefined {
  const header = headers.get('retry-after');
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

export interface NeonApiSettings {
  apiKey: string;
  apiUrl?: string | undefined;
  fetch?: FetchLike | undefined;
  sleep?: SleepLike | undefined;
  redact: Redactor;
  /** How long to wait for a project's operations (423 Locked, or after a change) before a TransientError. */
  operationsTimeoutMs?: number | undefined;
}

export interface NeonRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  body?: unknown;
  signal?: AbortSignal | undefined;
  /** The project whose operations a 423 waits for. */
  projectId?: string | undefined;
}

/**
 * A small client for Neon's API: bearer auth, JSON, errors in the core's vocabulary, and the
 * documented handling of operations (a mutating call refused with 423 while the project's
 * operations run is retried once they end; a call's own operations are waited for).
 */
export interface NeonApi {
  /** The response body, or `undefined` for a 404 when `notFound: 'undefined'`. */
  request<T>(request: NeonRequest & { notFound: 'undefined' }): Promise<T | undefined>;
  request<T>(request: NeonRequest): Promise<T>;
  /** Waits until each operation has ended (terminal status); an `error` one is a PermanentError. */
  waitFor(projectId: string, operations: readonly NeonOperation[], signal?: AbortSignal): Promise<void>;
}

export function createNeonApi(settings: NeonApiSettings): NeonApi {
  const base = (settings.apiUrl ?? DEFAULT_NEON_API_URL).replace(/\/+$/, '');
  const doFetch: FetchLike = settings.fetch ?? ((url, init) => fetch(url, init));
  const sleep = settings.sleep ?? defaultSleep;
  const timeoutMs = settings.operationsTimeoutMs ?? 120_000;
  const redact = settings.redact;

  async function once(request: NeonRequest): Promise<Response> {
    request.signal?.throwIfAborted();
    const init: RequestInit = {
      method: request.method,
      headers: {
        authorization: `Bearer ${settings.apiKey}`,
        accept: 'application/json',
        ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
      ...(request.signal ? { signal: request.signal } : {}),
    };
    try {
      return await doFetch(`${base}${request.path}`, init);
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason;
      const cause = (error as { cause?: { code?: string } })?.cause?.code;
      throw new TransientError(
        redact(
          `Neon API ${request.method} ${request.path} could not be reached: ${(error as Error).message}${cause ? ` (${cause})` : ''}`,
        ),
      );
    }
  }

  async function failure(request: NeonRequest, response: Response): Promise<Error> {
    const text = await response.text().catch(() => '');
    let body: NeonErrorBody = {};
    try {
      body = JSON.parse(text) as NeonErrorBody;
    } catch {
      // Not JSON: the status says enough.
    }
    const said = redact(`${body.message ?? text.slice(0, 200)}${body.code ? ` (${body.code})` : ''}`.trim());
    const what = `Neon API ${request.method} ${request.path} answered ${response.status}`;
    if (response.status === 401 || response.status === 403)
      return new PermanentError(`${what}: the API key in NEON_API_KEY was refused (${said})`);
    if (response.status === 429) {
      const wait = retryAfterMs(response.headers, Date.now());
      return new RateLimitedError(
        `${what}: rate limited${wait === undefined ? '' : `, retry in ${wait} ms`}`,
        {
          retryAfterMs: wait,
        },
      );
    }
    if (response.status >= 500 || response.status === 423) return new TransientError(`${what}: ${said}`);
    return new PermanentError(`${what}: ${said}`);
  }

  async function waitFor(projectId: string, operations: readonly NeonOperation[], signal?: AbortSignal) {
    const deadline = Date.now() + timeoutMs;
    let delay = 100;
    for (const first of operations) {
      let operation = first;
      while (!TERMINAL.has(operation.status)) {
        if (operation.status === 'error')
          throw new PermanentError(
            redact(
              `Neon operation ${operation.action} (${operation.id}) failed: ${operation.error ?? 'no reason given'}`,
            ),
          );
        if (Date.now() > deadline)
          throw new TransientError(
            `Neon operation ${operation.action} (${operation.id}) still ${operation.status}`,
          );
        await sleep(delay, signal);
        delay = Math.min(delay * 2, 2_000);
        const got = await api.request<{ operation: NeonOperation }>({
          method: 'GET',
          path: `/projects/${encodeURIComponent(projectId)}/operations/${encodeURIComponent(operation.id)}`,
          signal,
        });
        operation = got.operation;
      }
    }
  }

  /** The project's operations that have not ended yet (the first page holds the newest). */
  async function running(projectId: string, signal?: AbortSignal): Promise<NeonOperation[]> {
    const got = await api.request<{ operations: NeonOperation[] }>({
      method: 'GET',
      path: `/projects/${encodeURIComponent(projectId)}/operations?limit=50`,
      signal,
    });
    return got.operations.filter((o) => !TERMINAL.has(o.status));
  }

  const api: NeonApi = {
    async request<T>(request: NeonRequest & { notFound?: 'undefined' }): Promise<T | undefined> {
      const deadline = Date.now() + timeoutMs;
      let delay = 200;
      for (;;) {
        const response = await once(request);
        if (response.ok) return (await response.json()) as T;
        if (response.status === 404 && request.notFound === 'undefined') {
          await response.body?.cancel();
          return undefined;
        }
        // 423 Locked: the project runs an operation; wait for it to end, then try again.
        if (response.status === 423 && request.projectId && Date.now() < deadline) {
          await response.body?.cancel();
          const busy = await running(request.projectId, request.signal);
          if (busy.length > 0) await waitFor(request.projectId, busy, request.signal);
          else await sleep(delay, request.signal);
          delay = Math.min(delay * 2, 5_000);
          continue;
        }
        throw await failure(request, response);
      }
    },
    waitFor,
  } as NeonApi;
  return api;
}
