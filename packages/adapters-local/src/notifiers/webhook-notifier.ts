import { setTimeout as sleep } from 'node:timers/promises';
import {
  createRedactor,
  type Notifier,
  PermanentError,
  RateLimitedError,
  type Redactor,
  retry,
  TransientError,
  ValidationError,
} from '@mvp-pipeline/core';

export interface WebhookNotifierSettings {
  /**
   * The endpoint. It may carry credentials (`https://user:pass@host/…`, sent as Basic auth, or a
   * token in the path or query): it never appears in an error or a log line.
   */
  url: string;
  /** The fetch to use. Default: the global fetch. */
  fetch?: typeof globalThis.fetch;
  /** How long one attempt may take, in milliseconds. Default 10 000. */
  timeoutMs?: number;
  /** Further attempts after a 5xx, 408, 429, timeout or network error. Default 3. */
  retries?: number;
  /** The first backoff step in milliseconds (doubling, capped at 30 s, with jitter). Default 500. */
  retryBaseDelayMs?: number;
  /** Jitter source, in [0, 1). Default Math.random. */
  random?: () => number;
  /** The process's redactor (it knows every configured secret); the URL's own credentials are added to it. */
  redact?: Redactor;
}

const MAX_DELAY_MS = 30_000;

/**
 * POSTs the notification as JSON with an `Idempotency-Key` header (the receiver deduplicates
 * retries with it). Retries 5xx, 408, 429, timeouts and network errors with capped exponential
 * backoff and jitter, honouring Retry-After; then TransientError. A Retry-After beyond 30 s is
 * not waited for: RateLimitedError carrying the wait. Any other non-2xx answer (4xx, redirects)
 * is a PermanentError. Messages name the endpoint's host only, never its URL or credentials.
 *
 * The retries run under the core's retry runner (`retry`), bounded by `retries`; the error that
 * goes up carries the tries made (`tries`), which the pipeline's notification retry counts
 * against its own policy, so a failing receiver sees at most `retries + 1` requests per
 * notification from one runner, not their product.
 */
export function createWebhookNotifier(settings: WebhookNotifierSettings): Notifier {
  const { target, authorization, secrets } = parseEndpoint(settings.url);
  const fetchImpl = settings.fetch ?? globalThis.fetch;
  const timeoutMs = settings.timeoutMs ?? 10_000;
  const retries = Math.max(0, settings.retries ?? 3);
  const policy = {
    maxAttempts: retries + 1,
    baseDelayMs: settings.retryBaseDelayMs ?? 500,
    maxDelayMs: MAX_DELAY_MS,
  };
  const random = settings.random ?? Math.random;
  const own = createRedactor(secrets);
  const outer = settings.redact;
  const redact: Redactor = outer ? (text) => own(outer(text)) : own;
  const where = `the webhook at ${target.host}`;

  return {
    specificationVersion: 'v1',
    async notify({ notification, idempotencyKey, signal }) {
      const body = JSON.stringify(notification);
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'idempotency-key': idempotencyKey,
        'user-agent': 'mvp-pipeline-webhook/1',
        ...(authorization ? { authorization } : {}),
      };
      const once = async ({ signal: trySignal }: { signal: AbortSignal }): Promise<void> => {
        const timeout = AbortSignal.timeout(timeoutMs);
        let problem: string;
        let retryAfterMs: number | undefined;
        try {
          const response = await fetchImpl(target, {
            method: 'POST',
            headers,
            body,
            redirect: 'manual',
            signal: AbortSignal.any([trySignal, timeout]),
          });
          const text = await response.text().catch(() => '');
          if (response.status >= 200 && response.status < 300) return;
          const answer = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
          const detail = text.trim() ? `: ${redact(text.trim().replace(/\s+/g, ' ').slice(0, 200))}` : '';
          if (response.status !== 408 && response.status !== 429 && response.status < 500) {
            throw new PermanentError(`${where} refused the notification with ${answer}${detail}`);
          }
          problem = `${where} answered ${answer}${detail}`;
          retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
        } catch (error) {
          if (error instanceof PermanentError) throw error;
          if (signal?.aborted) throw signal.reason;
          problem = timeout.aborted
            ? `${where} did not answer within ${timeoutMs} ms`
            : `${where} could not be reached (${redact(networkReason(error))})`;
        }
        throw new TransientError(problem, { retryAfterMs });
      };
      try {
        await retry(once, {
          policy,
          random,
          sleep: (ms, s) => sleep(ms, undefined, s ? { signal: s } : {}),
          signal,
          tooLong: (error, wait) =>
            new RateLimitedError(`${error.message}; it asked to wait ${Math.ceil(wait / 1000)} s`, {
              retryAfterMs: wait,
            }),
        });
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (!(error instanceof TransientError)) throw error;
        const tries = `${error.tries} attempt${error.tries === 1 ? '' : 's'}`;
        throw new TransientError(`${error.message} (gave up after ${tries})`, {
          retryAfterMs: error.retryAfterMs,
          tries: error.tries,
        });
      }
    },
  };
}

function parseEndpoint(value: string): { target: URL; authorization?: string; secrets: string[] } {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ValidationError('webhook notifier settings', [
      { path: 'url', message: 'must be an http(s) URL' },
    ]);
  }
  const secrets = [value, url.href, url.pathname + url.search, url.search.slice(1)];
  let authorization: string | undefined;
  if (url.username || url.password) {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    secrets.push(user, password, authorization);
    url.username = '';
    url.password = '';
  }
  secrets.push(url.href);
  return { target: url, ...(authorization ? { authorization } : {}), secrets };
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
