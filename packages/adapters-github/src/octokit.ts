import { createHash } from 'node:crypto';
import type { Redactor } from '@mvp-pipeline/core';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';

/** Octokit with the retry and throttling plugins, the client this package talks to GitHub with. */
const GitHubOctokit = Octokit.plugin(retry, throttling);

/** A line sink for what the adapters have to say (already redacted). */
export type LogLine = (line: string) => void;

export interface OctokitSettings {
  token: string | undefined;
  apiUrl: string;
  /** Retries of a 5xx (or a lost connection) before it becomes a TransientError. Default 3. */
  retries?: number | undefined;
  /** Retries of a secondary rate limit before it becomes a RateLimitedError. Default 2. */
  secondaryRateLimitRetries?: number | undefined;
  /** The longest rate-limit wait retried in place; a longer one fails as RATE_LIMITED at once. Default 60 s. */
  maxRateLimitWaitMs?: number | undefined;
  userAgent?: string | undefined;
}

/**
 * The Octokit the adapters use: retries 5xx with the retry plugin (never 4xx: those are our
 * own mistakes or rate limits), waits out rate limits with the throttling plugin, within bounds.
 * Octokit's log goes through the redactor; debug and info are dropped.
 */
export function createOctokit(
  settings: OctokitSettings,
  deps: { fetch?: typeof fetch | undefined; log?: LogLine | undefined; redact: Redactor },
): Octokit {
  const maxWaitSeconds = (settings.maxRateLimitWaitMs ?? 60_000) / 1000;
  const secondaryRetries = settings.secondaryRateLimitRetries ?? 2;
  const say = (level: string) => (message: string) => deps.log?.(deps.redact(`github ${level}: ${message}`));
  const silent = () => undefined;
  return new GitHubOctokit({
    ...(settings.token ? { auth: settings.token } : {}),
    baseUrl: settings.apiUrl,
    userAgent: settings.userAgent ?? 'mvp-pipeline',
    request: { fetch: abortAware(deps.fetch ?? ((input, init) => fetch(input, init))) },
    log: { debug: silent, info: silent, warn: say('warn'), error: say('error') },
    retry: {
      retries: settings.retries ?? 3,
      // 429 is a rate limit: the throttling plugin owns it, with the wait GitHub asked for.
      doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451],
    },
    throttle: {
      // Calls with one token share GitHub's limits: one queue per token in this process.
      id: settings.token
        ? createHash('sha256').update(settings.token).digest('hex').slice(0, 16)
        : 'anonymous',
      onRateLimit: (retryAfter, options, _octokit, retryCount) => {
        const again = retryCount < 1 && retryAfter <= maxWaitSeconds;
        say('warn')(
          `rate limit on ${options.method} ${options.url}: ${again ? `retrying in ${retryAfter} s` : 'giving up'}`,
        );
        return again;
      },
      onSecondaryRateLimit: (retryAfter, options, _octokit, retryCount) => {
        const again = retryCount < secondaryRetries && retryAfter <= maxWaitSeconds;
        say('warn')(
          `secondary rate limit on ${options.method} ${options.url}: ${again ? `retrying in ${retryAfter} s` : 'giving up'}`,
        );
        return again;
      },
    },
  });
}

/**
 * Octokit turns any fetch failure that is not named AbortError into a 500, which the retry
 * plugin retries for 14 s: an abort (whose reason is the core's own error) must not be.
 */
function abortAware(fetchFn: typeof fetch): typeof fetch {
  return async (input, init) => {
    try {
      return await fetchFn(input, init);
    } catch (error) {
      if (!init?.signal?.aborted) throw error;
      throw Object.assign(new Error('The request was aborted', { cause: error }), { name: 'AbortError' });
    }
  };
}
