import { randomUUID } from 'node:crypto';
import { copyFile, link, lstat, mkdir, readdir, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { PermanentError, type ProgressReporter } from '@mvp-pipeline/core';
import { errnoCode } from '../disk/files.js';

export interface PublishCounts {
  copied: number;
  linked: number;
  symlinks: number;
  skipped: number;
}

/**
 * Publishes a built app folder as `<appsDir>/<deploymentId>/`: copied into a temp folder, then
 * renamed into place (a reader sees all of it or none). Files with other hard links (a package
 * store's files under node_modules) are hard-linked, not copied; relative symlinks that stay
 * inside the app (node_modules' package links) are kept; other symlinks, devices and sockets are
 * skipped (they could publish any file of this machine). `exclude` lists app-relative paths left
 * out (`.git`, the build cache). Returns undefined when the deployment already exists.
 */
export async function publishApp(options: {
  from: string;
  appsDir: string;
  deploymentId: string;
  exclude: readonly string[];
  report: ProgressReporter;
  signal?: AbortSignal | undefined;
}): Promise<PublishCounts | undefined> {
  const { from, appsDir, deploymentId, signal } = options;
  const target = path.join(appsDir, deploymentId);
  if (await exists(target)) return undefined;
  const info = await stat(from).catch(() => undefined);
  if (!info?.isDirectory()) throw new PermanentError(`The built app ${from} is not a directory`);
  const root = path.resolve(from);
  const excluded = new Set(options.exclude.map((p) => path.join(root, p)));
  const counts: PublishCounts = { copied: 0, linked: 0, symlinks: 0, skipped: 0 };
  const temp = path.join(appsDir, `.tmp-${deploymentId}-${randomUUID()}`);

  const copyDir = async (source: string, dest: string): Promise<void> => {
    await mkdir(dest);
    for (const entry of await readdir(source, { withFileTypes: true })) {
      signal?.throwIfAborted();
      const s = path.join(source, entry.name);
      const d = path.join(dest, entry.name);
      if (excluded.has(s)) continue;
      if (entry.isDirectory()) await copyDir(s, d);
      else if (entry.isFile()) {
        const file = await lstat(s);
        if (file.nlink > 1 && (await hardLink(s, d))) counts.linked++;
        else {
          await copyFile(s, d);
          counts.copied++;
        }
      } else if (entry.isSymbolicLink()) {
        const pointsTo = await readlink(s);
        const resolved = path.resolve(path.dirname(s), pointsTo);
        if (!path.isAbsolute(pointsTo) && isInside(root, resolved)) {
          await symlink(pointsTo, d);
          counts.symlinks++;
        } else counts.skipped++;
      } else counts.skipped++;
    }
  };

  await mkdir(appsDir, { recursive: true });
  try {
    await copyDir(root, temp);
    signal?.throwIfAborted();
    try {
      await rename(temp, target);
    } catch (error) {
      // Another deployer published the same deployment first: the same commit, the same content.
      if (!['EEXIST', 'ENOTEMPTY'].includes(errnoCode(error) ?? '')) throw error;
    }
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  if (counts.skipped > 0) {
    options.report.log(
      `Skipped ${counts.skipped} entries of ${from} that are not regular files or links inside the app`,
      'warn',
    );
  }
  return counts;
}

/** Hard-links `from` at `to`; false when they are on different file systems (then it is copied). */
async function hardLink(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    return true;
  } catch (error) {
    if (['EXDEV', 'EPERM', 'EMLINK'].includes(errnoCode(error) ?? '')) return false;
    throw error;
  }
}

function isInside(root: string, file: string): boolean {
  const relative = path.relative(root, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
}
