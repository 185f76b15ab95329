import type { Job, JobErrorEntry, JobStore, LogEntry } from '@mvp-pipeline/core';
import { createRecordJobStore, type RecordBackend } from './record-job-store.js';

/** A JobStore in a Map: the fake for tests, and MVP_JOB_STORE=memory. Records are copied in and out. */
export function createMemoryJobStore(options: { clock?: () => Date } = {}): JobStore & { size(): number } {
  const records = new Map<string, Job>();
  const history = new Map<string, { logs: LogEntry[]; errors: JobErrorEntry[] }>();
  const backend: RecordBackend = {
    read: async (jobId) => {
      const job = records.get(jobId);
      return job && structuredClone(job);
    },
    swap: async (jobId, expectedVersion, next, appended) => {
      if (records.get(jobId)?.version !== expectedVersion) return false;
      records.set(jobId, structuredClone(next));
      const past = history.get(jobId) ?? { logs: [], errors: [] };
      history.set(jobId, {
        logs: [...past.logs, ...appended.logs],
        errors: [...past.errors, ...appended.errors],
      });
      return true;
    },
    list: async () => [...records.values()].map((job) => structuredClone(job)),
    readHistory: async (jobId) => structuredClone(history.get(jobId) ?? { logs: [], errors: [] }),
  };
  return { ...createRecordJobStore(backend, options.clock), size: () => records.size };
}
