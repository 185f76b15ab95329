import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import git from 'isomorphic-git';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMMIT_AUTHOR, commitAll } from './commit.js';

const run = promisify(execFile);
const DATE = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mvp-commit-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function dirWith(name: string, files: Record<string, string>): Promise<string> {
  const dir = path.join(tmp, name);
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), content);
  }
  await mkdir(dir, { recursive: true });
  return dir;
}

const tracked = (dir: string, ref = 'main') => git.listFiles({ fs, dir, ref });

describe('commitAll', () => {
  it('initialises the repository on main and commits every file with our author at the date', async () => {
    const dir = await dirWith('a', { 'index.html': '<h1>x</h1>', 'src/app.js': '1' });
    const { commit, changed } = await commitAll({ dir, message: 'Start', date: DATE });
    expect(changed).toBe(true);
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
    expect(await git.currentBranch({ fs, dir })).toBe('main');
    const { commit: c } = await git.readCommit({ fs, dir, oid: commit });
    expect(c.author).toMatchObject({ ...COMMIT_AUTHOR, timestamp: DATE.getTime() / 1000, timezoneOffset: 0 });
    expect(c.committer).toEqual(c.author);
    expect(c.message).toBe('Start\n');
    expect(await tracked(dir)).toEqual(['index.html', 'src/app.js']);
  });

  it('gives the same commit id for the same files, message and date in a fresh directory', async () => {
    const files = { 'a.txt': 'a', 'b/c.txt': 'c' };
    const first = await commitAll({ dir: await dirWith('one', files), message: 'm', date: DATE });
    const second = await commitAll({ dir: await dirWith('two', files), message: 'm', date: DATE });
    expect(second.commit).toBe(first.commit);
    const other = await commitAll({
      dir: await dirWith('three', files),
      message: 'm',
      date: new Date(DATE.getTime() + 1000),
    });
    expect(other.commit).not.toBe(first.commit);
  });

  it('makes no commit when nothing changed', async () => {
    const dir = await dirWith('a', { 'a.txt': 'a' });
    const first = await commitAll({ dir, message: 'one', date: DATE });
    const again = await commitAll({ dir, message: 'two', date: new Date() });
    expect(again).toEqual({ commit: first.commit, changed: false });
    expect((await git.log({ fs, dir })).length).toBe(1);
  });

  it('records additions, edits and deletions on top of HEAD', async () => {
    const dir = await dirWith('a', { 'a.txt': 'a', 'b.txt': 'b', 'gone/deep.txt': 'x' });
    const first = await commitAll({ dir, message: 'one', date: DATE });
    await unlink(path.join(dir, 'a.txt'));
    await rm(path.join(dir, 'gone'), { recursive: true });
    await writeFile(path.join(dir, 'b.txt'), 'B');
    await writeFile(path.join(dir, 'new.txt'), 'n');
    const second = await commitAll({ dir, message: 'two', date: DATE });
    expect(second.changed).toBe(true);
    expect(await tracked(dir)).toEqual(['b.txt', 'new.txt']);
    const { commit } = await git.readCommit({ fs, dir, oid: second.commit });
    expect(commit.parent).toEqual([first.commit]);
    const { blob } = await git.readBlob({ fs, dir, oid: second.commit, filepath: 'b.txt' });
    expect(Buffer.from(blob).toString()).toBe('B');
  });

  it('commits a deletion alone', async () => {
    const dir = await dirWith('a', { 'a.txt': 'a', 'b.txt': 'b' });
    await commitAll({ dir, message: 'one', date: DATE });
    await unlink(path.join(dir, 'a.txt'));
    const second = await commitAll({ dir, message: 'two', date: DATE });
    expect(second.changed).toBe(true);
    expect(await tracked(dir)).toEqual(['b.txt']);
  });

  it('never commits node_modules and honours .gitignore', async () => {
    const dir = await dirWith('a', {
      '.gitignore': 'dist/\n',
      'index.html': 'x',
      'node_modules/pkg/index.js': 'x',
      'dist/index.html': 'built',
    });
    await commitAll({ dir, message: 'one', date: DATE });
    expect(await tracked(dir)).toEqual(['.gitignore', 'index.html']);
  });

  it('commits on another branch when asked, and rejects bad branch names', async () => {
    const dir = await dirWith('a', { 'a.txt': 'a' });
    await commitAll({ dir, message: 'one', date: DATE, branch: 'work' });
    expect(await git.currentBranch({ fs, dir })).toBe('work');
    for (const branch of ['../x', 'a..b', '-x', 'a b', 'x.lock', '']) {
      await expect(commitAll({ dir, message: 'm', date: DATE, branch })).rejects.toMatchObject({
        code: 'VALIDATION',
      });
    }
    await expect(commitAll({ dir, message: 'm', date: new Date(Number.NaN) })).rejects.toMatchObject({
      code: 'VALIDATION',
    });
  });

  it('writes repositories that git itself accepts', async () => {
    const dir = await dirWith('a', { 'a.txt': 'a', 'x/y.txt': 'y' });
    await commitAll({ dir, message: 'one', date: DATE });
    await writeFile(path.join(dir, 'a.txt'), 'changed');
    const { commit } = await commitAll({ dir, message: 'two', date: DATE });
    await run('git', ['fsck', '--full', '--strict'], { cwd: dir });
    const { stdout } = await run('git', ['log', '--format=%H %an <%ae> %at'], { cwd: dir });
    expect(stdout.split('\n')[0]).toBe(
      `${commit} ${COMMIT_AUTHOR.name} <${COMMIT_AUTHOR.email}> ${DATE.getTime() / 1000}`,
    );
    const { stdout: status } = await run('git', ['status', '--porcelain'], { cwd: dir });
    expect(status).toBe('');
  });
});
