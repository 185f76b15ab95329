import {
  emptyJobUsage,
  isJobStatus,
  isStep,
  type Job,
  PermanentError,
  STEP_PROGRESS,
  type Step,
} from '@mvp-pipeline/core';
import { dropUndefined, type Item, itemSize, sameValue } from './item.js';

/** The fields of a Job kept on the record item, in the order the record lists them. */
export const RECORD_FIELDS = [
  'jobId',
  'userId',
  'productId',
  'businessName',
  'template',
  'status',
  'currentStep',
  'progress',
  'createdAt',
  'timestamps',
  'resources',
  'urls',
  'errors',
  'executionLogs',
  'version',
  'attempt',
  'lease',
  'repairRounds',
  'cancelRequested',
] as const satisfies readonly (keyof Job)[];

/**
 * Where a job's runner state (`checkpoints` and `usage`) is: one of the two state items in the
 * runner table (`sk = JOB#STATE#<slot>`), written for record version `version`.
 */
export interface StatePointer {
  slot: 0 | 1;
  version: number;
}

/** The runner-only part of a job. */
export type RunnerState = Pick<Job, 'checkpoints' | 'usage'>;

export const emptyRunnerState = (): RunnerState => ({ checkpoints: {}, usage: emptyJobUsage() });

/**
 * The record item of a job, keyed by `jobId` alone: the fields the status endpoint reads (the
 * seed's shape) as plain attributes, `userId` and `createdAt` top-level for the index, and where
 * the runner state is (`stateSlot`, `stateVersion`). The runner state itself is in the runner
 * table: an UpdateItem is billed for the whole item, and checkpoints and usage, which only runners
 * read, would double a finished job's record. Defaults are left out (no lease, no repair rounds,
 * no cancel request).
 */
export function recordItem(job: Job, state: StatePointer | undefined): Item {
  const item: Item = {};
  for (const field of RECORD_FIELDS) {
    if (field === 'lease' && !job.lease) continue;
    if (field === 'repairRounds' && job.repairRounds === 0) continue;
    if (field === 'cancelRequested' && !job.cancelRequested) continue;
    item[field] = job[field];
  }
  if (state) {
    item.stateSlot = state.slot;
    item.stateVersion = state.version;
  }
  return dropUndefined(item);
}

/** Where a record item says its runner state is. */
export function statePointerOf(record: Item): StatePointer | undefined {
  const { stateSlot, stateVersion } = record;
  return stateSlot === 0 || stateSlot === 1 ? { slot: stateSlot, version: Number(stateVersion) } : undefined;
}

/**
 * A job whose stored items cannot be read as a job: a record that points at missing state, state
 * that cannot be unpacked, a record that is not one. A direct read fails with it; a list skips
 * the job (with a warning) so the other jobs are still listed.
 */
export class DamagedJobError extends PermanentError {
  constructor(
    readonly jobId: string,
    message: string,
  ) {
    super(message);
  }
}

const isPlainObject = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);

/** What is wrong with an adopted record item, if anything: the fields a job cannot be read without. */
function recordProblem(record: Item): string | undefined {
  for (const field of ['jobId', 'userId', 'productId', 'createdAt'] as const) {
    if (typeof record[field] !== 'string' || !record[field]) return `${field} is not a non-empty string`;
  }
  if (!isJobStatus(record.status)) return 'status is not a job status';
  if (!isStep(record.currentStep)) return 'currentStep is not a step';
  if (!Number.isInteger(record.version) || (record.version as number) < 1) {
    return 'version is not a positive integer';
  }
  if (!isPlainObject(record.timestamps)) return 'timestamps is not a map';
  if (!Array.isArray(record.executionLogs)) return 'executionLogs is not a list';
  if (!Array.isArray(record.errors)) return 'errors is not a list';
  if (record.stateSlot !== undefined && record.stateSlot !== 0 && record.stateSlot !== 1) {
    return 'stateSlot is neither 0 nor 1';
  }
  if (record.stateSlot !== undefined && !Number.isInteger(record.stateVersion)) {
    return 'stateVersion is not an integer';
  }
  return undefined;
}

/** Throws `DamagedJobError` naming the first field an adopted record item read from the table lacks. */
export function checkRecord(record: Item): void {
  const problem = recordProblem(record);
  if (problem) {
    const jobId = String(record.jobId);
    throw new DamagedJobError(jobId, `Job ${jobId}: its record item is damaged: ${problem}`);
  }
}

