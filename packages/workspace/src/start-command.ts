import { performance } from 'node:perf_hooks';
import {
  type CommandOptions,
  type CommandResult,
  type LaunchedCommand,
  launchCommand,
  prepareCommand,
} from './run-command.js';

export interface StartCommandOptions extends CommandOptions {
  /** Aborting stops the process (as `stop()` does); `exited` then settles as usual. */
  signal?: AbortSignal;
  /** Time between SIGTERM and SIGKILL when it is stopped. Default 5 000 ms. */
  stopGraceMs?: number;
}

/** A long-running command (an app server) that runs until it exits or is stopped. */
export interface StartedCommand {
  pid: number;
  /** The redacted tail of its stdout+stderr so far (at most maxOutputBytes). */
  output(): string;
  /** Settles when it has exited and every process it left is gone. `timedOut` is always false. */
  exited: Promise<CommandResult>;
  /**
   * SIGTERM to its process group, SIGKILL after the grace, then every process of its sandbox uid
   * killed. Resolves once all are gone; safe to call twice or after it exited.
   */
  stop(): Promise<void>;
}

/** A server runs as long as it is wanted: its CPU budget is a day per process unless limits say. */
const DEFAULT_CPU_SECONDS = 24 * 60 * 60;
const DEFAULT_STOP_GRACE_MS = 5_000;

/**
 * Starts `argv` like runCommand does (no shell, `safeEnv(env)` plus `secretEnv`, its own process
 * group, isolated under the workspace's uid with rlimits, output capped and redacted) but does
 * not wait for it: returns once it is spawned. Rejects like runCommand for a missing program or
 * directory and a bad argv or cwd, and with the signal's reason when already aborted.
 */
export async function startCommand(options: StartCommandOptions): Promise<StartedCommand> {
  const { signal } = options;
  signal?.throwIfAborted();
  const prepared = await prepareCommand(options, DEFAULT_CPU_SECONDS);
  let run: LaunchedCommand;
  try {
    signal?.throwIfAborted();
    run = launchCommand(prepared);
    // Spawned, or the spawn failed (its error rejects `done`).
    await Promise.race([
      new Promise<void>((resolve) => run.child.once('spawn', () => resolve())),
      run.done.then(() => undefined),
    ]);
  } catch (error) {
    await prepared.boxed.release();
    throw error;
  }
  const grace = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
  const stop = () => run.stop(grace);
  signal?.addEventListener('abort', stop, { once: true });
  const exited = run.done.then(({ exitCode, exitSignal }): CommandResult => {
    const { text, truncated } = run.output();
    return {
      exitCode,
      signal: exitSignal,
      timedOut: false,
      output: text,
      truncated,
      durationMs: Math.round(performance.now() - run.started),
    };
  });
  void exited
    .finally(() => {
      run.clearTimers();
      signal?.removeEventListener('abort', stop);
    })
    .catch(() => undefined);
  return {
    pid: run.child.pid ?? -1,
    output: () => run.output().text,
    exited,
    async stop() {
      stop();
      await exited;
    },
  };
}
