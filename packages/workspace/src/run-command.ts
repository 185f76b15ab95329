import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import {
  createRedactor,
  NotFoundError,
  PermanentError,
  type Redactor,
  ValidationError,
} from '@mvp-pipeline/core';
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

/** What runCommand and startCommand share. */
export interface CommandOptions {
  /** The program and its arguments. Run without a shell: no argument is ever interpreted. */
  argv: readonly string[];
  /** The working directory (must exist). */
  cwd: string;
  /** How much output to keep (the tail). Default 64 KiB. */
  maxOutputBytes?: number;
  /** Variables added to `safeEnv()` (secret-looking names are dropped). */
  env?: Record<string, string>;
  /**
   * Variables the command needs although they are secrets (a `DATABASE_URL` with its password):
   * passed as they are, and their values (and a URL's password) redacted from the output.
   */
  secretEnv?: Record<string, string>;
  /**
   * The directory the command may write, whose uid it runs under (default `cwd`, which must be
   * inside it): the job's workspace root when `cwd` is a folder of it.
   */
  workspace?: string;
  /** Its budget (rlimits of each of its processes); defaults in `DEFAULT_COMMAND_LIMITS`. */
  limits?: Partial<CommandLimits>;
}

export interface RunCommandOptions extends CommandOptions {
  /** After this, the command gets SIGTERM, then SIGKILL if it is still running. */
  timeoutMs: number;
  /** Aborting kills the command and rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** The default output cap of runCommand. */
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024;
/** How long a command has between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 2_000;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Runs `argv[0]` with the other arguments, `shell: false`, in `cwd`, with `safeEnv(env)` plus
 * `secretEnv`, isolated from the runner (see sandbox.ts: its own unprivileged uid, no groups, no
 * new privileges, rlimits; every process it leaves, detached or not, is killed when it ends), a
 * timeout (SIGTERM then SIGKILL, to the whole process group), an output cap keeping the tail, and
 * abort via `signal` (rejects with its reason). Never throws for a non-zero exit; throws
 * NotFoundError for a missing program or working directory, PermanentError when the program
 * cannot be started or commands cannot be isolated here, ValidationError for an empty argv or a
 * cwd outside `workspace`.
 */
export async function runCommand(options: RunCommandOptions): Promise<CommandResult> {
  const { timeoutMs, signal } = options;
  signal?.throwIfAborted();
  const prepared = await prepareCommand(options, Math.ceil(timeoutMs / 1000));
  try {
    signal?.throwIfAborted();
  } catch (error) {
    await prepared.boxed.release();
    throw error;
  }
  const run = launchCommand(prepared);
  let timedOut = false;
  let aborted = false;
  const timer = setTimeout(() => {
    timedOut = true;
    run.stop(KILL_GRACE_MS);
  }, timeoutMs);
  const onAbort = () => {
    aborted = true;
    run.stop(KILL_GRACE_MS);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const { exitCode, exitSignal } = await run.done;
    if (aborted && signal) throw signal.reason;
    const { text, truncated } = run.output();
    return {
      exitCode,
      signal: exitSignal,
      timedOut,
      output: text,
      truncated,
      durationMs: Math.round(performance.now() - run.started),
    };
  } finally {
    clearTimeout(timer);
    run.clearTimers();
    signal?.removeEventListener('abort', onAbort);
  }
}

// ---------------------------------------------------------------------------------------------
// Shared by runCommand and startCommand (not exported from the package).

/** A validated command, its environment and its sandbox, ready to spawn. */
export interface PreparedCommand {
  program: string;
  cwd: string;
  env: Record<string, string>;
  boxed: SandboxedCommand;
  redact: Redactor;
  cap: number;
}

/** Validates the options, builds the environment and the redactor, and prepares the sandbox. */
export async function prepareCommand(options: CommandOptions, cpuSeconds: number): Promise<PreparedCommand> {
  const { argv, cwd } = options;
  const program = argv[0];
  if (!program) throw new ValidationError('command', [{ path: 'argv', message: 'must name a program' }]);
  const secretEnv = options.secretEnv ?? {};
  const badName = Object.keys(secretEnv).find((name) => !ENV_NAME.test(name));
  if (badName !== undefined) {
    throw new ValidationError('command', [
      { path: `secretEnv.${badName}`, message: 'must be an environment variable name' },
    ]);
  }
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
  const env = { ...safeEnv(options.env), ...secretEnv };
  const boxed = await sandboxCommand({
    argv,
    workspace,
    path: env['PATH'] ?? '',
    limits: { cpuSeconds, ...DEFAULT_COMMAND_LIMITS, ...options.limits },
  });
  if (boxed.home) env['HOME'] = boxed.home;
  const secrets = Object.values(secretEnv).flatMap((value) => [value, urlPassword(value)]);
  return {
    program,
    cwd,
    env,
    boxed,
    redact: createRedactor([...parentSecrets(), ...secrets]),
    cap: Math.max(1, options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES),
  };
}

/** The password of a URL with credentials (decoded, as a driver would print it), if any. */
function urlPassword(value: string): string | undefined {
  try {
    const password = new URL(value).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}

/** A spawned command: its output so far, a way to end it, and its end. */
export interface LaunchedCommand {
  child: ChildProcessByStdio<null, Readable, Readable>;
  started: number;
  /** The redacted tail of stdout+stderr so far. */
  output(): { text: string; truncated: boolean };
  /** SIGTERM to the process group, SIGKILL after `graceMs` (once, however often it is called). */
  stop(graceMs: number): void;
  /** Sends `signal` to the whole process group now. */
  killGroup(signal: NodeJS.Signals): void;
  /** Settles when the process has exited and everything it left is killed (the sandbox released). */
  done: Promise<{ exitCode: number | null; exitSignal: string | null }>;
  clearTimers(): void;
}

/** Spawns a prepared command in its own process group and collects its output. */
export function launchCommand(prepared: PreparedCommand): LaunchedCommand {
  const { boxed, program, cap } = prepared;
  const started = performance.now();
  const [spawned, ...spawnArgs] = boxed.argv as [string, ...string[]];
  const child = spawn(spawned, spawnArgs, {
    cwd: prepared.cwd,
    env: prepared.env,
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
  let killTimer: NodeJS.Timeout | undefined;
  const done = new Promise<{ exitCode: number | null; exitSignal: string | null }>((resolve, reject) => {
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
  // Callers await `done`; this keeps a rejection nobody awaits yet from crashing the process.
  done.catch(() => undefined);

  return {
    child,
    started,
    output() {
      const truncated = total > cap;
      // Redact before cutting, so a secret across the cut is still found whole.
      let text = Buffer.from(prepared.redact(Buffer.concat(chunks).toString('utf8')), 'utf8');
      if (text.length > cap) text = text.subarray(text.length - cap);
      // A cut through a multi-byte character leaves replacement characters at the start.
      return { text: text.toString('utf8').replace(/^\uFFFD+/, ''), truncated };
    },
    stop(graceMs) {
      killGroup('SIGTERM');
      killTimer ??= setTimeout(() => killGroup('SIGKILL'), graceMs);
    },
    killGroup,
    done,
    clearTimers() {
      if (killTimer) clearTimeout(killTimer);
    },
  };
}
