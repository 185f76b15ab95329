import { link, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDiskBuildOutputs } from './build-outputs.js';

describe('disk build outputs', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'build-outputs-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps a copy per (job, commit), finds it, and discards the job', async () => {
    const built = path.join(dir, 'ws', 'dist');
    await mkdir(built, { recursive: true });
    await writeFile(path.join(built, 'index.html'), '<h1>EventHub</h1>');
    const outputs = createDiskBuildOutputs({ root: path.join(dir, 'builds') });
    const commit = 'a'.repeat(40);
    expect(await outputs.find({ jobId: 'job_1', commit })).toEqual({});
    const { outputDir } = await outputs.keep({ jobId: 'job_1', commit, outputDir: built });
    await rm(built, { recursive: true });
    expect(await outputs.find({ jobId: 'job_1', commit })).toEqual({ outputDir });
    expect(await readFile(path.join(outputDir, 'index.html'), 'utf8')).toBe('<h1>EventHub</h1>');
    expect(await outputs.find({ jobId: 'job_1', commit: 'b'.repeat(40) })).toEqual({});
    await outputs.discard({ jobId: 'job_1' });
    expect(await outputs.find({ jobId: 'job_1', commit })).toEqual({});
  });

  it('keeps an app without .git and excluded folders, linking shared files and copying the rest', async () => {
    const app = path.join(dir, 'ws');
    const shared = path.join(dir, 'cache', 'react.js');
    await mkdir(path.join(app, 'node_modules'), { recursive: true });
    await mkdir(path.join(app, '.git'), { recursive: true });
    await mkdir(path.join(app, '.next', 'cache'), { recursive: true });
    await mkdir(path.dirname(shared), { recursive: true });
    await writeFile(shared, 'react');
    await link(shared, path.join(app, 'node_modules', 'react.js'));
    await writeFile(path.join(app, '.next', 'BUILD_ID'), 'b1');
    await writeFile(path.join(app, '.next', 'cache', 'big'), 'x');
    await writeFile(path.join(app, '.git', 'HEAD'), 'ref');
    const outputs = createDiskBuildOutputs({ root: path.join(dir, 'builds') });
    const { outputDir } = await outputs.keep({
      jobId: 'job_2',
      commit: 'c'.repeat(40),
      outputDir: app,
      exclude: ['.next/cache'],
    });
    expect((await stat(path.join(outputDir, 'node_modules', 'react.js'))).ino).toBe((await stat(shared)).ino);
    const buildId = path.join(outputDir, '.next', 'BUILD_ID');
    expect((await stat(buildId)).ino).not.toBe((await stat(path.join(app, '.next', 'BUILD_ID'))).ino);
    expect(await readFile(buildId, 'utf8')).toBe('b1');
    await expect(stat(path.join(outputDir, '.next', 'cache'))).rejects.toThrow();
    await expect(stat(path.join(outputDir, '.git'))).rejects.toThrow();
  });

  it('refuses a commit or job id that is not one', async () => {
    const outputs = createDiskBuildOutputs({ root: path.join(dir, 'builds') });
    await expect(outputs.find({ jobId: 'job_1', commit: '../../etc' })).rejects.toMatchObject({
      code: 'VALIDATION',
    });
    await expect(outputs.find({ jobId: '../x', commit: 'a'.repeat(40) })).rejects.toThrow();
  });
});
