/** Where a job is in the pipeline. The order is the pipeline's order. */
export const STEPS = [
  'QUEUED',
  'FETCHING_DATA',
  'CREATING_REPO',
  'AI_DEVELOPMENT',
  'BUILDING',
  'DEPLOYING',
  'COMPLETED',
] as const;
export type Step = (typeof STEPS)[number];

/** The steps that do work (everything between QUEUED and COMPLETED). */
export const WORK_STEPS = [
  'FETCHING_DATA',
  'CREATING_REPO',
  'AI_DEVELOPMENT',
  'BUILDING',
  'DEPLOYING',
] as const;
export type WorkStep = (typeof WORK_STEPS)[number];

export const JOB_STATUSES = ['PENDING', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const isStep = (value: unknown): value is Step => STEPS.includes(value as Step);
export const isWorkStep = (value: unknown): value is WorkStep => WORK_STEPS.includes(value as WorkStep);
export const isJobStatus = (value: unknown): value is JobStatus => JOB_STATUSES.includes(value as JobStatus);

/** A terminal job never changes status again. */
export const isTerminalStatus = (status: JobStatus): boolean =>
  status === 'COMPLETED' || status === 'FAILED' || status === 'CANCELLED';

/**
 * The legal moves of `currentStep`: forward one step at a time, plus the repair edge
 * BUILDING → AI_DEVELOPMENT (bounded by `maxRepairRounds`). Failing and cancelling are
 * allowed from every non-terminal status and keep `currentStep` where the job stopped.
 */
export const STEP_TRANSITIONS = {
  QUEUED: ['FETCHING_DATA'],
  FETCHING_DATA: ['CREATING_REPO'],
  CREATING_REPO: ['AI_DEVELOPMENT'],
  AI_DEVELOPMENT: ['BUILDING'],
  BUILDING: ['DEPLOYING', 'AI_DEVELOPMENT'],
  DEPLOYING: ['COMPLETED'],
  COMPLETED: [],
} as const satisfies Record<Step, readonly Step[]>;

/** Progress shown to the founder, derived from the step (never set by hand). */
export const STEP_PROGRESS = {
  QUEUED: 0,
  FETCHING_DATA: 10,
  CREATING_REPO: 25,
  AI_DEVELOPMENT: 45,
  BUILDING: 70,
  DEPLOYING: 85,
  COMPLETED: 100,
} as const satisfies Record<Step, number>;

export const STEP_LABELS = {
  QUEUED: 'Queued',
  FETCHING_DATA: 'Reading the product spec',
  CREATING_REPO: 'Creating the repository',
  AI_DEVELOPMENT: 'Developing the app',
  BUILDING: 'Building and checking',
  DEPLOYING: 'Deploying',
  COMPLETED: 'Live',
} as const satisfies Record<Step, string>;

export function nextStep(step: Step): Step | undefined {
  return STEPS[STEPS.indexOf(step) + 1];
}

export function assertNever(value: never, what = 'value'): never {
  throw new Error(`Unhandled ${what}: ${String(value)}`);
}
