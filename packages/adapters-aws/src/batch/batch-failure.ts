import {
  isTerminalStatus,
  type Job,
  type JobStore,
  PipelineError,
  type Redactor,
  transition,
} from '@mvp-pipeline/core';

/**
 * The part of an `aws.batch` "Batch Job State Change" event the handler reads. `detail.jobId` is
 * the Batch job's id; the pipeline's job id is the job parameter `jobId` the rule submitted.
 */
export interface BatchJobStateChangeEvent {
  'detail-type'?: string;
  source?: string;
  detail: {
    jobId: string;
    jobName?: string;
    status: string;
    statusReason?: string;
    parameters?: Record<string, string>;
    attempts?: Array<{ statusReason?: string; container?: { exitCode?: number; reason?: string } }>;
  };
}

export type BatchFailureOutcome =
  /** The job was left IN_PROGRESS or PENDING by a Batch job that ended FAILED: now it is FAILED. */
  | 'MARKED_FAILED'
  /** The runner ended the job itself (COMPLETED, FAILED or CANCELLED): it stays as it ended. */
  | 'ALREADY_ENDED'
  /** Another Batch job (a redelivered event, a later submission) holds the job's live lease. */
  | 'HELD_BY_ANOTHER'
  /** Not a FAILED event, or not one of ours (no `jobId` parameter), or no such job. */
  | 'IGNORED';

const CONFLICT_RETRIES = 5;

/**
 * What Batch said about a failed job, in one line: the status reason (`Job attempt duration
 * exceeded timeout`, `Essential container in task exited`…), the last attempt's exit code and
 * container reason.
 */
export function batchFailureReason(event: BatchJobStateChangeEvent): string {
  const last = event.detail.attempts?.at(-1);
  const parts = [
    event.detail.statusReason ?? last?.statusReason ?? 'no reason given',
    last?.container?.exitCode === undefined ? undefined : `exit code ${last.container.exitCode}`,
    last?.container?.reason,
  ].filter(Boolean);
  return `AWS Batch ended job ${event.detail.jobId} FAILED after ${event.detail.attempts?.length ?? 0} attempt(s): ${parts.join('; ')}`;
}

/**
 * Marks the job FAILED with the Batch reason when its Batch job ended FAILED and the runner did
 * not end it: a timed-out attempt (Batch does not retry it), exit 75 on the last attempt, a task
 * that never started. Idempotent with the runner's own write: one conditional update through
 * `transition()`, re-read on a version conflict; a job that has ended stays as it ended.
 */
export async function recordBatchFailure(
  deps: { store: JobStore; clock?: () => Date; redact?: Redactor },
  event: BatchJobStateChangeEvent,
): Promise<{ outcome: BatchFailureOutcome; job?: Job }> {
  const jobId = event.detail.parameters?.jobId;
  if (event.detail.status !== 'FAILED' || !jobId) return { outcome: 'IGNORED' };
  const clock = deps.clock ?? (() => new Date());
  const redact = deps.redact ?? ((text: string) => text);
  for (let attempt = 0; ; attempt++) {
    const { job } = await deps.store.get({ jobId });
    if (!job) return { outcome: 'IGNORED' };
    if (isTerminalStatus(job.status)) return { outcome: 'ALREADY_ENDED', job };
    const now = clock();
    const leaseLive = job.lease !== null && Date.parse(job.lease.expiresAt) > now.getTime();
    if (leaseLive && job.resources.batchJobId && job.resources.batchJobId !== event.detail.jobId) {
      return { outcome: 'HELD_BY_ANOTHER', job };
    }
    const error = {
      at: now.toISOString(),
      step: job.currentStep,
      code: 'PERMANENT' as const,
      message: redact(batchFailureReason(event)),
      retryable: false,
      attempt: job.attempt,
    };
    const moved = transition(job, { type: 'fail', error }, { now, maxRepairRounds: 0 });
    if (!moved.ok) return { outcome: 'ALREADY_ENDED', job };
    try {
      const { job: failed } = await deps.store.update({
        jobId,
        expectedVersion: job.version,
        patch: {
          set: { ...moved.set, lease: null },
          appendErrors: [error],
          appendLogs: [{ at: error.at, step: job.currentStep, level: 'error', message: error.message }],
        },
      });
      return { outcome: 'MARKED_FAILED', job: failed };
    } catch (e) {
      const conflict = PipelineError.isInstance(e) && e.code === 'VERSION_CONFLICT';
      if (!conflict || attempt >= CONFLICT_RETRIES) throw e;
    }
  }
}
