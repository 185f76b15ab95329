import { EXIT } from './exit-codes.js';

/**
 * SIGINT/SIGTERM abort the returned signal (the job checkpoints and releases its lease); a
 * second signal exits at once.
 */
export interface SignalWatch {
  signal: AbortSignal;
  dispose(): void;
}

export function onSignals(): SignalWatch {
  const controller = new AbortController();
  const handler = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(EXIT.RETRYABLE);
    controller.abort(new Error(`received ${signal}`));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
