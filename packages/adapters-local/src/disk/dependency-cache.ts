import { createHash, randomUUID } from 'node:crypto';
import {
  chmod,
  copyFile,
  lchown,
  link,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ProgressReporter } from '@mvp-pipeline/core';
import { type CommandResult, runCommand } from '@mvp-pipeline/workspace';
import { errnoCode } from './files.js';

/** The files that decide a pnpm install: the same bytes, the same `node_modules`. */
const LOCK_INPUTS = ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml'] as const;
/** Written last into a ready dependency folder: without it the folder is half made. */
const COMPLETE = '.complete';

/**
 * pnpm as `node <pnpm.cjs>` from our own dependency, so a machine with only Node.js runs the
 * template's `pnpm` commands; where that package is not installed (the runner image's bundle),
 * the `pnpm` on PATH.
 */
export function resolvePnpm(argv: readonly string[]): string[] {
  if (argv[0] !== 'pnpm') return [...argv];
  let manifest: string;
  try {
    // The package exports only its package.json; its bin sits beside it.
    manifest = createRequire(import.meta.url).resolve('pnpm');
  } catch {
    return [...argv];
  }
  return [process.execPath, path.join(path.dirname(manifest), 'bin', 'pnpm.cjs'), ...argv.slice(1)];
}

/** The key of a workspace's dependencies: its lock inputs, the install command and Node's major version. */
export async function lockKey(dir: string, installArgv: readonly string[]): Promise<string | undefined> {
  const hash = createHash('sha256');
  for (const name of LOCK_INPUTS) {
    const content = await readFile(path.join(dir, name)).catch((error: unknown) => {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw error;
    });
    if (content === undefined && name === 'pnpm-lock.yaml') return undefined;
    hash.update(`${name}\0${content?.length ?? -1}\0`).update(content ?? '');
  }
  hash.update(`${installArgv.join('\0')}\0${process.versions.node.split('.')[0]}`);
  return hash.digest('hex').slice(0, 24);
}

export interface DependencyInstall {
  /** Whether the ready folder existed (no install ran). */
  reused: boolean;
  /** The install's result when one ran. */
  result?: CommandResult;
}

/**
 * Gives the workspace the `node_modules` of its lockfile from `<cacheDir>/deps/<key>/`: made
 * once per key by running the install in a scratch folder holding only the lock inputs (its
 * own pnpm store inside, install scripts and pnpmfiles off, the registry asked only for what is
 * missing), then shared by hard links: every file of a job's `node_modules` is a link to the
 * runner-owned, read-only copy (a job's commands cannot change it; its directories are the
 * job's). Two jobs making the same key at once each install, and the first rename wins.
 */
