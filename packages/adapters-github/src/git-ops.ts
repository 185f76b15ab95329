import { setTimeout as delay } from 'node:timers/promises';
import type { PipelineError, Redactor } from '@mvp-pipeline/core';
import type { AuthCallback, AuthFailureCallback } from 'isomorphic-git';
import { fromGitError, gitHttpStatus } from './errors.js';

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const defaultSleep: Sleep = async (ms, signal) => {
  await delay(ms, undefined, signal ? { signal } : {});
};

/**
 * The token for git over HTTPS, given only when the server asks (a 401): never in a URL, so
 * it cannot reach `.git/config`, a log line or an error. `x-access-token` as the user name
 * works for personal access tokens and app installation tokens alike.
 */
export function gitAuth(token: string | { token(): Promise<string> } | undefined): {
  onAuth?: AuthCallback;
  onAuthFailure?: AuthFailureCallback;
} {
  if (!token) return {};
  return {
    // A token source is asked on every request: an installation token is renewed before it expires.
    onAuth: async () => ({
      username: 'x-access-token',
      password: typeof token === 'string' ? token : await token.token(),
    }),
    // A second 401 means the token was refused: stop instead of asking again.
    onAuthFailure: () => ({ cancel: true }),
  };
}

export interface GitRetryOptions {
  /** What we are doing, for messages ("pushing to acme/eventhub-mvp"). */
  what: string;
  redact: Redactor;
  sleep: Sleep;
  signal?: AbortSignal | undefined;
  /** Retries of a 5xx or a lost connection. */
  retries: number;
  /**
   * How long a 404/409 is taken for GitHub's short window after creating a repository (its git
   * side not yet visible, a template copy still running) and waited out. 0 fails at once.
   */
  settleMs: number;
  now?: () => number;
}

/** Runs a git operation, waiting out the creation window and retrying server errors, within bounds. */
export async function withGitRetries<T>(run: () => Promise<T>, options: GitRetryOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const deadline = now() + options.settleMs;
  let failures = 0;
  let wait = 250;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      return await run();
    } catch (error) {
      const mapped: PipelineError = fromGitError(error, options.what, options.redact);
      const status = gitHttpStatus(error);
      const settling = (status === 404 || status === 409) && now() + wait <= deadline;
      const transient = mapped.code === 'TRANSIENT' && failures < options.retries;
      if (!settling && !transient) throw mapped;
      if (!settling) failures++;
      await options.sleep(wait, options.signal);
      wait = Math.min(wait * 2, 4000);
    }
  }
}
