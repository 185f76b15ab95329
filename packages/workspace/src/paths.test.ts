import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PipelineError } from '@mvp-pipeline/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listFiles, resolveInside } from './paths.js';

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