/** The job in a record item, with its runner state from elsewhere. */
export function jobFromRecord(record: Item, runner: RunnerState): Job {
  const job = { checkpoints: runner.checkpoints, usage: runner.usage } as Record<string, unknown>;
  for (const field of RECORD_FIELDS) job[field] = record[field];
  job.lease = record.lease ?? null;
  job.repairRounds = record.repairRounds ?? 0;
  job.cancelRequested = record.cancelRequested ?? false;
  return job as unknown as Job;
}

/** The attribute changes from one record item to the next, as one UpdateItem's SET and REMOVE. */
export function recordChanges(before: Item, after: Item) {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  const removes: string[] = [];
  let n = 0;
  for (const attribute of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (attribute === 'version' || sameValue(before[attribute], after[attribute])) continue;
    const name = `#a${n}`;
    names[name] = attribute;
    if (attribute in after) {
      values[`:v${n}`] = after[attribute];
      sets.push(`${name} = :v${n}`);
    } else {
      removes.push(name);
    }
    n++;
  }
  return { names, values, sets, removes };
}

/**
 * A record FounderDash wrote itself, in its own shape: no `version` yet (and
 * maybe no template, attempt or top-level `createdAt`). Everything else the store writes has one.
 */
export const isUnadoptedRecord = (record: Item): boolean => record.version === undefined;

/**
 * The attributes that adopt a document-shaped record: the defaults of the fields it lacks, with
 * `version` 1. Refuses a record without the fields a job cannot run without.
 */
export function adoptionDefaults(record: Item, template: string, now: Date): Item {
  const jobId = String(record.jobId);
  const missing = ['userId', 'productId'].filter((f) => typeof record[f] !== 'string' || !record[f]);
  if (missing.length > 0) {
    throw new DamagedJobError(
      jobId,
      `Job ${jobId}: the record FounderDash wrote has no ${missing.join(', ')}`,
    );
  }
  const timestamps = (record.timestamps ?? {}) as Record<string, unknown>;
  const createdAt =
    typeof record.createdAt === 'string'
      ? record.createdAt
      : typeof timestamps.createdAt === 'string'
        ? timestamps.createdAt
        : now.toISOString();
  const currentStep: Step = isStep(record.currentStep) ? record.currentStep : 'QUEUED';
  const defaults: Item = {
    businessName: typeof record.businessName === 'string' ? record.businessName : '',
    template,
    status: isJobStatus(record.status) ? record.status : 'PENDING',
    currentStep,
    progress: STEP_PROGRESS[currentStep],
    createdAt,
    timestamps: { createdAt, updatedAt: createdAt, ...timestamps },
    resources: record.resources ?? {},
    urls: record.urls ?? {},
    errors: Array.isArray(record.errors) ? record.errors : [],
    executionLogs: Array.isArray(record.executionLogs) ? record.executionLogs : [],
    attempt: 0,
  };
  const set: Item = { version: 1 };
  for (const [name, value] of Object.entries(defaults)) {
    if (!sameValue(record[name], value)) set[name] = value;
  }
  return set;
}

/** The shortest a recent message gets when the record is over its budget. */
const SHORT_MESSAGE = 100;

export interface RecordBudget {
  logLimit: number;
  errorLimit: number;
  messageLength: number;
  recordBytes: number;
}

/** The record's copy of history entries: the newest few, messages at most `length` long. */
function recent<T extends { message: string }>(entries: readonly T[], max: number, length: number): T[] {
  return entries
    .slice(-max)
    .map((e) => (e.message.length > length ? { ...e, message: `${e.message.slice(0, length - 1)}…` } : e));
}

/**
 * The job with the record's copies of its log lines and errors capped, then cut further while
 * the record is over `recordBytes`: older lines first, then older errors, then long messages.
 */
export function fitRecord(budget: RecordBudget, job: Job, state: StatePointer | undefined): Job {
  let fitted: Job = {
    ...job,
    executionLogs: recent(job.executionLogs, budget.logLimit, budget.messageLength),
    errors: recent(job.errors, budget.errorLimit, budget.messageLength),
  };
  const over = () => itemSize(recordItem(fitted, state)) > budget.recordBytes;
  while (over() && fitted.executionLogs.length > 1) {
    fitted = { ...fitted, executionLogs: fitted.executionLogs.slice(1) };
  }
  while (over() && fitted.errors.length > 1) fitted = { ...fitted, errors: fitted.errors.slice(1) };
  if (over()) {
    fitted = {
      ...fitted,
      executionLogs: recent(fitted.executionLogs, 1, SHORT_MESSAGE),
      errors: recent(fitted.errors, 1, SHORT_MESSAGE),
    };
  }
  return fitted;
}
