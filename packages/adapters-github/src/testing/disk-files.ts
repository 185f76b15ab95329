import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Workspace } from '@mvp-pipeline/core';
import type { FilesAccess } from '@mvp-pipeline/core/testing';
import { listFiles } from '@mvp-pipeline/workspace';

/** Workspaces as temporary folders on disk, for the contract suites; `dispose` removes them all. */
export function tempDiskFiles(): FilesAccess & { dispose(): Promise<void> } {
  const dirs: string[] = [];
  return {
    async newWorkspace(jobId = 'job_test') {
      const dir = await mkdtemp(path.join(tmpdir(), 'gh-ws-'));
      dirs.push(dir);
      return { jobId, dir } satisfies Workspace;
    },
    async write(workspace, file, content) {
      await mkdir(path.dirname(path.join(workspace.dir, file)), { recursive: true });
      await writeFile(path.join(workspace.dir, file), content);
    },
    read: (workspace, file) => readFile(path.join(workspace.dir, file), 'utf8').catch(() => undefined),
    remove: (workspace, file) => rm(path.join(workspace.dir, file), { force: true }),
    list: (workspace) => listFiles(workspace.dir),
    async dispose() {
      await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}
