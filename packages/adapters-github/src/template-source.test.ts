import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { lstat, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { tempDiskFiles } from '@mvp-pipeline/adapters-local/testing';
import { PipelineError } from '@mvp-pipeline/core';
import { templateSourceContract } from '@mvp-pipeline/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitTemplateSource } from './index.js';
import { type GitHubStandIn, gitIn, startGitHubStandIn } from './testing/index.js';

const run = promisify(execFile);
const TOKEN = 'ghp_' + 'StandInToken0123456789abcdefABCDEF03';

const LANDING = {
  'templates/landing/mvp.template.json': JSON.stringify({
    name: 'landing',
    outputDir: 'site',
    commands: { build: ['node', 'build.mjs'] },
  }),
  'templates/landing/build.mjs': 'console.log("build")\n',
  'templates/landing/src/index.html': '<h1>{{name}}</h1>\n',
  'templates/blog/mvp.template.json': JSON.stringify({
    name: 'blog',
    outputDir: 'out',
    commands: { build: ['node', 'b.mjs'] },
  }),
  'README.md': 'Templates\n',
};

/** Adds a commit to a bare repository with the real git CLI (a local path is fine for it). */
async function commitTo(bare: string, files: Record<string, string>, message: string): Promise<string> {
  const work = await mkdtemp(path.join(tmpdir(), 'tpl-work-'));
  const env = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: work,
    GIT_AUTHOR_NAME: 'T',
    GIT_AUTHOR_EMAIL: 't@example.com',
    GIT_COMMITTER_NAME: 'T',
    GIT_COMMITTER_EMAIL: 't@example.com',
  };
  try {
    await run('git', ['clone', '--quiet', bare, work], { env });
    for (const [file, content] of Object.entries(files)) await writeFile(path.join(work, file), content);
    await run('git', ['-C', work, 'add', '--all'], { env });
    await run('git', ['-C', work, 'commit', '--quiet', '-m', message], { env });
    await run('git', ['-C', work, 'push', '--quiet', 'origin', 'main'], { env });
    return (await gitIn(bare, ['rev-parse', 'main'])).trim();
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

templateSourceContract(
  { describe, it, expect, beforeEach, afterEach },
  'git template repository on GitHub',
  async () => {
    const github = await startGitHubStandIn({ token: TOKEN });
    await github.addRepo({ owner: 'acme', name: 'mvp-templates', private: true, files: LANDING });
    const files = tempDiskFiles();
    return {
      source: createGitTemplateSource({
        templateRepo: 'acme/mvp-templates',
        token: TOKEN,
        apiUrl: github.url,
      }),
      files,
      template: 'landing',
      async dispose() {
        await files.dispose();
        await github.close();
      },
    };
  },
);

describe('git template source', () => {
  let github: GitHubStandIn;
  let files: ReturnType<typeof tempDiskFiles>;

  beforeEach(async () => {
    github = await startGitHubStandIn({ token: TOKEN });
    files = tempDiskFiles();
  });
  afterEach(async () => {
    await files.dispose();
    await github.close();
  });

  it('copies templates/<name> at the branch head, and names the commit it came from', async () => {
    await github.addRepo({ owner: 'acme', name: 'tpl', private: true, files: LANDING });
    const source = createGitTemplateSource({ templateRepo: 'acme/tpl', token: TOKEN, apiUrl: github.url });
    const ws = await files.newWorkspace();
    const { manifest, ref } = await source.fetchTemplate({ template: 'landing', workspace: ws });
    expect(manifest).toMatchObject({ name: 'landing', outputDir: 'site' });
    expect(ref).toBe((await gitIn(github.bareDir('acme/tpl'), ['rev-parse', 'main'])).trim());
    expect(await files.list(ws)).toEqual(['build.mjs', 'mvp.template.json', 'src/index.html']);
    await expect(lstat(path.join(ws.dir, '.git'))).rejects.toThrow();
    expect(github.requests.some((r) => r.auth === 'basic' && r.authorised)).toBe(true);
  });

  it('serves a repository that is one template at its root, by its manifest name', async () => {
    await github.addRepo({
      owner: 'acme',
      name: 'landing-starter',
      files: {
        'mvp.template.json': JSON.stringify({
          name: 'starter',
          outputDir: 'dist',
          commands: { build: ['node', 'x'] },
        }),
        'index.html': 'hi',
      },
    });
    // A public repository needs no token.
    const source = createGitTemplateSource({ templateRepo: 'acme/landing-starter', apiUrl: github.url });
    const ws = await files.newWorkspace();
    const { manifest } = await source.fetchTemplate({ template: 'starter', workspace: ws });
    expect(manifest.name).toBe('starter');
    expect(await files.list(ws)).toEqual(['index.html', 'mvp.template.json']);
    expect((await source.readManifest({ workspace: ws })).manifest).toEqual(manifest);
    expect(github.requests.every((r) => r.auth === 'none')).toBe(true);
  });

  it('follows @ref: a branch, a tag or a commit', async () => {
    await github.addRepo({ owner: 'acme', name: 'tpl', files: LANDING });
    const bare = github.bareDir('acme/tpl');
    const first = (await gitIn(bare, ['rev-parse', 'main'])).trim();
    await gitIn(bare, ['tag', 'v1', first]);
    await gitIn(bare, ['branch', 'stable', first]);
    await commitTo(bare, { 'README.md': 'changed\n' }, 'Second');
    const second = (await gitIn(bare, ['rev-parse', 'main'])).trim();
    const fetch = async (templateRepo: string) => {
      const source = createGitTemplateSource({ templateRepo, apiUrl: github.url });
      return (await source.fetchTemplate({ template: 'blog', workspace: await files.newWorkspace() })).ref;
    };
    expect(await fetch('acme/tpl')).toBe(second);
    expect(await fetch('acme/tpl@stable')).toBe(first);
    expect(await fetch('acme/tpl@v1')).toBe(first);
    expect(await fetch(`acme/tpl@${first}`)).toBe(first);
    expect(await fetch(`acme/tpl@${first.slice(0, 10)}`)).toBe(first);
  });

  it('NOT_FOUND for a missing repository, ref or template; PERMANENT for a private one without a token', async () => {
    await github.addRepo({ owner: 'acme', name: 'tpl', private: true, files: LANDING });
    const code = async (templateRepo: string, token?: string, template = 'landing') => {
      const source = createGitTemplateSource({
        templateRepo,
        apiUrl: github.url,
        ...(token ? { token } : {}),
      });
      const error = await source
        .fetchTemplate({ template, workspace: await files.newWorkspace() })
        .catch((e: unknown) => e);
      expect(PipelineError.isInstance(error)).toBe(true);
      expect((error as Error).message).not.toContain(TOKEN);
      return (error as PipelineError).code;
    };
    expect(await code('acme/nothing-here', TOKEN)).toBe('NOT_FOUND');
    expect(await code('acme/tpl@no-such-branch', TOKEN)).toBe('NOT_FOUND');
    expect(await code('acme/tpl', TOKEN, 'shop')).toBe('NOT_FOUND');
    expect(await code('acme/tpl')).toBe('PERMANENT');
    expect(await code('acme/tpl', TOKEN, '../etc')).toBe('VALIDATION');
  });

  it('keeps executable bits, drops symlinks that leave the template', async () => {
    const bare =
      (await github.addRepo({ owner: 'acme', name: 'tpl', files: LANDING })) && github.bareDir('acme/tpl');
    const work = await mkdtemp(path.join(tmpdir(), 'tpl-links-'));
    const env = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: work,
      GIT_AUTHOR_NAME: 'T',
      GIT_AUTHOR_EMAIL: 't@example.com',
      GIT_COMMITTER_NAME: 'T',
      GIT_COMMITTER_EMAIL: 't@example.com',
    };
    try {
      await run('git', ['clone', '--quiet', bare, work], { env });
      const dir = path.join(work, 'templates', 'landing');
      await writeFile(path.join(dir, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
      await run('ln', ['-s', '../../../../../etc/passwd', path.join(dir, 'escape')]);
      await run('ln', ['-s', 'src/index.html', path.join(dir, 'inside')]);
      await run('git', ['-C', work, 'add', '--all'], { env });
      await run('git', ['-C', work, 'commit', '--quiet', '-m', 'links'], { env });
      await run('git', ['-C', work, 'push', '--quiet', 'origin', 'main'], { env });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    const source = createGitTemplateSource({ templateRepo: 'acme/tpl', apiUrl: github.url });
    const ws = await files.newWorkspace();
    await source.fetchTemplate({ template: 'landing', workspace: ws });
    expect((await lstat(path.join(ws.dir, 'run.sh'))).mode & 0o111).not.toBe(0);
    await expect(lstat(path.join(ws.dir, 'escape'))).rejects.toThrow();
    expect(await readFile(path.join(ws.dir, 'inside'), 'utf8')).toBe('<h1>{{name}}</h1>\n');
  });

  it('readManifest: NOT_FOUND without a manifest, VALIDATION for a bad one', async () => {
    const source = createGitTemplateSource({ templateRepo: 'acme/tpl', apiUrl: github.url });
    const ws = await files.newWorkspace();
    const missing = await source.readManifest({ workspace: ws }).catch((e: unknown) => e);
    expect((missing as PipelineError).code).toBe('NOT_FOUND');
    await files.write(
      ws,
      'mvp.template.json',
      JSON.stringify({ name: 'x', outputDir: '/abs', commands: {} }),
    );
    const bad = await source.readManifest({ workspace: ws }).catch((e: unknown) => e);
    expect((bad as PipelineError).code).toBe('VALIDATION');
  });

  it('rejects a malformed TEMPLATE_REPO with a message naming it', () => {
    expect(() => createGitTemplateSource({ templateRepo: 'https://github.com/acme/x' })).toThrow(
      /TEMPLATE_REPO/,
    );
    expect(() => createGitTemplateSource({ templateRepo: 'just-a-name' })).toThrow(/TEMPLATE_REPO/);
  });
});

describe('git template source with a GitHub App', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const PRIVATE_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const APP_ID = '424242';
  let github: GitHubStandIn;
  let files: ReturnType<typeof tempDiskFiles>;
  let now = Date.UTC(2026, 0, 2, 3, 0, 0);
  const clock = () => now;

  beforeEach(async () => {
    now = Date.UTC(2026, 0, 2, 3, 0, 0);
    github = await startGitHubStandIn({
      token: TOKEN,
      orgs: ['acme'],
      app: {
        appId: APP_ID,
        publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        installationId: 99,
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

  it('reads a private template with App settings only, on a fresh installation token once one expires', async () => {
    await github.addRepo({ owner: 'acme', name: 'tpl', private: true, files: LANDING });
    // No token and no installation id: the installation is looked up on the template's owner.
    const source = createGitTemplateSource(
      { templateRepo: 'acme/tpl', app: { appId: APP_ID, privateKey: PRIVATE_PEM }, apiUrl: github.url },
      { clock },
    );
    const minted = () => github.requests.filter((r) => r.url.endsWith('/access_tokens') && r.status === 201);
    const ws = await files.newWorkspace();
    const { manifest, ref } = await source.fetchTemplate({ template: 'landing', workspace: ws });
    expect(manifest).toMatchObject({ name: 'landing', outputDir: 'site' });
    expect(ref).toBe((await gitIn(github.bareDir('acme/tpl'), ['rev-parse', 'main'])).trim());
    expect(await files.list(ws)).toEqual(['build.mjs', 'mvp.template.json', 'src/index.html']);
    expect(github.requests.some((r) => r.url === '/orgs/acme/installation' && r.status === 200)).toBe(true);
    expect(minted()).toHaveLength(1);
    // git got the installation token as basic auth (the source was given no other).
    expect(github.requests.some((r) => r.auth === 'basic' && r.authorised)).toBe(true);

    // The first token has expired by the next job: a new one is minted, nothing is refused.
    now += 11 * 60_000;
    await source.fetchTemplate({ template: 'blog', workspace: await files.newWorkspace() });
    expect(minted()).toHaveLength(2);
    expect(github.requests.filter((r) => r.status === 401 && r.auth !== 'none')).toEqual([]);

    // A failure names no installation token.
    const missing = createGitTemplateSource(
      {
        templateRepo: 'acme/nothing-here',
        app: { appId: APP_ID, privateKey: PRIVATE_PEM },
        apiUrl: github.url,
      },
      { clock },
    );
    const error = await missing
      .fetchTemplate({ template: 'landing', workspace: await files.newWorkspace() })
      .catch((e: unknown) => e);
    expect((error as PipelineError).code).toBe('NOT_FOUND');
    expect((error as Error).message).not.toMatch(/ghs_/);
  });
});
