import { lstat, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { ValidationError } from '@mvp-pipeline/core';

/** Directories that never belong to a workspace's own files. */
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);

function reject(relativePath: string, problem: string): never {
  throw new ValidationError('workspace path', [{ path: JSON.stringify(relativePath), message: problem }]);
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Resolves a workspace-relative path to an absolute one inside `root`. Rejects (ValidationError,
 * the message names the path) absolute paths, `..` segments, NUL bytes, and any path whose existing
 * part resolves outside `root` through a symlink (a broken symlink on the way is rejected too,
 * since writing through it would create its target wherever it points). `.` is `root` itself.
 */
export async function resolveInside(root: string, relativePath: string): Promise<string> {
  if (typeof relativePath !== 'string' || relativePath.length === 0) reject(String(relativePath), 'is empty');
  if (relativePath.includes('\0')) reject(relativePath, 'contains a NUL byte');
  if (path.isAbsolute(relativePath) || /^[A-Za-z]:/.test(relativePath) || relativePath.startsWith('\\')) {
    reject(relativePath, 'must be relative to the workspace, not absolute');
  }
  const segments = relativePath.split(/[\\/]+/).filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) reject(relativePath, 'must not contain ".." segments');

  const base = path.resolve(root);
  const realRoot = await realpath(base).catch(() => reject(relativePath, 'has no workspace to live in'));
  // Walk the existing part component by component, following symlinks, so that no link on the way
  // (even one that points at a file that does not exist yet) leads outside the workspace.
  let current = realRoot;
  for (const segment of segments) {
    const candidate = path.join(current, segment);
    const stats = await lstat(candidate).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      throw error;
    });
    if (!stats) break;
    if (stats.isSymbolicLink()) {
      const target = await realpath(candidate).catch(() =>
        reject(relativePath, 'goes through a broken symlink'),
      );
      if (!isInside(realRoot, target))
        reject(relativePath, 'resolves outside the workspace through a symlink');
      current = target;
    } else {
      current = candidate;
    }
  }
  return segments.length === 0 ? base : path.join(base, ...segments);
}

/**
 * Every file under `dir` (regular files and symlinks, not followed) as sorted '/'-separated
 * relative paths, skipping `.git` and `node_modules` directories. A missing `dir` lists nothing.
 */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (absolute: string, prefix: string): Promise<void> => {
    const entries = await readdir(absolute, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' && prefix === '') return [];
      throw error;
    });
    for (const entry of entries) {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) await walk(path.join(absolute, entry.name), rel);
      } else {
        out.push(rel);
      }
    }
  };
  await walk(dir, '');
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
