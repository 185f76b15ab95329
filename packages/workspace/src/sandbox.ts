import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, chmod, chown, lchown, lstat, mkdir, readdir, readFile, realpath } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NotFoundError, PermanentError, ValidationError } from '@mvp-pipeline/core';

/**
 * How commands are isolated from the runner:
 * - `uid`: every command runs under an unprivileged uid/gid of its own workspace (no groups, no new
 *   privileges, no capabilities, rlimits), the workspace is handed to that uid, and when the last
 *   command of the workspace ends every process of that uid is killed (a detached daemon too).
 *   Needs root (CAP_SETUID, CAP_SETGID, CAP_CHOWN, CAP_FOWNER) and `setpriv`, `prlimit`, `kill`.
 * - `off`: commands run as the runner's own user. They cannot see its environment variables, but
 *   they can read `/proc/<runner pid>/environ` and every file the runner can read. With
 *   `MVP_SANDBOX=off`, or with `auto` where `uid` is impossible (not root: a laptop running the
 *   demo); announced by a warning either way. `MVP_SANDBOX=uid` (the image's) refuses instead.
 */
export type SandboxMode = 'uid' | 'off';

/** The budget of every process of a command (rlimits; each process has its own). */
export interface CommandLimits {
  /** CPU seconds (RLIMIT_CPU). Default: the command's timeout, in seconds. */
  cpuSeconds: number;
  /** Writable private memory (RLIMIT_DATA; heap, not reserved address space). Default 4 GiB. */
  memoryBytes: number;
  /** The largest file it may write (RLIMIT_FSIZE). Default 1 GiB. */
  fileSizeBytes: number;
  /** Processes and threads of the sandbox uid together (RLIMIT_NPROC). Default 1024. */
  processes: number;
  /** Open files (RLIMIT_NOFILE). Default 4096. */
  openFiles: number;
}

export const DEFAULT_COMMAND_LIMITS: Omit<CommandLimits, 'cpuSeconds'> = {
  memoryBytes: 4 * 1024 ** 3,
  fileSizeBytes: 1024 ** 3,
  processes: 1024,
  openFiles: 4096,
};

/** The uids handed to workspaces by default: `MVP_SANDBOX_UIDS=<first>-<last>`. */
const DEFAULT_UIDS = { first: 100_000, last: 164_999 };

interface UidSandbox {
  mode: 'uid';
  setpriv: string;
  prlimit: string;
  kill: string;
  uids: { first: number; last: number };
}
type Sandbox = UidSandbox | { mode: 'off' };

let detected: Promise<Sandbox> | undefined;
let warned = false;

/** Which mode commands run in on this machine (reads `MVP_SANDBOX`, `MVP_SANDBOX_UIDS` once). */
export async function sandboxMode(): Promise<SandboxMode> {
  return (await sandbox()).mode;
}

async function sandbox(): Promise<Sandbox> {
  detected ??= detect().catch((error) => {
    detected = undefined;
    throw error;
  });
  return detected;
}

async function detect(): Promise<Sandbox> {
  const setting = (process.env['MVP_SANDBOX'] ?? 'auto').trim().toLowerCase() || 'auto';
  if (setting !== 'auto' && setting !== 'uid' && setting !== 'off') {
    throw new ValidationError('configuration', [
      { path: 'MVP_SANDBOX', message: `must be auto, uid or off, got ${JSON.stringify(setting)}` },
    ]);
  }
  const unisolated = (why: string): Sandbox => {
    if (!warned) {
      warned = true;
      process.emitWarning(
        `${why}: commands (builds, generated code) run as this user and can read its ` +
          'secrets from /proc and its files. Use it only on a machine that holds no secrets of value ' +
          '(MVP_SANDBOX=uid refuses instead).',
        { code: 'MVP_SANDBOX_OFF' },
      );
    }
    return { mode: 'off' };
  };
  if (setting === 'off') return unisolated('MVP_SANDBOX=off');
  const refuse = (why: string): never => {
    throw new PermanentError(
      `Commands cannot be isolated here: ${why}. The runner runs builds and generated code under ` +
        'an unprivileged uid of their own, which needs root and setpriv, prlimit and kill ' +
        '(util-linux, procps). Run as root (the runner image does), or set MVP_SANDBOX=off to run ' +
        'them as this user without isolation from its secrets.',
    );
  };
  const impossible =
    process.platform !== 'linux'
      ? `${process.platform} is not Linux`
      : process.getuid?.() !== 0
        ? `the runner is not root (uid ${process.getuid?.()})`
        : undefined;
  if (impossible && setting === 'auto') return unisolated(`Commands cannot be isolated here (${impossible})`);
  if (impossible) refuse(impossible);
  const [setpriv, prlimit, kill] = await Promise.all(
    ['setpriv', 'prlimit', 'kill'].map((name) =>
      findProgram(name, '/usr/sbin:/usr/bin:/sbin:/bin').catch(() => refuse(`${name} is not installed`)),
    ),
  );
  return { mode: 'uid', setpriv: setpriv!, prlimit: prlimit!, kill: kill!, uids: parseUids() };
}

