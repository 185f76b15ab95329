import type { Clock } from '@mvp-pipeline/core';

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
