import { EXIT } from './exit-codes.js';

/**
 * SIGINT/SIGTERM abort the returned signal: the job checkpoints, releases its lease, and the
 * command exits 75. Shutdown is never cut short by a later signal: a second SIGTERM (Batch and
 * Fargate send one, then SIGKILL after the grace period) only says that the runner is still
 * stopping, and after `dispose()` further signals are absorbed until the process exits, so the
 * exit is the command's own (75), never 143 from SIGTERM's default action. A person at a terminal
 * can still force the exit (75) with a third Ctrl-C.
 */
export interface SignalWatch {
  signal: AbortSignal;
  dispose(): void;
}

export interface SignalOptions {
  /** Where "still stopping" is said. Default stderr. */
  out?: { write(text: string): unknown };
  /** Ends the process on the third SIGINT. Default process.exit. */
  exit?: (code: number) => void;
}

export function onSignals(options: SignalOptions = {}): SignalWatch {
  const out = options.out ?? process.stderr;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const controller = new AbortController();
  let interrupts = 0;
  const handler = (signal: NodeJS.Signals) => {
    if (signal === 'SIGINT') interrupts++;
    if (!controller.signal.aborted) {
      controller.abort(new Error(`received ${signal}`));
      return;
    }
    if (signal === 'SIGINT' && interrupts >= 3) {
      out.write('Stopping now: the lease is left to expire.\n');
      exit(EXIT.RETRYABLE);
      return;
    }
    out.write(`Received ${signal} again: still stopping (checkpoint, then the lease is released).\n`);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  let disposed = false;
  return {
    signal: controller.signal,
    dispose: () => {
      if (disposed) return;
      disposed = true;
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      if (controller.signal.aborted && !process.listeners('SIGTERM').includes(absorb)) {
        // What is left (closing the pipeline, printing the summary) runs to the end. Node's own
        // teardown after the last callback uninstalls the signal handlers before the process is
        // gone, and a SIGTERM in that window would end it with 143: exit at once instead.
        process.on('SIGINT', absorb);
        process.on('SIGTERM', absorb);
        process.once('beforeExit', () => process.exit());
      }
    },
  };
}

/** A signal that arrives while a stopped command finishes: it changes nothing. */
function absorb(): void {}
