import { PipelineError } from '../errors.js';

/**
 * A fault a contract suite asks the harness to inject between an adapter and its remote side:
 * - `connection-refused`: the connection is refused (what `fetch` throws for ECONNREFUSED);
 * - `timeout`: the request times out (what `fetch` throws when `AbortSignal.timeout` fires);
 * - `server-error`: the remote side answers 503;
 * - `client-error`: the remote side answers 400 (a request it will never accept);
 * - `rate-limited`: the remote side answers 429 with `Retry-After: 120` (too long to sleep through);
 * - `hang`: the request never answers (until the caller's signal aborts it).
 */
export type NetworkFault =
  | 'connection-refused'
  | 'timeout'
  | 'server-error'
  | 'client-error'
  | 'rate-limited'
  | 'hang';

/** What a harness with network faults provides: every request fails as told until `clear()`. */
export interface FaultInjector {
  inject(fault: NetworkFault): void | Promise<void>;
  clear(): void | Promise<void>;
}

/** The core error code each fault must come back as, and what to fix when it does not. */
export const FAULT_EXPECTATIONS: Record<
  Exclude<NetworkFault, 'hang'>,
  { code: 'TRANSIENT' | 'PERMANENT' | 'RATE_LIMITED'; fix: string }
> = {
  'connection-refused': {
    code: 'TRANSIENT',
    fix: "a refused connection must reject with the core's TransientError: catch your client's network errors (ECONNREFUSED, ECONNRESET, `fetch failed`) and wrap them",
  },
  timeout: {
    code: 'TRANSIENT',
    fix: "a timed-out request must reject with the core's TransientError: wrap TimeoutError / AbortError that your own timeout caused",
  },
  'server-error': {
    code: 'TRANSIENT',
    fix: "a 5xx answer must reject with the core's TransientError (the remote side may recover)",
  },
  'client-error': {
    code: 'PERMANENT',
    fix: "a 4xx answer (other than 429) must reject with the core's PermanentError: trying again will not help",
  },
  'rate-limited': {
    code: 'RATE_LIMITED',
    fix: "a 429 must reject with the core's RateLimitedError carrying retryAfterMs from Retry-After",
  },
};

/**
 * A `fetch` to give an adapter under test (most HTTP clients and SDKs accept one), which
 * passes requests to `base` until a fault is injected and then fails each request that way,
 * exactly as Node's fetch would, until `clear()`. Plain functions: no I/O of its own.
 */
export function faultyFetch(base: typeof fetch = (input, init) => fetch(input, init)): FaultInjector & {
  fetch: typeof fetch;
  /** Requests that met a fault. */
  readonly faulted: number;
} {
  let current: NetworkFault | undefined;
  let faulted = 0;
  const hanging = new Set<() => void>();
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json', ...headers },
    });
  const faultyFetchFn: typeof fetch = async (input, init) => {
    const fault = current;
    if (!fault) return base(input, init);
    faulted++;
    switch (fault) {
      case 'connection-refused':
        throw new TypeError('fetch failed', {
          cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), {
            code: 'ECONNREFUSED',
            errno: -111,
            syscall: 'connect',
          }),
        });
      case 'timeout':
        throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
      case 'server-error':
        return json(503, { error: { code: 'service_unavailable', message: 'Injected 503' } });
      case 'client-error':
        return json(400, { error: { code: 'bad_request', message: 'Injected 400' } });
      case 'rate-limited':
        return json(
          429,
          { error: { code: 'rate_limited', message: 'Injected 429' } },
          { 'retry-after': '120' },
        );
      case 'hang':
        return new Promise<Response>((_resolve, reject) => {
          const signal = init?.signal ?? undefined;
          const stop = () => {
            hanging.delete(release);
            reject(signal?.reason ?? new DOMException('This operation was aborted', 'AbortError'));
          };
          // Released on clear() too, so a deployer that ignores its signal does not leak forever.
          const release = () => {
            signal?.removeEventListener('abort', stop);
            reject(new TypeError('fetch failed', { cause: new Error('socket hang up') }));
          };
          if (signal?.aborted) return stop();
          signal?.addEventListener('abort', stop, { once: true });
          hanging.add(release);
        });
    }
  };
  return {
    fetch: faultyFetchFn,
    get faulted() {
      return faulted;
    },
    inject(fault) {
      current = fault;
    },
    clear() {
      current = undefined;
      for (const release of [...hanging]) release();
      hanging.clear();
    },
  };
}

/** How a promise settled, for messages that say what an adapter got wrong. */
export async function settle(
  promise: Promise<unknown>,
): Promise<
  | { kind: 'resolved'; value: unknown }
  | { kind: 'pipeline'; error: PipelineError }
  | { kind: 'raw'; error: unknown; description: string }
> {
  try {
    return { kind: 'resolved', value: await promise };
  } catch (error) {
    if (PipelineError.isInstance(error)) return { kind: 'pipeline', error };
    const description =
      error instanceof Error
        ? `${error.name}: ${error.message}${(error as { code?: string }).code ? ` (${(error as { code?: string }).code})` : ''}`
        : String(error);
    return { kind: 'raw', error, description };
  }
}

/** The failure message of a rejection that should have been `code`, or undefined when it was. */
export function vocabularyProblem(
  outcome: Awaited<ReturnType<typeof settle>>,
  code: string,
  fix: string,
): string | undefined {
  if (outcome.kind === 'resolved') return `resolved where it should have failed; ${fix}`;
  if (outcome.kind === 'raw') return `rejected with a raw ${outcome.description}; ${fix}`;
  if (outcome.error.code !== code)
    return `rejected with ${outcome.error.code} (${outcome.error.message}); ${fix}`;
  return undefined;
}

/**
 * Races `promise` against `ms`: a call that ignores its abort signal must fail the suite, not
 * hang it.
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
