import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { workspaceProviderContract } from '@mvp-pipeline/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diskFiles } from '../testing/disk-files.js';
import { createDiskWorkspaceProvider } from './workspace-provider.js';

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

workspaceProviderContract({ describe, it, expect, beforeEach, afterEach }, 'disk', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'mvp-workspaces-'));
  return {
    provider: createDiskWorkspaceProvider({ root }),
    files: diskFiles(root),
    exists,
    dispose: () => rm(root, { recursive: true, force: true }),
  };
});

describe('disk workspace provider', () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mvp-workspaces-'));
  });
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('creates the root on demand and names workspaces after the job', async () => {
    const root = path.join(tmp, 'data', 'workspaces');
    const provider = createDiskWorkspaceProvider({ root });
    const { workspace } = await provider.create({ jobId: 'job_01:x' });
    expect(path.dirname(workspace.dir)).toBe(root);
    expect(path.basename(workspace.dir)).toMatch(/^job_01-x-/);
    expect(workspace.jobId).toBe('job_01:x');
  });

  it('rejects job ids that would make a path', async () => {
    const provider = createDiskWorkspaceProvider({ root: tmp });
    for (const jobId of ['../x', 'a/b', '', '.hidden', 'a\0b', 'x'.repeat(200)]) {
      await expect(provider.create({ jobId })).rejects.toMatchObject({ code: 'VALIDATION' });
    }
  });

  it('refuses to dispose of anything that is not one of its workspaces', async () => {
    const provider = createDiskWorkspaceProvider({ root: path.join(tmp, 'ws') });
    const precious = path.join(tmp, 'precious.txt');
    await writeFile(precious, 'keep');
    for (const dir of [tmp, path.join(tmp, 'ws'), path.join(tmp, 'ws', '..', 'x'), '/']) {
      await expect(provider.dispose({ workspace: { jobId: 'j', dir } })).rejects.toMatchObject({
        code: 'VALIDATION',
      });
    }
    expect(await exists(precious)).toBe(true);
  });
});
