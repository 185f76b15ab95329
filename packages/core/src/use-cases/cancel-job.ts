import type { Job } from '../domain/job.js';
import { isLeaseLive } from '../domain/job.js';
import { isTerminalStatus } from '../domain/steps.js';
import { transition } from '../domain/transition.js';
import { NotFoundError, PipelineError } from '../errors.js';
import { databasesLeftBy } from './cleanup-job.js';
import type { PipelineDeps } from './deps.js';

export type CancelOutcome =
  /** The job is CANCELLED now (its notification goes out with the next runner that picks it up). */
  | 'CANCELLED'
  /** A runner is working on it; it stops at its next check and marks the job CANCELLED. */
  | 'REQUESTED'
  /** The job had ended already. */
  | 'ALREADY_ENDED';

export interface CancelJobInput {
  jobId: string;
}

/** Re-reads after a version conflict (the job moved while the cancel was written). */
const MAX_CANCEL_CONFLICTS = 5;

/**
 * Asks a job to stop, as record writes only. A job a runner holds gets `cancelRequested`, which
 * its runner sees on its next write and ends the job with; a job nobody holds is moved to
 * CANCELLED through `transition()` in the same conditional write. Either way the terminal
 * notification is sent by a runner (a worker picks up ended jobs whose notification is unsent).
 */
export async function cancelJob(
  deps: Pick<PipelineDeps, 'ports' | 'settings'>,
  input: CancelJobInput,
): Promise<{ outcome: CancelOutcome; job: Job }> {
  const { store, clock } = deps.ports;
  const { jobId } = input;
  for (let conflicts = 0; ; conflicts++) {
    const { job } = await store.get({ jobId });
    if (!job) throw new NotFoundError(`No job with id ${jobId}`);
    if (isTerminalStatus(job.status)) return { outcome: 'ALREADY_ENDED', job };
    const now = clock.now();
    const at = now.toISOString();
    const held = isLeaseLive(job.lease, now);
    const moved = held
      ? undefined
      : transition(job, { type: 'cancel' }, { now, maxRepairRounds: deps.settings.maxRepairRounds });
    if (moved && !moved.ok) throw moved.error;
    // Ended here, not by a runner: the record lists what it leaves, as a runner's end does.
    const databases = moved ? await databasesLeftBy(deps, job) : [];
    try {
      const { job: written } = await store.update({
        jobId,
        expectedVersion: job.version,
        patch: {
          set: {
            cancelRequested: true,
            ...(moved?.ok ? moved.set : {}),
            ...(databases.length ? { resources: { ...job.resources, databases } } : {}),
          },
          appendLogs: [
            { at, step: job.currentStep, level: 'warn', message: 'Cancellation requested' },
            ...(moved
              ? [{ at, step: job.currentStep, level: 'error' as const, message: 'Cancelled on request' }]
              : []),
          ],
        },
      });
      return { outcome: moved ? 'CANCELLED' : 'REQUESTED', job: written };
    } catch (error) {
      const conflict = PipelineError.isInstance(error) && error.code === 'VERSION_CONFLICT';
      if (!conflict || conflicts >= MAX_CANCEL_CONFLICTS) throw error;
    }
  }
}
