import { generateKeyPairSync } from 'node:crypto';
import { tempDiskFiles } from '@mvp-pipeline/adapters-local/testing';
import { PipelineError } from '@mvp-pipeline/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitHubRepoHost } from './index.js';
import { type GitHubStandIn, gitIn, startGitHubStandIn } from './testing/index.js';

const DATE = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PUBLIC_PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const APP_ID = '424242';
const INSTALLATION = 99;

describe('GitHub App installation tokens', () => {
  let github: GitHubStandIn;
  let files: ReturnType<typeof tempDiskFiles>;
  let now = Date.UTC(2026, 0, 2, 3, 0, 0);
  const clock = () => now;

  beforeEach(async () => {
    now = Date.UTC(2026, 0, 2, 3, 0, 0);
    github = await startGitHubStandIn({
      token: `ghp_${'unused'.repeat(7)}`,
      orgs: ['acme'],
      app: {
        appId: APP_ID,
        publicKey: PUBLIC_PEM,
        installationId: INSTALLATION,
        account: 'acme',
        tokenTtlMs: 10 * 60_000,
        clock,
      },
    });
    files = tempDiskFiles();
  });
  afterEach(async () => {
    await files.dispose();
    await github.close();
  });

  const minted = () => github.requests.filter((r) => r.url.endsWith('/access_tokens') && r.status === 201);

  it('resolves the owner through the installation, and renews a token before it expires mid-job', async () => {
    const host = createGitHubRepoHost(
      { app: { appId: APP_ID, privateKey: PRIVATE_PEM, installationId: INSTALLATION }, apiUrl: github.url },
      { clock },
    );
    const { repo } = await host.ensureRepo({ jobId: 'job_app', name: 'app-mvp', description: 'd' });
    expect(repo.fullName).toBe('acme/app-mvp');
    const ws = await files.newWorkspace('job_app');
    await files.write(ws, 'index.html', '<h1>One</h1>');
    expect((await host.push({ repo, workspace: ws, message: 'Start', date: DATE })).pushed).toBe(true);
    expect(minted()).toHaveLength(1);
    const first = github.requests.find((r) => r.auth === 'basic' && r.authorised);
    expect(first).toBeDefined();

    // Long AI development: the first token has expired by the time of the next push.
    now += 11 * 60_000;
    await files.write(ws, 'index.html', '<h1>Two</h1>');
    const late = await host.push({ repo, workspace: ws, message: 'Generated', date: DATE });
    expect(late.pushed).toBe(true);
    expect(minted()).toHaveLength(2);
    expect(await gitIn(github.bareDir('acme/app-mvp'), ['log', '--format=%s', 'main'])).toContain(
      'Generated',
    );
    // Nothing was refused on the way: the renewed token went to git as well as to REST.
    expect(github.requests.filter((r) => r.status === 401 && r.auth !== 'none')).toEqual([]);
  });

  it('renews a token that has less than five minutes left, before using it', async () => {
    const host = createGitHubRepoHost(
      { app: { appId: APP_ID, privateKey: PRIVATE_PEM }, owner: 'acme', apiUrl: github.url },
      { clock },
    );
    await host.ensureRepo({ jobId: 'job_a', name: 'a-mvp', description: 'd' });
    now += 4 * 60_000; // 6 minutes left: kept
    await host.ensureRepo({ jobId: 'job_b', name: 'b-mvp', description: 'd' });
    expect(minted()).toHaveLength(1);
    now += 2 * 60_000; // 4 minutes left: renewed
    await host.ensureRepo({ jobId: 'job_c', name: 'c-mvp', description: 'd' });
    expect(minted()).toHaveLength(2);
  });

  it('the stand-in refuses an expired installation token, as GitHub does', async () => {
    const made = await fetch(`${github.url}/app/installations/${INSTALLATION}/access_tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await appJwt()}` },
    });
    const { token } = (await made.json()) as { token: string };
    const read = () => fetch(`${github.url}/repos/acme/x`, { headers: { authorization: `token ${token}` } });
    expect((await read()).status).toBe(404); // authenticated, no such repository
    now += 10 * 60_000 + 1;
    expect((await read()).status).toBe(401);
  });

  it('needs an owner or an installation id, and refuses a user account', async () => {
    const error = (() => {
      try {
        createGitHubRepoHost({ app: { appId: APP_ID, privateKey: PRIVATE_PEM }, apiUrl: github.url });
      } catch (e) {
        return e;
      }
    })();
    expect(PipelineError.isInstance(error) && error.code).toBe('CONFIG');
    expect((error as Error).message).toMatch(/^GITHUB_OWNER: is required with a GitHub App/);
    expect(() =>
      createGitHubRepoHost({
        app: { appId: 'x', privateKey: PRIVATE_PEM },
        owner: 'acme',
        apiUrl: github.url,
      }),
    ).toThrow(/GITHUB_APP_ID/);
    expect(() =>
      createGitHubRepoHost({ app: { appId: APP_ID, privateKey: 'nope' }, owner: 'acme', apiUrl: github.url }),
    ).toThrow(/GITHUB_APP_PRIVATE_KEY/);
    const notInstalled = createGitHubRepoHost(
      { app: { appId: APP_ID, privateKey: PRIVATE_PEM }, owner: 'other-org', apiUrl: github.url },
      { clock },
    );
    const refused = await notInstalled
      .ensureRepo({ jobId: 'j', name: 'n-mvp', description: 'd' })
      .catch((e: unknown) => e);
    expect((refused as Error).message).toMatch(/not installed on "other-org"/);
  });

  /** The App's JWT as the adapter signs it (the stand-in checks signature, issuer and lifetime). */
  async function appJwt(): Promise<string> {
    const { createSign } = await import('node:crypto');
    const seconds = Math.floor(now / 1000);
    const part = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const body = `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ iat: seconds - 60, exp: seconds + 540, iss: APP_ID })}`;
    return `${body}.${createSign('RSA-SHA256').update(body).sign(privateKey).toString('base64url')}`;
  }
});
