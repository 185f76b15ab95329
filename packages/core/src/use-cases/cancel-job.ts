import type { Job } from '../domain/job.js';
import { isLeaseLive } from '../domain/job.js';
import { isTerminalStatus } from '../domain/steps.js';
import { NotFoundError, PipelineError } from '../errors.js';
import type { PipelineDeps } from './deps.js';
import { runJob } from './run-job.js';

export type CancelOutcome =
  /** The job is CANCELLED now. */
  | 'CANCELLED'
  /** A runner is working on it; it stops at its next check and marks the job CANCELLED. */
  | 'REQUESTED'
  /** The job had ended already. */
  | 'ALREADY_ENDED';

/** Asks a job to stop. A job nobody runs is cancelled at once; a running one is stopped by its runner. */
export async function cancelJob(
  deps: PipelineDeps,
  jobId: string,
): Promise<{ outcome: CancelOutcome; job: Job }> {
  const { store, clock } = deps.ports;
  for (let attempt = 0; ; attempt++) {
    const { job } = await store.get({ jobId });
    if (!job) throw new NotFoundError(`No job with id ${jobId}`);
    if (isTerminalStatus(job.status)) return { outcome: 'ALREADY_ENDED', job };
    try {
      const at = clock.now().toISOString();
      const { job: requested } = await store.update({
        jobId,
        expectedVersion: job.version,
        patch: {
          set: { cancelRequested: true },
          appendLogs: [{ at, step: job.currentStep, level: 'warn', message: 'Cancellation requested' }],
        },
      });
      if (isLeaseLive(requested.lease, clock.now())) return { outcome: 'REQUESTED', job: requested };
      // Nobody runs the job: run it here, which sees the request and ends it as CANCELLED.
      const result = await runJob(deps, { jobId });
      if (result.outcome === 'LEASE_HELD') return { outcome: 'REQUESTED', job: result.job };
      return { outcome: result.job.status === 'CANCELLED' ? 'CANCELLED' : 'ALREADY_ENDED', job: result.job };
    } catch (error) {
      if (!PipelineError.isInstance(error) || error.code !== 'VERSION_CONFLICT' || attempt >= 5) throw error;
    }
  }
}
