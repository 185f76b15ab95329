import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createRedactor, NotFoundError, PermanentError, ValidationError } from '@mvp-pipeline/core';
import { parentSecrets, safeEnv } from './env.js';
import {
  type CommandLimits,
  DEFAULT_COMMAND_LIMITS,
  type SandboxedCommand,
  sandboxCommand,
} from './sandbox.js';

/** What a finished command did. */
export interface CommandResult {
  /** The exit code, or null when a signal ended the process. */
  exitCode: number | null;
  /** The signal that ended the process (e.g. `SIGTERM` after a timeout), or null. */
  signal: string | null;
  /** Whether the timeout ended the command. */
  timedOut: boolean;
  /** stdout+stderr interleaved, at most maxOutputBytes (the tail is kept), redacted */
  output: string;
  /** Whether output was dropped from the start to respect the cap. */
  truncated: boolean;
  durationMs: number;
}

export interface RunCommandOptions {
  /** The program and its arguments. Run without a shell: no argument is ever interpreted. */
  argv: readonly string[];
  /** The working directory (must exist). */
  cwd: string;
  /** After this, the command gets SIGTERM, then SIGKILL if it is still running. */
  timeoutMs: number;
  /** How much output to keep (the tail). Default 64 KiB. */
  maxOutputBytes?: number;
  /** Variables added to `safeEnv()` (secret-looking names are dropped). */
  env?: Record<string, string>;
  /** Aborting kills the command and rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * The directory the command may write, whose uid it runs under (default `cwd`, which must be
   * inside it): the job's workspace root when `cwd` is a folder of it.
   */
  workspace?: string;
  /** Its budget (rlimits of each of its processes); defaults in `DEFAULT_COMMAND_LIMITS`. */
  limits?: Partial<CommandLimits>;
}

/** The default output cap of runCommand. */
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024;
/** How long a command has between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 2_000;

/**
 * Runs `argv[0]` with the other arguments, `shell: false`, in `cwd`, with `safeEnv(env)`, isolated
 * from the runner (see sandbox.ts: its own unprivileged uid, no groups, no new privileges, rlimits;
 * every process it leaves, detached or not, is killed when it ends), a timeout (SIGTERM then
 * SIGKILL, to the whole process group), an output cap keeping the tail, and abort via `signal`
 * (rejects with its reason). Never throws for a non-zero exit; throws NotFoundError for a missing
 * program or working directory, PermanentError when the program cannot be started or commands
 * cannot be isolated here, ValidationError for an empty argv or a cwd outside `workspace`.
 */
export async function runCommand(options: RunCommandOptions): Promise<CommandResult> {
  const { argv, cwd, timeoutMs, signal } = options;
  const program = argv[0];
  if (!program) throw new ValidationError('command', [{ path: 'argv', message: 'must name a program' }]);
  const cap = Math.max(1, options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES);
  signal?.throwIfAborted();
  const dir = await stat(cwd).catch(() => undefined);
  if (!dir?.isDirectory())
    throw new NotFoundError(`Cannot run ${program}: the directory ${cwd} does not exist`);
  const workspace = path.resolve(options.workspace ?? cwd);
  const relative = path.relative(workspace, path.resolve(cwd));
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new ValidationError('command', [
      { path: 'cwd', message: `${cwd} is not inside the workspace ${workspace}` },
    ]);
  }

  const started = performance.now();
  const env = safeEnv(options.env);
  const boxed: SandboxedCommand = await sandboxCommand({
    argv,
    workspace,
    path: env['PATH'] ?? '',
    limits: {
      cpuSeconds: Math.ceil(timeoutMs / 1000),
      ...DEFAULT_COMMAND_LIMITS,
      ...options.limits,
    },
  });
  if (boxed.home) env['HOME'] = boxed.home;
  try {
    signal?.throwIfAborted();
  } catch (error) {
    await boxed.release();
    throw error;
  }
  const [spawned, ...spawnArgs] = boxed.argv as [string, ...string[]];
  const child = spawn(spawned, spawnArgs, {
    cwd,
    env,
    shell: false,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a timeout or abort ends everything it started.
    detached: process.platform !== 'win32',
    windowsHide: true,
  });

  const chunks: Buffer[] = [];
  let kept = 0;
  let total = 0;
  const collect = (chunk: Buffer) => {
    total += chunk.length;
    chunks.push(chunk);
    kept += chunk.length;
    // Drop whole chunks from the front while what remains still covers the cap.
    while (chunks.length > 1 && kept - chunks[0]!.length >= cap) kept -= chunks.shift()!.length;
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);

  const killGroup = (sig: NodeJS.Signals) => {
    if (child.pid === undefined) return;
    try {
      if (process.platform === 'win32') child.kill(sig);
      else process.kill(-child.pid, sig);
    } catch {
      // Already gone.
    }
  };
  let timedOut = false;
  let aborted = false;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = () => {
    killGroup('SIGTERM');
    killTimer ??= setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    stop();
  }, timeoutMs);
  const onAbort = () => {
    aborted = true;
    stop();
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  try {
    const { exitCode, exitSignal } = await new Promise<{
      exitCode: number | null;
      exitSignal: string | null;
    }>((resolve, reject) => {
      let exited: { exitCode: number | null; exitSignal: string | null } | undefined;
      child.once('error', (error: NodeJS.ErrnoException) => {
        void boxed.release();
        if (error.code === 'ENOENT') {
          reject(new NotFoundError(`Program not found: ${program} (is it installed and on PATH?)`));
        } else {
          reject(new PermanentError(`Cannot run ${program}: ${error.message}`, { cause: error }));
        }
      });
      let swept: Promise<void> | undefined;
      const sweep = () => {
        // Leftovers (a background process, a detached daemon) would hold the pipes open or outlive
        // the command: end the group, then every process of the command's uid.
        killGroup('SIGKILL');
        swept ??= boxed.release();
        return swept;
      };
      child.once('exit', (code, sig) => {
        exited = { exitCode: code, exitSignal: sig };
        sweep().catch(reject);
      });
      child.once('close', (code, sig) => {
        sweep().then(() => resolve(exited ?? { exitCode: code, exitSignal: sig }), reject);
      });
    });
    if (aborted && signal) throw signal.reason;
    let output = Buffer.concat(chunks);
    const truncated = total > cap;
    if (output.length > cap) output = output.subarray(output.length - cap);
    // A cut through a multi-byte character leaves replacement characters at the start.
    const text = output.toString('utf8').replace(/^\uFFFD+/, '');
    return {
      exitCode,
      signal: exitSignal,
      timedOut,
      output: createRedactor(parentSecrets())(text),
      truncated,
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    clearTimeout(timer);
    if (killTimer) clearTimeout(killTimer);
    signal?.removeEventListener('abort', onAbort);
  }
}