function parseUids(): { first: number; last: number } {
  const raw = process.env['MVP_SANDBOX_UIDS']?.trim();
  if (!raw) return DEFAULT_UIDS;
  const match = /^(\d+)-(\d+)$/.exec(raw);
  const first = Number(match?.[1]);
  const last = Number(match?.[2]);
  if (!match || !(first >= 1000) || !(last >= first + 15) || last > 2 ** 31 - 2) {
    throw new ValidationError('configuration', [
      {
        path: 'MVP_SANDBOX_UIDS',
        message: `must be <first>-<last> with first ≥ 1000 and at least 16 uids, got ${JSON.stringify(raw)}`,
      },
    ]);
  }
  return { first, last };
}

/** The absolute path of an executable `program` (as given when it has a slash, else on `searchPath`). */
export async function findProgram(program: string, searchPath: string): Promise<string> {
  const candidates = program.includes('/')
    ? [program]
    : searchPath
        .split(path.delimiter)
        .filter(Boolean)
        .map((dir) => path.join(dir, program));
  for (const candidate of candidates) {
    const info = await lstat(candidate)
      .then(() => realpath(candidate))
      .then((real) => lstat(real))
      .catch(() => undefined);
    if (!info?.isFile()) continue;
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return path.resolve(candidate);
  }
  throw new NotFoundError(`Program not found: ${program} (is it installed and on PATH?)`);
}

// ---------------------------------------------------------------------------------------------
// Workspaces and their uids

interface Lease {
  uid: number;
  active: number;
}
/** The uid of each workspace (real path) this process has run commands in. */
const byWorkspace = new Map<string, Lease>();
const usedUids = new Set<number>();

function uidFor(workspace: string, range: { first: number; last: number }): Lease {
  const known = byWorkspace.get(workspace);
  if (known) return known;
  const size = range.last - range.first + 1;
  // FNV-1a of the path: the same workspace gets the same uid, different ones rarely collide.
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(workspace)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  let uid = range.first + (hash % size);
  for (let tries = 0; usedUids.has(uid); tries++) {
    if (tries >= size) throw new PermanentError(`No sandbox uid left in ${range.first}-${range.last}`);
    uid = uid === range.last ? range.first : uid + 1;
  }
  usedUids.add(uid);
  const lease = { uid, active: 0 };
  byWorkspace.set(workspace, lease);
  return lease;
}

/** A prepared command: the argv to spawn, its HOME, and what to do when it has exited. */
export interface SandboxedCommand {
  argv: string[];
  /** The HOME the command gets (null: keep safeEnv's). */
  home: string | null;
  /** Ends every process the command left (all processes of its uid) once no other command of the workspace runs. */
  release(): Promise<void>;
}

/**
 * Prepares `argv` to run isolated for the workspace `workspace` (the directory its commands may
 * write). In `uid` mode: resolves the program (NotFoundError when missing), hands the workspace to
 * its uid (lchown of every entry not hard-linked elsewhere, the root 0700), makes the directories
 * above it traversable (o+x only; a directory that was closed has its other entries closed to
 * others, so nothing it hid becomes reachable), and wraps the argv in prlimit and setpriv.
 */
export async function sandboxCommand(options: {
  argv: readonly string[];
  workspace: string;
  path: string;
  limits: CommandLimits;
}): Promise<SandboxedCommand> {
  const box = await sandbox();
  const [program, ...args] = options.argv as [string, ...string[]];
  if (box.mode === 'off') {
    return { argv: [program, ...args], home: null, release: async () => {} };
  }
  const resolved = await findProgram(program, options.path);
  const workspace = await realpath(options.workspace).catch(() => {
    throw new NotFoundError(`Cannot run ${program}: the directory ${options.workspace} does not exist`);
  });
  const lease = uidFor(workspace, box.uids);
  const { uid } = lease;
  const home = await sandboxHome(uid);
  if (lease.active === 0) {
    // No process of this uid runs (the last release killed them all): the tree cannot change under us.
    await handOver(workspace, uid);
    await openPathTo(workspace);
  }
  lease.active += 1;
  const { limits } = options;
  const argv = [
    box.prlimit,
    `--cpu=${Math.max(1, Math.ceil(limits.cpuSeconds))}`,
    `--data=${Math.floor(limits.memoryBytes)}`,
    `--fsize=${Math.floor(limits.fileSizeBytes)}`,
    `--nproc=${Math.floor(limits.processes)}`,
    `--nofile=${Math.floor(limits.openFiles)}`,
    '--core=0',
    '--',
    box.setpriv,
    `--reuid=${uid}`,
    `--regid=${uid}`,
    '--clear-groups',
    '--no-new-privs',
    '--inh-caps=-all',
    '--bounding-set=-all',
    '--',
    resolved,
    ...args,
  ];
  let released = false;
  return {
    argv,
    home,
    async release() {
      if (released) return;
      released = true;
      lease.active -= 1;
      if (lease.active === 0) await killAllOf(box, uid);
    },
  };
}

