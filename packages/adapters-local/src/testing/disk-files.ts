import { mkdtempSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Workspace } from '@mvp-pipeline/core';
import type { FilesAccess } from '@mvp-pipeline/core/testing';
import { listFiles, resolveInside } from '@mvp-pipeline/workspace';

/**
 * FilesAccess (the contract suites' view of a workspace) for workspaces on disk: new workspaces
 * are fresh directories under `root`; paths are confined to the workspace with `resolveInside`.
 */
export function diskFiles(root: string): FilesAccess {
  return {
    async newWorkspace(jobId = 'job_test') {
      await mkdir(root, { recursive: true });
      const dir = await mkdtemp(path.join(root, `${jobId.replace(/[^A-Za-z0-9_-]/g, '-')}-`));
      return { jobId, dir };
    },
    async write(workspace: Workspace, file: string, content: string) {
      const target = await resolveInside(workspace.dir, file);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, content);
    },
    async read(workspace: Workspace, file: string) {
      const target = await resolveInside(workspace.dir, file);
      return readFile(target, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
    },
    async remove(workspace: Workspace, file: string) {
      await rm(await resolveInside(workspace.dir, file), { recursive: true, force: true });
    },
    list: (workspace: Workspace) => listFiles(workspace.dir),
  };
}

/** `diskFiles` over a fresh temporary folder; `dispose` removes it with every workspace in it. */
export function tempDiskFiles(prefix = 'mvp-ws-'): FilesAccess & { dispose(): Promise<void> } {
  const root = mkdtempSync(path.join(tmpdir(), prefix));
  return { ...diskFiles(root), dispose: () => rm(root, { recursive: true, force: true }) };
}
