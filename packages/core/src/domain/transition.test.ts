import { describe, expect, it } from 'vitest';
import { createJobRecord, type Job } from './job.js';
import {
  isTerminalStatus,
  JOB_STATUSES,
  type JobStatus,
  STEP_PROGRESS,
  STEP_TRANSITIONS,
  STEPS,
  type Step,
} from './steps.js';
import { type JobEvent, transition } from './transition.js';

const now = new Date(Date.UTC(2026, 0, 1));
const rules = { now, maxRepairRounds: 2 };

function jobAt(status: JobStatus, step: Step, repairRounds = 0): Job {
  return {
    ...createJobRecord({
      jobId: 'j',
      userId: 'u',
      productId: 'p',
      businessName: 'B',
      template: 'landing',
      now,
    }),
    status,
    currentStep: step,
    repairRounds,
  };
}

/** The states a job can be in: PENDING only while queued, IN_PROGRESS on a work step, ended anywhere. */
const states: Array<[JobStatus, Step]> = JOB_STATUSES.flatMap((status) =>
  STEPS.map((step) => [status, step] as [JobStatus, Step]),
);

describe('the transition table', () => {
  it.each(states)('%s at %s: every advance is accepted exactly when the table allows it', (status, step) => {
    for (const to of STEPS) {
      const result = transition(jobAt(status, step), { type: 'advance', to }, rules);
      const inTable = (STEP_TRANSITIONS[step] as readonly Step[]).includes(to);
      const statusAllows = step === 'QUEUED' ? status === 'PENDING' : status === 'IN_PROGRESS';
      expect(result.ok, `${status}/${step} → ${to}`).toBe(inTable && statusAllows);
      if (!result.ok) expect(result.error.code).toBe('ILLEGAL_TRANSITION');
    }
  });

  it.each(states)(
    '%s at %s: fail and cancel are accepted exactly when the job has not ended',
    (status, step) => {
      const events: JobEvent[] = [
        {
          type: 'fail',
          error: {
            at: now.toISOString(),
            step,
            code: 'PERMANENT',
            message: 'x',
            retryable: false,
            attempt: 1,
          },
        },
        { type: 'cancel' },
      ];
      for (const event of events) {
        const result = transition(jobAt(status, step), event, rules);
        expect(result.ok).toBe(!isTerminalStatus(status));
        if (result.ok) {
          expect(result.set.status).toBe(event.type === 'fail' ? 'FAILED' : 'CANCELLED');
          expect(result.set.currentStep).toBeUndefined();
          expect(result.set.timestamps?.completedAt).toBe(now.toISOString());
        }
      }
    },
  );

  it('only moves forward one step at a time, apart from the repair edge', () => {
    for (const [from, targets] of Object.entries(STEP_TRANSITIONS)) {
      for (const to of targets as readonly Step[]) {
        const forward = STEPS.indexOf(to) === STEPS.indexOf(from as Step) + 1;
        expect(forward || (from === 'BUILDING' && to === 'AI_DEVELOPMENT')).toBe(true);
      }
    }
  });

  it('starts the job when it leaves the queue', () => {
    const result = transition(jobAt('PENDING', 'QUEUED'), { type: 'advance', to: 'FETCHING_DATA' }, rules);
    expect(result).toMatchObject({ ok: true, set: { status: 'IN_PROGRESS', currentStep: 'FETCHING_DATA' } });
    if (result.ok) expect(result.set.timestamps?.startedAt).toBe(now.toISOString());
    const estimated = transition(
      jobAt('PENDING', 'QUEUED'),
      { type: 'advance', to: 'FETCHING_DATA' },
      { ...rules, estimatedDurationMs: 60_000 },
    );
    if (estimated.ok) expect(estimated.set.timestamps?.estimatedCompletion).toBe('2026-01-01T00:01:00.000Z');
  });

  it('completes the job when it leaves DEPLOYING', () => {
    const result = transition(jobAt('IN_PROGRESS', 'DEPLOYING'), { type: 'advance', to: 'COMPLETED' }, rules);
    expect(result).toMatchObject({ ok: true, set: { status: 'COMPLETED', currentStep: 'COMPLETED' } });
  });

  it('bounds the repair rounds', () => {
    const repair: JobEvent = { type: 'advance', to: 'AI_DEVELOPMENT' };
    expect(transition(jobAt('IN_PROGRESS', 'BUILDING', 0), repair, rules)).toMatchObject({
      ok: true,
      set: { currentStep: 'AI_DEVELOPMENT', repairRounds: 1 },
    });
    expect(transition(jobAt('IN_PROGRESS', 'BUILDING', 1), repair, rules).ok).toBe(true);
    const third = transition(jobAt('IN_PROGRESS', 'BUILDING', 2), repair, rules);
    expect(third.ok).toBe(false);
    if (!third.ok) expect(third.error.message).toMatch(/repair round 3 of 2/);
    expect(transition(jobAt('IN_PROGRESS', 'BUILDING', 0), repair, { now, maxRepairRounds: 0 }).ok).toBe(
      false,
    );
  });

  it('derives progress from the step, rising along the pipeline', () => {
    const values = STEPS.map((s) => STEP_PROGRESS[s]);
    expect(values[0]).toBe(0);
    expect(values.at(-1)).toBe(100);
    expect([...values].sort((a, b) => a - b)).toEqual(values);
  });
});
