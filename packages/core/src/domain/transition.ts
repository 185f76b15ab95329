import { IllegalTransitionError } from '../errors.js';
import type { Job, JobErrorEntry } from './job.js';
import { isTerminalStatus, STEP_TRANSITIONS, type Step } from './steps.js';

/** Something that happens to a job. */
export type JobEvent =
  /** Move `currentStep` along the transition table (BUILDING → AI_DEVELOPMENT is a repair round). */
  { type: 'advance'; to: Step } | { type: 'fail'; error: JobErrorEntry } | { type: 'cancel' };

export type TransitionResult =
  | { ok: true; set: Partial<Pick<Job, 'status' | 'currentStep' | 'timestamps' | 'repairRounds'>> }
  | { ok: false; error: IllegalTransitionError };

export interface TransitionRules {
  now: Date;
  /** How many times a failed build may send the job back to AI_DEVELOPMENT. */
  maxRepairRounds: number;
  /** When set, a job leaving the queue gets `timestamps.estimatedCompletion` this far ahead. */
  estimatedDurationMs?: number;
}

const illegal = (job: Job, what: string): TransitionResult => ({
  ok: false,
  error: new IllegalTransitionError(
    `Job ${job.jobId} cannot ${what} (status ${job.status}, step ${job.currentStep})`,
    { step: job.currentStep },
  ),
});

/**
 * The job's state machine. Returns the fields to write, or an illegal-transition result:
 * an illegal move is a value, never a silent overwrite.
 */
export function transition(job: Job, event: JobEvent, rules: TransitionRules): TransitionResult {
  const at = rules.now.toISOString();
  if (isTerminalStatus(job.status)) return illegal(job, `${describe(event)}: it has already ended`);
  switch (event.type) {
    case 'advance': {
      const allowed: readonly Step[] = STEP_TRANSITIONS[job.currentStep];
      if (!allowed.includes(event.to)) return illegal(job, `move to ${event.to}`);
      if (job.currentStep === 'QUEUED') {
        // Leaving the queue is what starts a job.
        if (job.status !== 'PENDING') return illegal(job, `move to ${event.to}`);
        return {
          ok: true,
          set: {
            status: 'IN_PROGRESS',
            currentStep: event.to,
            timestamps: {
              ...job.timestamps,
              startedAt: job.timestamps.startedAt ?? at,
              ...(rules.estimatedDurationMs === undefined
                ? {}
                : {
                    estimatedCompletion: new Date(
                      rules.now.getTime() + rules.estimatedDurationMs,
                    ).toISOString(),
                  }),
            },
          },
        };
      }
      if (job.status !== 'IN_PROGRESS') return illegal(job, `move to ${event.to}`);
      if (job.currentStep === 'BUILDING' && event.to === 'AI_DEVELOPMENT') {
        if (job.repairRounds >= rules.maxRepairRounds) {
          return illegal(job, `start repair round ${job.repairRounds + 1} of ${rules.maxRepairRounds}`);
        }
        return { ok: true, set: { currentStep: 'AI_DEVELOPMENT', repairRounds: job.repairRounds + 1 } };
      }
      if (event.to === 'COMPLETED') {
        return {
          ok: true,
          set: {
            status: 'COMPLETED',
            currentStep: 'COMPLETED',
            timestamps: { ...job.timestamps, completedAt: at },
          },
        };
      }
      return { ok: true, set: { currentStep: event.to } };
    }
    case 'fail':
      return { ok: true, set: { status: 'FAILED', timestamps: { ...job.timestamps, completedAt: at } } };
    case 'cancel':
      return { ok: true, set: { status: 'CANCELLED', timestamps: { ...job.timestamps, completedAt: at } } };
  }
}

function describe(event: JobEvent): string {
  return event.type === 'advance' ? `move to ${event.to}` : event.type;
}
