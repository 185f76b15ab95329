import type { Clock, IdGenerator, LogFields, Logger } from '@mvp-pipeline/core';

/** A clock that only moves when told to; `sleep` moves it and resolves at once. */
export interface ManualClock extends Clock {
  advance(ms: number): void;
  set(at: Date): void;
}

export function createManualClock(start = new Date(Date.UTC(2026, 0, 1, 9, 0, 0))): ManualClock {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance: (ms) => {
      now += ms;
    },
    set: (at) => {
      now = at.getTime();
    },
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw signal.reason;
      now += ms;
      await Promise.resolve();
    },
  };
}

/** The wall clock. */
export function createSystemClock(): Clock {
  return {
    now: () => new Date(),
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const timer = setTimeout(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }, ms);
        const onAbort = () => {
          clearTimeout(timer);
          reject(signal?.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
  };
}

/** Ids `<prefix>_1`, `<prefix>_2`, … */
export function createSequentialIds(prefix = 'job'): IdGenerator {
  let job = 0;
  let runner = 0;
  return { jobId: () => `${prefix}_${++job}`, runnerId: () => `runner_${++runner}` };
}

export interface RecordedLog {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: LogFields | undefined;
}

/** A logger that keeps what it was given. */
export function createMemoryLogger(): Logger & { entries: RecordedLog[] } {
  const entries: RecordedLog[] = [];
  const at = (level: RecordedLog['level']) => (message: string, fields?: LogFields) =>
    void entries.push({ level, message, fields });
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
