import { copyFile, link, lstat, mkdir, readdir, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { type BuildOutputStore, ValidationError } from '@mvp-pipeline/core';
import { asPipelineError, assertJobId } from './errors.js';

export interface DiskBuildOutputsSettings {
  /** The directory that holds the kept outputs (created when missing), e.g. `<data dir>/builds`. */
  root: string;
}

const COMMIT = /^[0-9a-f]{7,64}$/;

/**
 * Copies `from` to `to` without the `skip` paths (relative, '/'-separated): files with other hard
 * links (dependencies linked from the machine's cache, read-only) are linked again, other files
 * copied, symlinks recreated as they are.
 */
async function copyOutput(from: string, to: string, skip: ReadonlySet<string>, prefix = ''): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (skip.has(relative)) continue;
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) await copyOutput(source, target, skip, relative);
    else if (entry.isSymbolicLink()) await symlink(await readlink(source), target);
    else if (entry.isFile()) {
      if ((await lstat(source)).nlink > 1) await link(source, target);
      else await copyFile(source, target);
    }
  }
}

/**
 * Build outputs kept on this machine as `<root>/<jobId>/<commit>/`, copied there when BUILDING
 * passes, so a job resumed at DEPLOYING on the same machine deploys them without building again.
 * A copy is written beside its place and renamed into it: a half-copied output is never found.
 */
export function createDiskBuildOutputs(settings: DiskBuildOutputsSettings): BuildOutputStore {
  const root = path.resolve(settings.root);
  const jobDir = (jobId: string) => {
    assertJobId(jobId);
    return path.join(root, jobId.replace(/:/g, '-'));
  };
  const where = (jobId: string, commit: string) => {
    if (!COMMIT.test(commit)) {
      throw new ValidationError('build output', [{ path: 'commit', message: 'must be a hex commit id' }]);
    }
    return path.join(jobDir(jobId), commit);
  };
  return {
    specificationVersion: 'v1',
    async keep({ jobId, commit, outputDir, exclude = [], signal }) {
      signal?.throwIfAborted();
      const target = where(jobId, commit);
      const partial = `${target}.partial`;
      try {
        await rm(partial, { recursive: true, force: true });
        await mkdir(path.dirname(target), { recursive: true });
        await copyOutput(outputDir, partial, new Set(['.git', ...exclude.map((p) => p.replace(/\/+$/, ''))]));
        await rm(target, { recursive: true, force: true });
        await rename(partial, target);
        return { outputDir: target };
      } catch (error) {
        throw asPipelineError(`Cannot keep the build output of ${commit.slice(0, 7)}`, error);
      }
    },
    async find({ jobId, commit }) {
      const target = where(jobId, commit);
      const found = await stat(target).then(
        (s) => s.isDirectory(),
        () => false,
      );
      return found ? { outputDir: target } : {};
    },
    async discard({ jobId }) {
      await rm(jobDir(jobId), { recursive: true, force: true, maxRetries: 3 });
    },
  };
}