/**
 * SIGKILL to every process of `uid` (kill(-1) from a process of that uid, which forks cannot race),
 * then waits until none is left alive (again, for at most 50 rounds).
 */
async function killAllOf(box: UidSandbox, uid: number): Promise<void> {
  for (let round = 0; round < 50; round++) {
    await killOnce(box, uid);
    if (!(await anyAlive(uid))) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
    if (!(await anyAlive(uid))) return;
  }
  throw new PermanentError(`Processes of the sandbox uid ${uid} survive SIGKILL`);
}

/** Whether a process of `uid` is alive (a zombie is not). */
async function anyAlive(uid: number): Promise<boolean> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  for (const pid of pids) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const owner = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    if (owner === String(uid) && !/^State:\s+[ZX]/m.test(status)) return true;
  }
  return false;
}

async function killOnce(box: UidSandbox, uid: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      box.setpriv,
      [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--no-new-privs', '--', box.kill, '-KILL', '-1'],
      { stdio: 'ignore', env: { PATH: '/usr/bin:/bin' } },
    );
    child.once('error', reject);
    // kill exits 1 when there was nothing to kill.
    child.once('close', () => resolve());
  });
}

/** `<tmp>/mvp-sandbox-<runner uid>/home-<uid>`: root-owned 0711 parent, the home 0700 of the uid. */
async function sandboxHome(uid: number): Promise<string> {
  const base = path.join(os.tmpdir(), `mvp-sandbox-${process.getuid?.() ?? 0}`);
  await mkdir(base, { mode: 0o711 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  const info = await lstat(base);
  if (!info.isDirectory() || info.uid !== process.getuid?.()) {
    throw new PermanentError(`${base} is not a directory of the runner's own: refusing to use it`);
  }
  await chmod(base, 0o711);
  const home = path.join(base, `home-${uid}`);
  await mkdir(home, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  await chown(home, uid, uid);
  await chmod(home, 0o700);
  return home;
}

/**
 * Gives every entry of the tree to `uid` (lchown: links are never followed), except regular files
 * with other hard links (a shared package store stays the runner's), and makes the root 0700.
 */
async function handOver(root: string, uid: number): Promise<void> {
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    await Promise.all(
      entries.map(async (entry) => {
        const full = path.join(dir, entry.name);
        const info = await lstat(full);
        if (info.isFile() && info.nlink > 1) return;
        if (info.uid !== uid || info.gid !== uid) await lchownSafe(full, uid);
        if (info.isDirectory()) await walk(full);
      }),
    );
  };
  const info = await lstat(root);
  if (!info.isDirectory()) throw new NotFoundError(`${root} is not a directory`);
  await chown(root, uid, uid);
  await chmod(root, 0o700);
  await walk(root);
}

async function lchownSafe(file: string, uid: number): Promise<void> {
  await lchown(file, uid, uid).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}

/**
 * Adds o+x to every directory above `dir` that lacks it, closing that directory's other entries,
 * so another user (a sandbox uid, the database server's) can reach `dir` and nothing else new.
 */
export async function openPathTo(dir: string): Promise<void> {
  let child = dir;
  let parent = path.dirname(dir);
  while (parent !== child) {
    const info = await lstat(parent);
    if ((info.mode & 0o001) === 0) {
      const keep = path.basename(child);
      for (const entry of await readdir(parent)) {
        if (entry === keep) continue;
        const sibling = path.join(parent, entry);
        const s = await lstat(sibling).catch(() => undefined);
        if (s && !s.isSymbolicLink() && (s.mode & 0o007) !== 0) await chmod(sibling, s.mode & 0o7770);
      }
      await chmod(parent, (info.mode & 0o7777) | 0o001);
    }
    child = parent;
    parent = path.dirname(parent);
  }
}
