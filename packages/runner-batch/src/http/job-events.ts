import {
  deliveryOf,
  isTerminalStatus,
  type Job,
  type JobErrorEntry,
  type JobStore,
  type LogEntry,
} from '@mvp-pipeline/core';

/** Tells listeners which job was just written; returns the unsubscribe. */
export type JobChanges = (listener: (jobId: string) => void) => () => void;

export interface JobEventsOptions {
  /** Ends the stream (the client went away). */
  signal?: AbortSignal;
  /** Wakes the stream as soon as a job is written in this process; others are seen by polling. */
  changes?: JobChanges;
  /** How often the store is read when nothing wakes the stream. Default 1000 ms. */
  pollMs?: number;
  /** A comment line is sent after this long without an event, so proxies keep the stream open. Default 15 s. */
  heartbeatMs?: number;
}

/**
 * A job's updates as Server-Sent Events, from its record:
 * - `snapshot`: the whole record, first (and after every reconnect);
 * - `step`: `{status, currentStep, progress, repairRounds, timestamps}` when the job moves;
 * - `log`: `{entries}`, the new log lines, in order;
 * - `errors`: `{entries}`, new entries of the job's error list (not `error`, which EventSource uses itself);
 * - `urls`: `{urls, resources}` when links appear;
 * - `usage`: the usage totals (tokens, cost, seconds) when they change;
 * - `delivery`: what the job delivers (`deliveryOf`: kind, features, journeys) when it changes;
 * - `end`: `{status}` once the job has ended; the stream closes after it.
 * Every event carries the record's version as its id.
 */
export async function* jobEvents(
  store: JobStore,
  first: Job,
  options: JobEventsOptions = {},
): AsyncGenerator<string, void, undefined> {
  const { signal } = options;
  const pollMs = options.pollMs ?? 1000;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  let woken = false;
  let wake: () => void = () => undefined;
  const unsubscribe = options.changes?.((jobId) => {
    if (jobId !== first.jobId) return;
    woken = true;
    wake();
  });
  try {
    // EventSource reconnects after this many milliseconds when the stream breaks.
    yield 'retry: 2000\n\n';
    yield sse('snapshot', first.version, first);
    let last = first;
    let quietSince = Date.now();
    while (!isTerminalStatus(last.status) && !signal?.aborted) {
      if (!woken) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pollMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
          signal?.addEventListener('abort', wake, { once: true });
        });
        signal?.removeEventListener('abort', wake);
      }
      woken = false;
      if (signal?.aborted) return;
      const { job } = await store.get({ jobId: first.jobId, ...(signal ? { signal } : {}) });
      if (!job) return;
      if (job.version === last.version) {
        if (Date.now() - quietSince >= heartbeatMs) {
          quietSince = Date.now();
          yield ': ping\n\n';
        }
        continue;
      }
      for (const event of await changesBetween(store, last, job, signal)) yield event;
      quietSince = Date.now();
      last = job;
    }
    if (isTerminalStatus(last.status)) yield sse('end', last.version, { status: last.status });
  } finally {
    unsubscribe?.();
  }
}

async function changesBetween(
  store: JobStore,
  before: Job,
  after: Job,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const events: string[] = [];
  const id = after.version;
  const logs = await newEntries(before.executionLogs, after.executionLogs, logKey, async () => {
    return (await store.readHistory({ jobId: after.jobId, ...(signal ? { signal } : {}) })).logs;
  });
  if (logs.length) events.push(sse('log', id, { entries: logs }));
  const errors = await newEntries(before.errors, after.errors, errorKey, async () => {
    return (await store.readHistory({ jobId: after.jobId, ...(signal ? { signal } : {}) })).errors;
  });
  if (errors.length) events.push(sse('errors', id, { entries: errors }));
  if (
    before.status !== after.status ||
    before.currentStep !== after.currentStep ||
    before.progress !== after.progress ||
    before.repairRounds !== after.repairRounds
  ) {
    const { status, currentStep, progress, repairRounds, timestamps } = after;
    events.push(sse('step', id, { status, currentStep, progress, repairRounds, timestamps }));
  }
  if (!same(before.urls, after.urls) || !same(before.resources, after.resources)) {
    events.push(sse('urls', id, { urls: after.urls, resources: after.resources }));
  }
  if (!same(before.usage, after.usage)) events.push(sse('usage', id, after.usage));
  const delivery = deliveryOf(after);
  if (!same(deliveryOf(before), delivery)) events.push(sse('delivery', id, delivery ?? null));
  return events;
}

/**
 * The entries of `after` not in `before`. The record keeps only the latest lines: when the last
 * one seen has scrolled out of it, the full history says what came after.
 */
async function newEntries<T>(
  before: readonly T[],
  after: readonly T[],
  key: (entry: T) => string,
  history: () => Promise<readonly T[]>,
): Promise<T[]> {
  const seen = before.at(-1);
  if (!seen) return [...after];
  const lastKey = key(seen);
  if (after.length && key(after.at(-1)!) === lastKey) return [];
  const index = after.findLastIndex((entry) => key(entry) === lastKey);
  if (index >= 0) return after.slice(index + 1);
  const all = await history();
  const at = all.findLastIndex((entry) => key(entry) === lastKey);
  return at >= 0 ? all.slice(at + 1) : [...after];
}

const logKey = (entry: LogEntry) => `${entry.at}|${entry.step}|${entry.message}`;
const errorKey = (entry: JobErrorEntry) => `${entry.at}|${entry.step}|${entry.code}|${entry.message}`;
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** One event in the text/event-stream format (JSON has no raw newlines, so one data line). */
export function sse(event: string, id: number | string, data: unknown): string {
  return `event: ${event}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`;
}
