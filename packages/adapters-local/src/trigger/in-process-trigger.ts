import { randomUUID } from 'node:crypto';
import type { JobRequest, JobTrigger } from '@mvp-pipeline/core';

/**
 * Triggers within one process: the job is already queued in the store (PENDING), so a trigger
 * only wakes the workers listening here; a worker in another process finds it by polling.
 */
export interface InProcessTrigger extends JobTrigger {
  /** Calls `listener` for every request; returns the unsubscribe. */
  subscribe(listener: (request: JobRequest) => void): () => void;
}

export function createInProcessTrigger(): InProcessTrigger {
  const listeners = new Set<(request: JobRequest) => void>();
  return {
    specificationVersion: 'v1',
    async trigger({ request }) {
      for (const listener of listeners) listener({ ...request });
      return { eventId: randomUUID() };
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
