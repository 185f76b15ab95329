import type { Job } from '../domain/job.js';
import { PipelineError } from '../errors.js';
import { formatMs, retry } from '../retry.js';
import type { PipelineDeps } from './deps.js';
import { type RunJobResult, runJob } from './run-job.js';

export interface WorkerOptions {
  /** Jobs run at the same time. */
  concurrency: number;
  /** Run what is runnable now (each job at most once), then return. */
  once?: boolean;
  /** How often the store is asked for work when nothing wakes the worker. */
  pollIntervalMs?: number;
  /** Stops the worker: no new jobs start, running ones are interrupted (and stay resumable). */
  signal?: AbortSignal;
  /** Subscribes to "a job was queued" hints (an in-process trigger); returns the unsubscribe. */
  subscribe?: (wake: () => void) => () => void;
  onResult?: (result: RunJobResult) => void;
  onError?: (jobId: string, error: unknown) => void;
  /** A poll that failed even after the retry policy's tries; the worker polls again later. */
  onPollError?: (error: PipelineError) => void;
}

export interface WorkerSummary {
  runs: number;
  outcomes: Partial<Record<RunJobResult['outcome'], number>>;
}

/**
 * Runs queued jobs, and jobs whose runner died (their lease expired), with a concurrency limit.
 * Many workers may share a store: the lease decides who runs a job.
 */
export async function runWorker(deps: PipelineDeps, options: WorkerOptions): Promise<WorkerSummary> {
  const { store, clock } = deps.ports;
  const active = new Map<string, Promise<void>>();
  const seen = new Set<string>();
  const summary: WorkerSummary = { runs: 0, outcomes: {} };
  let wake: () => void = () => undefined;
  const unsubscribe = options.subscribe?.(() => wake());
  const stopped = () => options.signal?.aborted === true;
  // One listener for the whole run (a listener per poll would pile up on a long-lived signal).
  const onAbort = () => wake();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const poll = () =>
    retry(() => store.listRunnable({ now: clock.now(), limit: options.concurrency * 4 }), {
      policy: deps.settings.retry,
      random: deps.settings.random,
      sleep: (ms, signal) => clock.sleep(ms, signal),
      signal: options.signal,
    });
  try {
    while (!stopped()) {
      const free = options.concurrency - active.size;
      let started = 0;
      if (free > 0) {
        let jobs: Job[] = [];
        try {
          ({ jobs } = await poll());
        } catch (thrown) {
          if (stopped()) break;
          // The store is down for longer than the policy waits: say so, and poll again later.
          if (!PipelineError.isInstance(thrown) || !thrown.retryable) throw thrown;
          deps.ports.logger.warn(
            `Could not ask the store for work (${deps.settings.redact(thrown.message)}); polling again in ${formatMs(options.pollIntervalMs ?? 1000)}`,
          );
          options.onPollError?.(thrown);
        }
        for (const job of jobs) {
          if (started >= free) break;
          if (active.has(job.jobId) || (options.once && seen.has(job.jobId))) continue;
          seen.add(job.jobId);
          started++;
          const run = runJob(deps, {
            jobId: job.jobId,
            ...(options.signal ? { signal: options.signal } : {}),
          })
            .then(
              (result) => {
                summary.runs++;
                summary.outcomes[result.outcome] = (summary.outcomes[result.outcome] ?? 0) + 1;
                options.onResult?.(result);
              },
              (error) => options.onError?.(job.jobId, error),
            )
            .finally(() => {
              active.delete(job.jobId);
              wake();
            });
          active.set(job.jobId, run);
        }
      }
      if (options.once && started === 0 && active.size === 0) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.pollIntervalMs ?? 1000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
        if (stopped()) wake();
      });
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    unsubscribe?.();
    await Promise.all(active.values());
  }
  return summary;
}
