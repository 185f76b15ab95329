import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoHostContract } from '@mvp-pipeline/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diskFiles } from '../testing/disk-files.js';
import { createGitRepoHost } from './git-repo-host.js';

const execFileAsync = promisify(execFile);
/** Debian's git, spawned with an argument array; HOME and config isolated from the machine's. */
const realGit = async (args: string[], cwd: string) =>
  (
    await execFileAsync('git', args, {
      cwd,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: cwd, GIT_CONFIG_NOSYSTEM: '1', LANG: 'C' },
    })
  ).stdout;

const countRepos = async (root: string) =>
  (await readdir(root).catch(() => [] as string[])).filter((e) => e.endsWith('.git')).length;

const DATE = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));

repoHostContract({ describe, it, expect, beforeEach, afterEach }, 'bare git on disk', async () => {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'mvp-repos-'));
  const root = path.join(tmp, 'repos');
  return {
    host: createGitRepoHost({ root }),
    files: diskFiles(path.join(tmp, 'ws')),
    repoCount: () => countRepos(root),
    dispose: () => rm(tmp, { recursive: true, force: true }),
  };
});

describe('git repo host', () => {
  let tmp: string;
  let root: string;
  const files = () => diskFiles(path.join(tmp, 'ws'));
  beforeEach(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mvp-repos-'));
    root = path.join(tmp, 'repos');
  });
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('describes the repository with a file URL, the bare path and main', async () => {
    const { repo } = await createGitRepoHost({ root }).ensureRepo({
      jobId: 'job_1',
      name: 'shop-mvp',
      description: 'A shop',
    });
    expect(repo).toEqual({
      name: 'shop-mvp',
      fullName: 'shop-mvp',
      url: `file://${path.join(root, 'shop-mvp.git')}`,
      cloneUrl: path.join(root, 'shop-mvp.git'),
      branch: 'main',
    });
    const served = await createGitRepoHost({ root, baseUrl: 'http://127.0.0.1:9000/git/' }).ensureRepo({
      jobId: 'job_1',
      name: 'shop-mvp',
      description: 'A shop',
    });
    expect(served.created).toBe(false);
    expect(served.repo.url).toBe('http://127.0.0.1:9000/git/shop-mvp.git');
  });

  it('finds a suffixed repository again on a re-run, from a new host instance', async () => {
    const a = await createGitRepoHost({ root }).ensureRepo({
      jobId: 'job_a',
      name: 'x-mvp',
      description: 'd',
    });
    const b = await createGitRepoHost({ root }).ensureRepo({
      jobId: 'job_b',
      name: 'x-mvp',
      description: 'd',
    });
    const c = await createGitRepoHost({ root }).ensureRepo({
      jobId: 'job_c',
      name: 'x-mvp',
      description: 'd',
    });
    expect([a.repo.name, b.repo.name, c.repo.name]).toEqual(['x-mvp', 'x-mvp-2', 'x-mvp-3']);
    const again = await createGitRepoHost({ root }).ensureRepo({
      jobId: 'job_c',
      name: 'x-mvp',
      description: 'd',
    });
    expect(again).toEqual({ repo: c.repo, created: false, provider: 'local-git' });
    expect(await countRepos(root)).toBe(3);
  });

  it('creates one repository when attempts of the same job race', async () => {
    const host = createGitRepoHost({ root });
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        host.ensureRepo({ jobId: 'job_race', name: 'race-mvp', description: 'd' }),
      ),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.repo.name))).toEqual(new Set(['race-mvp']));
    expect(await readdir(root)).toEqual(['race-mvp.git']);
  });

  it('rejects hostile names, job ids, branches and commits', async () => {
    const host = createGitRepoHost({ root });
    for (const name of [
      '../escape',
      'a/b',
      '/abs',
      'UPPER',
      '-lead',
      'trail-',
      'a--b',
      'x.git',
      'a\0b',
      '',
      'a b',
    ]) {
      await expect(host.ensureRepo({ jobId: 'job_1', name, description: 'd' })).rejects.toMatchObject({
        code: 'VALIDATION',
      });
    }
    await expect(host.ensureRepo({ jobId: '../job', name: 'ok', description: 'd' })).rejects.toMatchObject({
      code: 'VALIDATION',
    });
    await expect(
      host.ensureRepo({ jobId: 'job\n[core]', name: 'ok', description: 'd' }),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
    });
    const { repo } = await host.ensureRepo({ jobId: 'job_1', name: 'ok', description: 'd' });
    const ws = await files().newWorkspace();
    await expect(
      host.push({ repo: { ...repo, name: '../ok' }, workspace: ws, message: 'm', date: DATE }),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
    });
    await expect(
      host.push({ repo: { ...repo, branch: '../../HEAD' }, workspace: ws, message: 'm', date: DATE }),
    ).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(host.checkout({ repo, workspace: ws, commit: 'HEAD~1' })).rejects.toMatchObject({
      code: 'VALIDATION',
    });
    expect(await readdir(root)).toEqual(['ok.git']);
  });

  it('answers NOT_FOUND for an unknown repository, an empty branch or an unknown commit', async () => {
    const host = createGitRepoHost({ root });
    const ws = await files().newWorkspace();
    const { repo } = await host.ensureRepo({ jobId: 'job_1', name: 'nf', description: 'd' });
    await expect(host.checkout({ repo, workspace: ws })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(host.checkout({ repo: { ...repo, name: 'other' }, workspace: ws })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await files().write(ws, 'a.txt', 'a');
    await host.push({ repo, workspace: ws, message: 'm', date: DATE });
    const fresh = await files().newWorkspace();
    await expect(host.checkout({ repo, workspace: fresh, commit: '0'.repeat(40) })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('makes repositories that git clone and git fsck --full accept, from creation on', async () => {
    const host = createGitRepoHost({ root });
    const { repo } = await host.ensureRepo({ jobId: 'job_fsck', name: 'fsck-mvp', description: 'Checked' });
    await realGit(['fsck', '--full', '--strict'], repo.cloneUrl);
    await realGit(['clone', '-q', repo.url, path.join(tmp, 'empty-clone')], tmp);

    const ws = await files().newWorkspace('job_fsck');
    await files().write(ws, 'index.html', '<h1>Hi</h1>');
    await files().write(ws, 'src/deep/nested/app.js', 'console.log(1)');
    await files().write(ws, 'bin/tool', '#!/bin/sh\necho ok\n');
    await chmod(path.join(ws.dir, 'bin/tool'), 0o755);
    const first = await host.push({ repo, workspace: ws, message: 'Start', date: DATE });
    await files().remove(ws, 'index.html');
    const second = await host.push({
      repo,
      workspace: ws,
      message: 'Second',
      date: new Date(DATE.getTime() + 60_000),
    });
    expect(await realGit(['fsck', '--full', '--strict'], repo.cloneUrl)).toBe('');
    const clone = path.join(tmp, 'clone');
    await realGit(['clone', '-q', repo.cloneUrl, clone], tmp);
    await realGit(['fsck', '--full', '--strict'], clone);
    expect((await realGit(['rev-parse', 'HEAD'], clone)).trim()).toBe(second.commit);
    expect((await realGit(['log', '--format=%H %s'], clone)).trim().split('\n')).toEqual([
      `${second.commit} Second`,
      `${first.commit} Start`,
    ]);
    expect(
      (await realGit(['ls-files', '-s'], clone))
        .trim()
        .split('\n')
        .map((l) => l.replace(/ \w{40} 0/, '')),
    ).toEqual(['100755\tbin/tool', '100644\tsrc/deep/nested/app.js']);
    expect(await realGit(['status', '--porcelain'], clone)).toBe('');
    expect((await realGit(['config', 'mvp.jobId'], repo.cloneUrl)).trim()).toBe('job_fsck');
  });

  it('resumes a job: push, check out into a new workspace, commit more, push, clone shows both', async () => {
    const host = createGitRepoHost({ root });
    const { repo } = await host.ensureRepo({ jobId: 'job_resume', name: 'resume-mvp', description: 'd' });
    const first = await files().newWorkspace('job_resume');
    await files().write(first, 'index.html', 'v1');
    await files().write(first, 'keep.txt', 'keep');
    const template = await host.push({ repo, workspace: first, message: 'Template', date: DATE });

    // A new runner: the workspace is gone, the repository is all there is.
    const again = await createGitRepoHost({ root }).ensureRepo({
      jobId: 'job_resume',
      name: 'resume-mvp',
      description: 'd',
    });
    const second = await files().newWorkspace('job_resume');
    const out = await host.checkout({ repo: again.repo, workspace: second });
    expect(out.commit).toBe(template.commit);
    expect((await stat(path.join(second.dir, '.git'))).isDirectory()).toBe(true);
    expect(await realGit(['status', '--porcelain'], second.dir)).toBe('');
    // Nothing changed yet: pushing is a no-op.
    expect(await host.push({ repo, workspace: second, message: 'none', date: DATE })).toEqual({
      commit: template.commit,
      pushed: false,
    });
    await files().write(second, 'index.html', 'v2');
    const generated = await host.push({ repo, workspace: second, message: 'Generated', date: DATE });
    expect(generated.pushed).toBe(true);

    const clone = path.join(tmp, 'clone');
    await realGit(['clone', '-q', repo.url, clone], tmp);
    await realGit(['fsck', '--full', '--strict'], clone);
    expect((await realGit(['log', '--format=%H %P %s'], clone)).trim().split('\n')).toEqual([
      `${generated.commit} ${template.commit} Generated`,
      `${template.commit}  Template`,
    ]);
    expect(await files().read({ jobId: 'x', dir: clone }, 'index.html')).toBe('v2');
    expect(await files().read({ jobId: 'x', dir: clone }, 'keep.txt')).toBe('keep');
  });

  it('checks out an older commit, and a push from there replaces the branch', async () => {
    const host = createGitRepoHost({ root });
    const { repo } = await host.ensureRepo({ jobId: 'job_old', name: 'old-mvp', description: 'd' });
    const ws = await files().newWorkspace();
    await files().write(ws, 'a.txt', '1');
    const one = await host.push({ repo, workspace: ws, message: 'one', date: DATE });
    await files().write(ws, 'a.txt', '2');
    await host.push({ repo, workspace: ws, message: 'two', date: DATE });

    const back = await files().newWorkspace();
    await host.checkout({ repo, workspace: back, commit: one.commit });
    expect(await files().read(back, 'a.txt')).toBe('1');
    await files().write(back, 'a.txt', 'retry');
    const retried = await host.push({ repo, workspace: back, message: 'two again', date: DATE });
    const clone = path.join(tmp, 'clone');
    await realGit(['clone', '-q', repo.cloneUrl, clone], tmp);
    expect((await realGit(['log', '--format=%H'], clone)).trim().split('\n')).toEqual([
      retried.commit,
      one.commit,
    ]);
    await realGit(['fsck', '--full'], repo.cloneUrl);
  });

  it('never commits node_modules pushed from a workspace', async () => {
    const host = createGitRepoHost({ root });
    const { repo } = await host.ensureRepo({ jobId: 'job_nm', name: 'nm-mvp', description: 'd' });
    const ws = await files().newWorkspace();
    await files().write(ws, 'index.html', 'x');
    await files().write(ws, 'node_modules/big/index.js', 'x');
    await host.push({ repo, workspace: ws, message: 'm', date: DATE });
    const back = await files().newWorkspace();
    await host.checkout({ repo, workspace: back });
    expect(await files().list(back)).toEqual(['index.html']);
  });
});
