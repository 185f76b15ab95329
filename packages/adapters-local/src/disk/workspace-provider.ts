import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { type Redactor, ValidationError, type Workspace, type WorkspaceProvider } from '@mvp-pipeline/core';
import { digestFiles } from '@mvp-pipeline/workspace';
import { asPipelineError, assertJobId } from './errors.js';

export interface DiskWorkspaceProviderSettings {
  /** The directory that holds the workspaces (created when missing), e.g. `<data dir>/workspaces`. */
  root: string;
  /** The process's redactor, for error messages. Default: one that knows only the token shapes. */
  redact?: Redactor;
}

/**
 * Workspaces as fresh directories `<root>/<jobId>-<random>`. `dispose` removes the directory
 * (twice is harmless) and refuses to remove anything that is not a workspace directly under `root`.
 */
export function createDiskWorkspaceProvider(settings: DiskWorkspaceProviderSettings): WorkspaceProvider {
  const root = path.resolve(settings.root);
  return {
    specificationVersion: 'v1',
    async create({ jobId, signal }) {
      signal?.throwIfAborted();
      assertJobId(jobId);
      try {
        await mkdir(root, { recursive: true });
        // ':' is legal in a job id but awkward in paths on some systems.
        const dir = await mkdtemp(path.join(root, `${jobId.replace(/:/g, '-')}-`));
        return { workspace: { jobId, dir } };
      } catch (error) {
        throw asPipelineError(`Cannot create a workspace under ${root}`, error, settings.redact);
      }
    },
    async digest({ workspace, paths }) {
      try {
        return await digestFiles(workspace.dir, { only: paths });
      } catch (error) {
        throw asPipelineError(`Cannot read the files of ${workspace.dir}`, error, settings.redact);
      }
    },
    async dispose({ workspace }: { workspace: Workspace }) {
      const dir = path.resolve(workspace.dir);
      if (path.dirname(dir) !== root || path.basename(dir).startsWith('.')) {
        throw new ValidationError('workspace', [
          { path: 'dir', message: `${workspace.dir} is not a workspace of ${root}` },
        ]);
      }
      try {
        await rm(dir, { recursive: true, force: true, maxRetries: 3 });
      } catch (error) {
        throw asPipelineError(`Cannot remove the workspace ${dir}`, error, settings.redact);
      }
    },
  };
}
