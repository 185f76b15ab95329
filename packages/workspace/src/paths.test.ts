import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PipelineError } from '@mvp-pipeline/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isGitPath, listFiles, resolveInside, writeFileInside } from './paths.js';

let root: string;
let outside: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'mvp-ws-'));
  outside = await mkdtemp(path.join(os.tmpdir(), 'mvp-outside-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

async function rejection(p: string): Promise<PipelineError> {
  try {
    await resolveInside(root, p);
  } catch (error) {
    expect(PipelineError.isInstance(error)).toBe(true);
    return error as PipelineError;
  }
  throw new Error(`${JSON.stringify(p)} was accepted`);
}

describe('resolveInside', () => {
  it('resolves plain relative paths, existing or not', async () => {
    await mkdir(path.join(root, 'src'));
    expect(await resolveInside(root, 'src/app.js')).toBe(path.join(root, 'src', 'app.js'));
    expect(await resolveInside(root, './a/b/c.txt')).toBe(path.join(root, 'a', 'b', 'c.txt'));
    expect(await resolveInside(root, '.')).toBe(root);
    expect(await resolveInside(root, 'dots..in..name')).toBe(path.join(root, 'dots..in..name'));
  });

  it('rejects absolute paths, .. segments, NUL bytes and empty paths, naming the path', async () => {
    for (const bad of ['/etc/passwd', '../x', 'a/../../x', 'a/..', '..\\x', 'C:\\x', 'a\0b', '']) {
      const error = await rejection(bad);
      expect(error.code).toBe('VALIDATION');
      if (bad) expect(error.message).toContain(JSON.stringify(bad));
    }
  });

  it('rejects paths that escape through a symlink, directly or below it', async () => {
    await writeFile(path.join(outside, 'secret.txt'), 'secret');
    await symlink(outside, path.join(root, 'link'));
    await symlink(path.join(outside, 'secret.txt'), path.join(root, 'file-link'));
    await symlink('../..', path.join(root, 'up'));
    for (const bad of ['link', 'link/secret.txt', 'link/new/file.txt', 'file-link', 'up/etc']) {
      expect((await rejection(bad)).message).toMatch(/symlink/);
    }
  });

  it('rejects a broken symlink, which a write would follow to wherever it points', async () => {
    await symlink(path.join(outside, 'not-yet.txt'), path.join(root, 'dangling'));
    expect((await rejection('dangling')).message).toMatch(/broken symlink/);
  });

  it('accepts symlinks that stay inside the workspace', async () => {
    await mkdir(path.join(root, 'real'));
    await symlink(path.join(root, 'real'), path.join(root, 'alias'));
    await symlink('real', path.join(root, 'rel-alias'));
    expect(await resolveInside(root, 'alias/x.txt')).toBe(path.join(root, 'alias', 'x.txt'));
    expect(await resolveInside(root, 'rel-alias/x.txt')).toBe(path.join(root, 'rel-alias', 'x.txt'));
  });
});

describe('listFiles', () => {
  it('lists files sorted with / separators, skipping .git and node_modules', async () => {
    await mkdir(path.join(root, 'src', 'deep'), { recursive: true });
    await mkdir(path.join(root, '.git'));
    await mkdir(path.join(root, 'node_modules', 'x'), { recursive: true });
    await mkdir(path.join(root, 'empty'));
    await writeFile(path.join(root, '.git', 'HEAD'), 'x');
    await writeFile(path.join(root, 'node_modules', 'x', 'i.js'), 'x');
    await writeFile(path.join(root, 'src', 'deep', 'b.ts'), 'x');
    await writeFile(path.join(root, 'src', 'a.ts'), 'x');
    await writeFile(path.join(root, 'README.md'), 'x');
    await writeFile(path.join(root, '.gitignore'), 'x');
    await symlink(outside, path.join(root, 'outside-link'));
    expect(await listFiles(root)).toEqual([
      '.gitignore',
      'README.md',
      'outside-link',
      'src/a.ts',
      'src/deep/b.ts',
    ]);
  });

  it('lists nothing for a missing directory', async () => {
    expect(await listFiles(path.join(root, 'missing'))).toEqual([]);
  });
});

describe('writeFileInside', () => {
  it('writes new and existing files, creating directories', async () => {
    await writeFileInside(root, 'src/deep/a.txt', 'one');
    await writeFileInside(root, 'src/deep/a.txt', 'two');
    expect(await readFile(path.join(root, 'src/deep/a.txt'), 'utf8')).toBe('two');
    expect(await readdir(path.join(root, 'src/deep'))).toEqual(['a.txt']);
  });

  it('refuses a path through any symlink, and replaces a symlink at the name instead of following it', async () => {
    await mkdir(path.join(root, 'real'));
    await symlink(path.join(root, 'real'), path.join(root, 'alias'));
    await symlink(outside, path.join(root, 'out'));
    await expect(writeFileInside(root, 'alias/x.txt', 'x')).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(writeFileInside(root, 'out/x.txt', 'x')).rejects.toMatchObject({ code: 'VALIDATION' });
    await writeFile(path.join(root, 'real', 'target.txt'), 'kept');
    await symlink('real/target.txt', path.join(root, 'name-link'));
    await writeFileInside(root, 'name-link', 'replaced');
    expect(await readFile(path.join(root, 'real', 'target.txt'), 'utf8')).toBe('kept');
    expect(await readFile(path.join(root, 'name-link'), 'utf8')).toBe('replaced');
    expect(await readdir(outside)).toEqual([]);
  });

  it('refuses .git at every depth, in any case, and a symlink to it', async () => {
    await mkdir(path.join(root, '.git'));
    await symlink('.git', path.join(root, 'git-link'));
    for (const bad of [
      '.git/config',
      '.GIT/config',
      'src/.GIT/x',
      'a/.Git/b/c',
      '.git',
      'GIT~1/config',
      '.git./x',
      'git-link/config',
    ]) {
      await expect(writeFileInside(root, bad, 'x'), bad).rejects.toMatchObject({ code: 'VALIDATION' });
    }
    expect(await readdir(path.join(root, '.git'))).toEqual([]);
    expect(isGitPath('src/.GIT/x')).toBe(true);
    expect(isGitPath('.\u200cgit/config')).toBe(true);
    expect(isGitPath('src/.gitignore')).toBe(false);
    expect(isGitPath('.github/workflows/ci.yml')).toBe(false);
  });

  it('never writes outside while another process flips a directory into a symlink (10,000 tries)', async () => {
    const racer = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('fs'); const d = process.argv[1], out = process.argv[2];
         for (;;) { try { fs.rmSync(d, { recursive: true, force: true }); fs.mkdirSync(d); } catch {}
                    try { fs.rmSync(d, { recursive: true, force: true }); fs.symlinkSync(out, d); } catch {} }`,
        path.join(root, 'd'),
        outside,
      ],
      { stdio: 'ignore' },
    );
    let written = 0;
    try {
      for (let i = 0; i < 10_000; i++) {
        await writeFileInside(root, `d/f${i}.txt`, 'x').then(
          () => written++,
          () => {},
        );
      }
    } finally {
      racer.kill('SIGKILL');
    }
    expect(written).toBeGreaterThan(0);
    expect(await readdir(outside)).toEqual([]);
  }, 120_000);
});
