import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDiskFiles } from '@mvp-pipeline/adapters-local/testing';
import { createRedactor, REDACTED, redactValue } from '@mvp-pipeline/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createGitHubRepoHost, createGitTemplateSource } from './index.js';
import { type GitHubStandIn, gitCliClone, gitIn, startGitHubStandIn } from './testing/index.js';

// Not shaped like any known token, so only the registered value can hide it.
const TOKEN = 'standin-secret-4c1d9e7b2a55f0e3';
const DATE = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(path.join(entry.parentPath, entry.name));
  }
  return out;
}

/** Every byte of every file under `dir`, and every git object (decompressed) of the repository there. */
async function everythingIn(dir: string, gitDir: string): Promise<string> {
  const parts: string[] = [];
  for (const file of await filesUnder(dir)) parts.push(file, (await readFile(file)).toString('latin1'));
  parts.push(await gitIn(gitDir, ['cat-file', '--batch-all-objects', '--batch']));
  parts.push(await gitIn(gitDir, ['config', '--list', '--show-origin']));
  return parts.join('\n');
}

describe('the token stays secret', () => {
  let github: GitHubStandIn;
  let files: ReturnType<typeof tempDiskFiles>;
  let output: string[];

  beforeEach(async () => {
    github = await startGitHubStandIn({ token: TOKEN, orgs: ['acme'] });
    files = tempDiskFiles();
    output = [];
    const capture =
      (name: string) =>
      (...args: unknown[]) => {
        output.push(`${name}: ${args.map(String).join(' ')}`);
      };
    for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, level).mockImplementation(capture(level));
    }
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await files.dispose();
    await github.close();
  });

  it('is in no output, record, log, error, commit, .git/config or URL', async () => {
    const logs: string[] = [];
    const log = (line: string) => logs.push(line);
    const records: unknown[] = [];
    const errors: unknown[] = [];

    await github.addRepo({
      owner: 'acme',
      name: 'mvp-templates',
      private: true,
      isTemplate: true,
      files: {
        'templates/landing/mvp.template.json': JSON.stringify({
          name: 'landing',
          outputDir: 'site',
          commands: { build: ['node', 'b.mjs'] },
        }),
      },
    });
    await github.addRepo({ owner: 'acme', name: 'eventhub-mvp', description: 'someone else' });

    const templates = createGitTemplateSource({
      templateRepo: 'acme/mvp-templates',
      token: TOKEN,
      apiUrl: github.url,
    });
    const host = createGitHubRepoHost(
      { token: TOKEN, apiUrl: github.url, owner: 'acme', generateFrom: 'acme/mvp-templates', retries: 1 },
      { log },
    );
    const ws = await files.newWorkspace('job_s');
    records.push(await templates.fetchTemplate({ template: 'landing', workspace: ws }));
    // A secondary rate limit on the way: its warning goes to the log.
    github.fail({
      method: 'POST',
      path: /\/generate$/,
      status: 403,
      headers: { 'retry-after': '1' },
      body: { message: 'You have exceeded a secondary rate limit.' },
    });
    const ensured = await host.ensureRepo({ jobId: 'job_s', name: 'eventhub-mvp', description: 'EventHub' });
    records.push(ensured);
    records.push(await host.push({ repo: ensured.repo, workspace: ws, message: 'Start', date: DATE }));
    const back = await files.newWorkspace('job_s');
    records.push(await host.checkout({ repo: ensured.repo, workspace: back }));
    await files.write(back, 'index.html', 'generated');
    records.push(await host.push({ repo: ensured.repo, workspace: back, message: 'Generate', date: DATE }));

    // Failures whose answers echo the token back.
    github.fail({
      method: 'GET',
      path: /^\/repos\//,
      status: 500,
      body: { message: `boom for token ${TOKEN}` },
      times: 2,
    });
    errors.push(
      await host.ensureRepo({ jobId: 'job_x', name: 'x-mvp', description: 'd' }).catch((e: unknown) => e),
    );
    github.fail({ path: /info\/refs$/, status: 403, body: `denied ${TOKEN}` });
    errors.push(
      await host
        .push({ repo: ensured.repo, workspace: back, message: 'm', date: DATE })
        .catch((e: unknown) => e),
    );
    const wrong = createGitHubRepoHost({ token: `${TOKEN}-wrong`, apiUrl: github.url }, { log });
    errors.push(
      await wrong.ensureRepo({ jobId: 'j', name: 'y-mvp', description: 'd' }).catch((e: unknown) => e),
    );
    errors.push(
      await wrong
        .push({ repo: ensured.repo, workspace: back, message: 'm2', date: DATE })
        .catch((e: unknown) => e),
    );
    expect(errors.every((e) => e instanceof Error)).toBe(true);
    // GitHub's answer echoed the token; the message keeps the answer and hides the token.
    expect((errors[0] as Error).message).toContain(`boom for token ${REDACTED}`);
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual([
      'TRANSIENT',
      'PERMANENT',
      'PERMANENT',
      'PERMANENT',
    ]);
    expect(logs.some((l) => l.includes('secondary rate limit'))).toBe(true);

    const clone = await gitCliClone(ensured.repo.cloneUrl, TOKEN);
    const texts = [
      JSON.stringify(records),
      ...errors.map(
        (e) =>
          `${(e as Error).message}\n${(e as Error).stack}\n${JSON.stringify(redactValue(e, createRedactor()))}`,
      ),
      ...logs,
      ...output,
      ...github.requests.map((r) => `${r.method} ${r.url} ${r.body}`),
      await everythingIn(ws.dir, ws.dir),
      await everythingIn(back.dir, back.dir),
      await everythingIn(github.bareDir(ensured.repo.fullName), github.bareDir(ensured.repo.fullName)),
      await everythingIn(clone.dir, clone.dir),
    ];
    await clone.dispose();
    for (const text of texts) expect(text).not.toContain(TOKEN);
    expect(await readFile(path.join(back.dir, '.git', 'config'), 'utf8')).toContain(ensured.repo.cloneUrl);
    // It did travel, where it belongs: REST as an Authorization header, git as basic auth after a 401.
    expect(
      github.requests
        .filter((r) => r.url.startsWith('/repos/') || r.url.startsWith('/orgs/'))
        .every((r) => r.auth === 'token' || r.auth === 'bearer'),
    ).toBe(true);
    const gitCalls = github.requests.filter((r) => /\.git\//.test(r.url));
    expect(gitCalls.every((r) => r.auth === 'none' || r.auth === 'basic')).toBe(true);
    expect(gitCalls.some((r) => r.auth === 'basic' && r.authorised)).toBe(true);
  });
});