export async function installFromCache(options: {
  cacheDir: string;
  key: string;
  workspace: string;
  installArgv: readonly string[];
  /** More pnpm options for the one install (where to fetch from); not part of the key. */
  extraArgs?: readonly string[];
  timeoutMs: number;
  maxOutputBytes: number;
  report: ProgressReporter;
  signal?: AbortSignal;
}): Promise<DependencyInstall> {
  const { cacheDir, key, workspace, signal } = options;
  const deps = path.join(cacheDir, 'deps');
  const ready = path.join(deps, key);
  let result: CommandResult | undefined;
  if (!(await exists(path.join(ready, COMPLETE)))) {
    await mkdir(deps, { recursive: true });
    await removeStale(deps, 2 * options.timeoutMs);
    const scratch = path.join(deps, `.${key}.${randomUUID()}`);
    await mkdir(scratch);
    try {
      for (const name of LOCK_INPUTS) {
        await copyFile(path.join(workspace, name), path.join(scratch, name)).catch((error: unknown) => {
          if (errnoCode(error) !== 'ENOENT') throw error;
        });
      }
      options.report.log(
        `Dependencies of lockfile ${key.slice(0, 12)} are not on this machine yet: installing them once`,
      );
      result = await runCommand({
        argv: [
          ...firstInstallArgv(options.installArgv, path.join(scratch, '.pnpm-store')),
          ...(options.extraArgs ?? []),
        ],
        cwd: scratch,
        timeoutMs: options.timeoutMs,
        maxOutputBytes: options.maxOutputBytes,
        // devDependencies too: the build needs TypeScript and the types.
        env: { NODE_ENV: 'development' },
        ...(signal ? { signal } : {}),
      });
      if (result.exitCode !== 0 || result.timedOut) return { reused: false, result };
      await seal(path.join(scratch, 'node_modules'));
      await writeFile(path.join(scratch, COMPLETE), `${new Date().toISOString()}\n`);
      await rm(path.join(scratch, '.pnpm-store'), { recursive: true, force: true });
      await rename(scratch, ready).catch(async (error: unknown) => {
        if (!['ENOTEMPTY', 'EEXIST'].includes(errnoCode(error) ?? '')) throw error;
        // Another job made the same key first: theirs is as good as ours. A folder without the
        // marker is not one of ours (renames bring the marker along): replace it.
        if (await exists(path.join(ready, COMPLETE))) return;
        const aside = path.join(deps, `.${key}.${randomUUID()}.old`);
        await rename(ready, aside);
        await rm(aside, { recursive: true, force: true });
        await rename(scratch, ready);
      });
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
  await rm(path.join(workspace, 'node_modules'), { recursive: true, force: true });
  await linkTree(path.join(ready, 'node_modules'), path.join(workspace, 'node_modules'));
  return result ? { reused: false, result } : { reused: true };
}

/**
 * Removes scratch folders (`.<key>.<uuid>`) older than `ageMs`: what installs of runners that
 * were killed left behind. A live install is younger than its timeout.
 */
async function removeStale(deps: string, ageMs: number): Promise<void> {
  const now = Date.now();
  for (const name of await readdir(deps)) {
    if (!name.startsWith('.')) continue;
    const info = await stat(path.join(deps, name)).catch(() => undefined);
    if (info && now - info.mtimeMs > ageMs) await rm(path.join(deps, name), { recursive: true, force: true });
  }
}

/** The template's install, made able to fetch once: its own store, no scripts, no pnpmfile. */
function firstInstallArgv(argv: readonly string[], store: string): string[] {
  const args = argv.map((a) => (a === '--offline' ? '--prefer-offline' : a));
  return resolvePnpm([...args, '--store-dir', store, '--ignore-scripts', '--ignore-pnpmfile']);
}

/**
 * Hands a finished install to the runner: owned by it (lchown, links never followed), files
 * read-only for everyone else, directories traversable, so jobs can use but not change it.
 */
async function seal(dir: string): Promise<void> {
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      const info = await lstat(full);
      if (uid !== undefined && gid !== undefined && (info.uid !== uid || info.gid !== gid))
        await lchown(full, uid, gid);
      if (info.isSymbolicLink()) continue;
      if (info.isDirectory()) {
        await chmod(full, 0o755);
        await walk(full);
      } else {
        await chmod(full, info.mode & 0o111 ? 0o555 : 0o444);
      }
    }
  };
  await walk(dir);
  await chmod(dir, 0o755);
}

/**
 * Copies the tree `from` to `to` with every regular file hard-linked (no bytes copied),
 * directories made anew and symlinks recreated as they are (pnpm's are relative, inside the tree).
 */
export async function linkTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  const entries = await readdir(from, { withFileTypes: true });
  await Promise.all(
    entries.map(async (entry) => {
      const source = path.join(from, entry.name);
      const target = path.join(to, entry.name);
      if (entry.isDirectory()) await linkTree(source, target);
      else if (entry.isSymbolicLink()) await symlink(await readlink(source), target);
      else if (entry.isFile()) await link(source, target);
    }),
  );
}

/** Restores `<cacheDir>/build/<key>/` into the workspace's build cache folder; false when there is none. */
export async function restoreBuildCache(cacheDir: string, key: string, into: string): Promise<boolean> {
  const saved = path.join(cacheDir, 'build', key);
  if (!(await exists(saved))) return false;
  await rm(into, { recursive: true, force: true });
  await mkdir(path.dirname(into), { recursive: true });
  await copyTree(saved, into);
  return true;
}

/** Saves the workspace's build cache folder as `<cacheDir>/build/<key>/` (a copy, swapped in by rename). */
export async function saveBuildCache(cacheDir: string, key: string, from: string): Promise<boolean> {
  if (!(await exists(from))) return false;
  const dir = path.join(cacheDir, 'build');
  await mkdir(dir, { recursive: true });
  const scratch = path.join(dir, `.${key}.${randomUUID()}`);
  const old = path.join(dir, `.${key}.${randomUUID()}.old`);
  try {
    await copyTree(from, scratch);
    const target = path.join(dir, key);
    await rename(target, old).catch((error: unknown) => {
      if (errnoCode(error) !== 'ENOENT') throw error;
    });
    await rename(scratch, target);
    return true;
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await rm(old, { recursive: true, force: true });
  }
}

/** A real copy (never links: what a job's build wrote must not be shared by inode). */
async function copyTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) await copyTree(source, target);
    else if (entry.isFile()) await copyFile(source, target);
    // Symlinks in a build cache are not kept: they could point anywhere.
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
