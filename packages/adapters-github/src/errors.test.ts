import { tempDiskFiles } from '@mvp-pipeline/adapters-local/testing';
import { createRedactor, PipelineError, type RepoHost } from '@mvp-pipeline/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fromRestError, isNameTaken, rateLimitWaitMs } from './errors.js';
import { createGitHubRepoHost, type GitHubRepoHostSettings } from './index.js';
import { GITHUB_ERRORS, type GitHubStandIn, startGitHubStandIn } from './testing/index.js';

const TOKEN = 'ghp_' + 'StandInToken0123456789abcdefABCDEF02';
const DATE = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
const redact = createRedactor([TOKEN]);

const restError = (status: number, data: unknown, headers: Record<string, string> = {}) => ({
  status,
  message: `${(data as { message?: string }).message ?? ''} - https://docs.github.com/rest`,
  response: { headers, data },
});

async function failure(promise: Promise<unknown>): Promise<PipelineError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!PipelineError.isInstance(error)) throw new Error(`expected a PipelineError, got ${String(error)}`);
  return error;
}

describe('GitHub error mapping', () => {
  it('recognises both shapes of “name already exists”', () => {
    expect(isNameTaken(restError(422, GITHUB_ERRORS.nameExists))).toBe(true);
    expect(isNameTaken(restError(422, GITHUB_ERRORS.generateNameExists))).toBe(true);
    expect(isNameTaken(restError(422, GITHUB_ERRORS.validation))).toBe(false);
    expect(isNameTaken(restError(403, GITHUB_ERRORS.forbidden))).toBe(false);
  });

  it('reads the wait from retry-after, then x-ratelimit-reset, else one minute for a secondary limit', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(
      rateLimitWaitMs(restError(403, GITHUB_ERRORS.secondaryRateLimit, { 'retry-after': '30' }), now),
    ).toBe(30_000);
    const reset = String(now / 1000 + 600);
    expect(
      rateLimitWaitMs(
        restError(403, GITHUB_ERRORS.primaryRateLimit, {
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': reset,
        }),
        now,
      ),
    ).toBe(601_000);
    expect(rateLimitWaitMs(restError(403, GITHUB_ERRORS.secondaryRateLimit), now)).toBe(60_000);
    expect(rateLimitWaitMs(restError(429, { message: 'Too Many Requests' }), now)).toBe(60_000);
    expect(
      rateLimitWaitMs(restError(403, GITHUB_ERRORS.forbidden, { 'x-ratelimit-remaining': '4000' }), now),
    ).toBe(undefined);
  });

  it('maps statuses onto the core vocabulary, with the wait in the message', () => {
    const now = Date.UTC(2026, 0, 1);
    const limited = fromRestError(
      restError(403, GITHUB_ERRORS.secondaryRateLimit, { 'retry-after': '90' }),
      'creating repository a/b',
      redact,
      now,
    );
    expect(limited).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 90_000 });
    expect(limited.message).toContain('wait 90 s, until 2026-01-01T00:01:30.000Z');
    expect(fromRestError(restError(401, GITHUB_ERRORS.badCredentials), 'x', redact).code).toBe('PERMANENT');
    expect(fromRestError(restError(403, GITHUB_ERRORS.forbidden), 'x', redact).code).toBe('PERMANENT');
    expect(fromRestError(restError(422, GITHUB_ERRORS.validation), 'x', redact).code).toBe('PERMANENT');
    expect(fromRestError(restError(404, GITHUB_ERRORS.notFound), 'x', redact).code).toBe('NOT_FOUND');
    expect(fromRestError(restError(502, { message: 'Server Error' }), 'x', redact).code).toBe('TRANSIENT');
    expect(fromRestError(new TypeError('fetch failed'), 'x', redact).code).toBe('TRANSIENT');
  });

  it('never repeats the token, even when GitHub’s answer echoes it', () => {
    const error = fromRestError(restError(422, { message: `token ${TOKEN} is odd` }), 'x', redact);
    expect(error.message).not.toContain(TOKEN);
  });
});

