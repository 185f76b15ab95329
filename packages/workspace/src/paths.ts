import { createHash, randomUUID } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import {
  type FileHandle,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  readlink,
  realpath,
  rename,
  rm,
} from 'node:fs/promises';
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

/** Code points HFS+ ignores in names (git's fsck ignores them too when it looks for `.git`). */
const IGNORED_CODE_POINTS = /[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g;

/**
 * Whether a workspace-relative path names the `.git` directory or something in it, at any depth
 * and in any case: `.git`, `.GIT/config`, `src/.Git/x`, NTFS's `git~1` and `.git.` / `.git ` are.
 */
export function isGitPath(relativePath: string): boolean {
  return relativePath.split(/[\\/]+/).some((segment) => {
    const name = segment
      .replace(IGNORED_CODE_POINTS, '')
      .toLowerCase()
      .replace(/[. ]+$/, '');
    return name === '.git' || name === 'git~1';
  });
}

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const byHandle = (handle: FileHandle, name: string) => `/proc/self/fd/${handle.fd}/${name}`;

/**
 * Writes `content` to the workspace-relative `relativePath` without following a symlink at any
 * component: each directory is opened by handle (O_DIRECTORY|O_NOFOLLOW, created when missing)
 * below the handle of its parent, and the file is written as a new file (O_EXCL|O_NOFOLLOW) in the
 * last directory and renamed over the name (a symlink there is replaced, never followed). So a
 * process that swaps a directory for a symlink meanwhile gets an error, never a write outside.
 * Rejects what `resolveInside` rejects, a path through any symlink, and `.git` at any depth.
 * Linux (it opens through /proc/self/fd); elsewhere it falls back to `resolveInside` and an
 * O_NOFOLLOW open of the file, which a racing process can defeat.
 */
export async function writeFileInside(
  root: string,
  relativePath: string,
  content: string | Uint8Array,
): Promise<void> {
  const absolute = await resolveInside(root, relativePath);
  const segments = relativePath.split(/[\\/]+/).filter((s) => s !== '' && s !== '.');
  const name = segments.pop();
  if (!name) reject(relativePath, 'names the workspace itself, not a file');
  if (isGitPath(relativePath)) reject(relativePath, 'is inside .git, which is off limits');
  if (!existsSync('/proc/self/fd')) {
    await mkdir(path.dirname(absolute), { recursive: true });
    await resolveInside(root, relativePath);
    const handle = await open(
      absolute,
      constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
      0o644,
    );
    await handle.writeFile(content).finally(() => handle.close());
    return;
  }
  let dir = await open(await realpath(root), DIR_FLAGS);
  try {
    for (const segment of segments) {
      await mkdir(byHandle(dir, segment)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
      const next = await open(byHandle(dir, segment), DIR_FLAGS).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ELOOP' || error.code === 'ENOTDIR')
          reject(relativePath, `goes through ${segment}, which is a symlink or not a directory`);
        throw error;
      });
      await dir.close();
      dir = next;
    }
    const temp = byHandle(dir, `.${name}.${randomUUID()}.tmp`);
    const file = await open(
      temp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o644,
    );
    try {
      await file.writeFile(content);
      await file.close();
      await rename(temp, byHandle(dir, name));
    } catch (error) {
      await file.close().catch(() => {});
      await rm(temp, { force: true });
      throw error;
    }
  } finally {
    await dir.close().catch(() => {});
  }
}

/**
 * A sha256 per file under `dir` (as {@link listFiles} lists them), keyed by relative path;
 * `only` keeps the files at those paths (a path ending in `/` keeps everything under it),
 * `skip` leaves out folders (e.g. a build output). A symlink is digested by its target's name.
 */
export async function digestFiles(
  dir: string,
  options: { only?: readonly string[]; skip?: readonly string[] } = {},
): Promise<Record<string, string>> {
  const under = (file: string, prefix: string) =>
    prefix.endsWith('/') ? file.startsWith(prefix) : file === prefix || file.startsWith(`${prefix}/`);
  const skip = (options.skip ?? []).map((p) => p.replace(/\/+$/, ''));
  const files = (await listFiles(dir)).filter(
    (file) =>
      !skip.some((p) => under(file, p)) &&
      (options.only === undefined || options.only.some((p) => under(file, p))),
  );
  const out: Record<string, string> = {};
  for (const file of files) {
    const full = path.join(dir, ...file.split('/'));
    const info = await lstat(full);
    const content = info.isSymbolicLink() ? `link:${await readlink(full)}` : await readFile(full);
    out[file] = createHash('sha256').update(content).digest('hex');
  }
  return out;
}