describe('GitHub RepoHost against rate limits and failures', () => {
  let github: GitHubStandIn;
  let files: ReturnType<typeof tempDiskFiles>;
  const host = (settings: Partial<GitHubRepoHostSettings> = {}): RepoHost =>
    createGitHubRepoHost({ token: TOKEN, apiUrl: github.url, retries: 1, ...settings });
  const ensure = (h: RepoHost, name = 'rl-mvp') => h.ensureRepo({ jobId: 'job_rl', name, description: 'd' });
  const posts = () => github.requests.filter((r) => r.method === 'POST').length;
  const createPath = /^\/user\/repos$/;

  beforeEach(async () => {
    github = await startGitHubStandIn({ token: TOKEN });
    files = tempDiskFiles();
  });
  afterEach(async () => {
    await files.dispose();
    await github.close();
  });

  it('waits out a secondary rate limit for as long as retry-after says, then succeeds', async () => {
    github.fail({
      method: 'POST',
      path: createPath,
      status: 403,
      headers: { 'retry-after': '1' },
      body: GITHUB_ERRORS.secondaryRateLimit,
    });
    const { created } = await ensure(host());
    expect(created).toBe(true);
    expect(posts()).toBe(2);
  });

  it('gives up on a secondary rate limit after a bounded number of retries: RATE_LIMITED with the wait', async () => {
    github.fail({
      method: 'POST',
      path: createPath,
      status: 403,
      headers: { 'retry-after': '1' },
      body: GITHUB_ERRORS.secondaryRateLimit,
      times: 10,
    });
    const error = await failure(ensure(host({ secondaryRateLimitRetries: 2 })));
    expect(error).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 1000, retryable: true });
    expect(error.message).toMatch(/wait 1 s, until \d{4}-/);
    expect(posts()).toBe(3);
    expect(github.repos()).toHaveLength(0);
  });

  it('a 429 asking for a longer wait than we sit out fails at once as RATE_LIMITED', async () => {
    github.fail({
      method: 'POST',
      path: createPath,
      status: 429,
      headers: { 'retry-after': '120' },
      body: GITHUB_ERRORS.secondaryRateLimit,
    });
    const error = await failure(ensure(host()));
    expect(error).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 120_000 });
    expect(error.message).toContain('wait 2 min');
    expect(posts()).toBe(1);
  });

  it('an exhausted primary limit honours x-ratelimit-reset: a short wait is sat out once', async () => {
    github.fail({
      method: 'POST',
      path: createPath,
      status: 403,
      headers: {
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 1),
      },
      body: GITHUB_ERRORS.primaryRateLimit,
    });
    expect((await ensure(host())).created).toBe(true);
    expect(posts()).toBe(2);
  });

  it('an exhausted primary limit resetting in an hour fails at once, saying when to come back', async () => {
    const reset = Math.floor(Date.now() / 1000) + 3600;
    github.fail({
      method: 'POST',
      path: createPath,
      status: 403,
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
      body: GITHUB_ERRORS.primaryRateLimit,
    });
    const error = await failure(ensure(host()));
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.retryAfterMs).toBeGreaterThan(3_500_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(3_602_000);
    expect(error.message).toContain(new Date(reset * 1000 + 1000).toISOString().slice(0, 16));
    expect(posts()).toBe(1);
  });

  it('retries a 5xx, and reports TRANSIENT when it persists', async () => {
    github.fail({ method: 'POST', path: createPath, status: 503, body: GITHUB_ERRORS.serverError });
    expect((await ensure(host(), 'ok-mvp')).created).toBe(true);
    github.fail({ method: 'POST', path: createPath, status: 500, body: GITHUB_ERRORS.serverError, times: 5 });
    const error = await failure(ensure(host(), 'down-mvp'));
    expect(error).toMatchObject({ code: 'TRANSIENT', retryable: true });
    expect(error.message).toContain('500');
  });

  it('a refused token, a forbidden call and a rejected body are PERMANENT', async () => {
    const badToken = 'ghp_' + 'WrongToken0123456789abcdefABCDEF0123';
    const bad = await failure(
      createGitHubRepoHost({ token: badToken, apiUrl: github.url }).ensureRepo({
        jobId: 'j',
        name: 'x-mvp',
        description: 'd',
      }),
    );
    expect(bad).toMatchObject({ code: 'PERMANENT', retryable: false });
    expect(bad.message).toContain('GITHUB_TOKEN');
    expect(bad.message).not.toContain(badToken);

    github.fail({ method: 'POST', path: createPath, status: 403, body: GITHUB_ERRORS.forbidden });
    const forbidden = await failure(ensure(host(), 'f-mvp'));
    expect(forbidden.code).toBe('PERMANENT');
    expect(forbidden.message).toContain('Resource not accessible');

    github.fail({ method: 'POST', path: createPath, status: 422, body: GITHUB_ERRORS.validation });
    const invalid = await failure(ensure(host(), 'v-mvp'));
    expect(invalid.code).toBe('PERMANENT');
    expect(invalid.message).toContain('description control characters');
  });

  it('an unreachable API is TRANSIENT', async () => {
    const h = createGitHubRepoHost({ token: TOKEN, apiUrl: 'http://127.0.0.1:9', retries: 0 });
    expect((await failure(ensure(h))).code).toBe('TRANSIENT');
  });

  it('git: a refused token is PERMANENT; a 5xx is retried, then TRANSIENT', async () => {
    const { repo } = await ensure(host());
    const ws = await files.newWorkspace();
    await files.write(ws, 'a.txt', 'a');
    const badToken = 'ghp_' + 'WrongToken0123456789abcdefABCDEF0456';
    const refused = await failure(
      createGitHubRepoHost({ token: badToken, apiUrl: github.url }).push({
        repo,
        workspace: ws,
        message: 'm',
        date: DATE,
      }),
    );
    expect(refused.code).toBe('PERMANENT');
    expect(refused.message).not.toContain(badToken);

    github.fail({ path: /info\/refs$/, status: 502, body: 'Bad Gateway' });
    expect((await host().push({ repo, workspace: ws, message: 'm', date: DATE })).pushed).toBe(true);
    github.fail({ path: /info\/refs$/, status: 503, body: 'Unavailable', times: 5 });
    const down = await failure(host().push({ repo, workspace: ws, message: 'm', date: DATE }));
    expect(down.code).toBe('TRANSIENT');
  });
});
