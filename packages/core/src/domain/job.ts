import type { ErrorCode } from '../errors.js';
import type { DatabaseResource } from '../ports/database-provisioner.port.js';
import type { Delivery, JourneyReport } from './delivery.js';
import type { ProductSpec } from './spec.js';
import { type JobStatus, STEP_PROGRESS, type Step, type WorkStep } from './steps.js';

export type LogLevel = 'info' | 'warn' | 'error';

/** One line of a job's execution log, as the web app shows it. */
export interface LogEntry {
  at: string;
  step: Step;
  level: LogLevel;
  message: string;
}

/** One failure seen while running a job (retried ones included). */
export interface JobErrorEntry {
  at: string;
  step: Step;
  code: ErrorCode;
  message: string;
  retryable: boolean;
  attempt: number;
}

/** A repository a job owns. */
export interface RepoRef {
  /** The repository's name, e.g. `eventhub-mvp`. */
  name: string;
  /** `owner/name` where the host has owners; the name otherwise. */
  fullName: string;
  /** Where a person opens it (web page, or a local path). */
  url: string;
  /** Where git clones it from. */
  cloneUrl: string;
  branch: string;
}

export interface Lease {
  owner: string;
  /** ISO-8601 UTC; a lease is live while `now < expiresAt`. */
  expiresAt: string;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheWriteTokens: number;
  cacheReadTokens: number;
  costUsd: number;
}

export interface StepUsage extends TokenUsage {
  seconds: number;
}

/**
 * The AI usage of one step in one round: round 0 is the first development, round n the n-th
 * repair round (the job's `repairRounds` when the step ran). Tokens and cost only.
 */
export interface RoundUsage extends TokenUsage {
  round: number;
  step: WorkStep;
}

export interface JobUsage extends StepUsage {
  byStep: Partial<Record<WorkStep, StepUsage>>;
  /**
   * AI usage per step and round, one entry per pair that reported tokens or cost (a few entries
   * a job). Records written before it lack it; steps that only took time have no entry.
   */
  byRound?: RoundUsage[];
}

/** The outputs of each finished step, written in the same write that moves the job past it. */
export interface Checkpoints {
  /**
   * The validated spec the job runs on (at most MAX_CHECKPOINTED_SPEC_BYTES as JSON); every later
   * step reads it from here, never from the source. Records written before specs were kept lack it.
   */
  FETCHING_DATA?: { specHash: string; businessName: string; spec?: ProductSpec };
  CREATING_REPO?: { repo: RepoRef; commit: string; template: string };
  AI_DEVELOPMENT?: {
    commit: string;
    generator: string;
    summary: string;
    filesChanged: number;
    /** What the commit delivers, per key feature (records written before it lack it). */
    delivery?: Delivery;
  };
  BUILDING?: {
    commit: string;
    outputDir: string;
    checks: string[];
    /** The journey check of a server app (templates that declare `start`). */
    journeys?: JourneyReport;
  };
  DEPLOYING?: {
    deploymentId: string;
    commit: string;
    stagingUrl: string;
    productionUrl: string;
    /** A server app's live journeys: the member's walk on staging, the read-only look at production. */
    journeys?: { staging: JourneyReport; production: JourneyReport };
  };
  /** What a step saved before it finished (e.g. the repo that now exists, a deployment id to poll). */
  partial?: Partial<Record<WorkStep, Record<string, unknown>>>;
  /** The build errors the next AI_DEVELOPMENT round must fix. */
  repair?: { round: number; buildOutput: string; commit: string; journeys?: JourneyReport };
  /** Terminal statuses whose notification has been sent (or given up on after a permanent error). */
  notified?: JobStatus[];
}

export interface JobTimestamps {
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  estimatedCompletion?: string;
  completedAt?: string;
}

export interface JobResources {
  batchJobId?: string;
  /** The job's code repository, whatever hosts it (`provider`: `github`, `local-git`, ...). */
  repository?: { provider: string; name: string; url: string };
  /** The job's current deployment, whatever hosts it (`provider`: `vercel`, `local-static`, ...). */
  deployment?: { provider: string; id: string; url: string };
  /** Kept for FounderDash, which reads it: the repository when GitHub hosts it (set for every host). */
  githubRepo?: { name: string; url: string; branch: string };
  /** Kept for FounderDash, which reads it: set by the Vercel deployer only. */
  vercel?: { projectId: string; deploymentId: string };
  /**
   * The job's databases that exist (ids and places, never a password), written when the job
   * fails or is cancelled, so an operator sees what `mvp cleanup` would remove.
   */
  databases?: DatabaseResource[];
  /** What `mvp cleanup` removed (one line each), and when. */
  cleanedUp?: { at: string; removed: string[] };
}

export interface JobUrls {
  codeRepository?: string;
  staging?: string;
  production?: string;
}

/**
 * The job record. It keeps the shape FounderDash's status endpoint reads and adds what
 * durability needs (version, attempt, lease, checkpoints, usage). `userId` and `createdAt`
 * are top-level so a store can index them.
 */
export interface Job {
  jobId: string;
  userId: string;
  productId: string;
  businessName: string;
  /** The template the job starts from. */
  template: string;
  status: JobStatus;
  currentStep: Step;
  progress: number;
  createdAt: string;
  timestamps: JobTimestamps;
  resources: JobResources;
  urls: JobUrls;
  /** The latest errors (the store keeps the full history, see JobStore.readHistory). */
  errors: JobErrorEntry[];
  /** The latest log lines (the store keeps the full history, see JobStore.readHistory). */
  executionLogs: LogEntry[];
  version: number;
  attempt: number;
  lease: Lease | null;
  checkpoints: Checkpoints;
  usage: JobUsage;
  repairRounds: number;
  cancelRequested: boolean;
}

/** Fields a patch may replace. Identity fields and `version` are not among them. */
export type MutableJobField =
  | 'businessName'
  | 'status'
  | 'currentStep'
  | 'timestamps'
  | 'resources'
  | 'urls'
  | 'attempt'
  | 'lease'
  | 'checkpoints'
  | 'usage'
  | 'repairRounds'
  | 'cancelRequested';

/** A change to a job: top-level fields replaced, log lines and errors appended. */
export interface JobPatch {
  set?: Partial<Pick<Job, MutableJobField>>;
  appendLogs?: readonly LogEntry[];
  appendErrors?: readonly JobErrorEntry[];
}

/** How many log lines and errors the record itself keeps; the full history lives beside it. */
export const RECENT_LOG_LIMIT = 20;
export const RECENT_ERROR_LIMIT = 10;

export const emptyTokenUsage = (): TokenUsage => ({
  inputTokens: 0,
  outputTokens: 0,
  cacheWriteTokens: 0,
  cacheReadTokens: 0,
  costUsd: 0,
});

/** A job's usage before any work: no tokens, no cost, no seconds. */
export const emptyJobUsage = (): JobUsage => ({ ...emptyTokenUsage(), seconds: 0, byStep: {} });

export interface NewJobInput {
  jobId: string;
  userId: string;
  productId: string;
  businessName: string;
  template: string;
  now: Date;
}

export function createJobRecord(input: NewJobInput): Job {
  const at = input.now.toISOString();
  return {
    jobId: input.jobId,
    userId: input.userId,
    productId: input.productId,
    businessName: input.businessName,
    template: input.template,
    status: 'PENDING',
    currentStep: 'QUEUED',
    progress: STEP_PROGRESS.QUEUED,
    createdAt: at,
    timestamps: { createdAt: at, updatedAt: at },
    resources: {},
    urls: {},
    errors: [],
    executionLogs: [],
    version: 1,
    attempt: 0,
    lease: null,
    checkpoints: {},
    usage: emptyJobUsage(),
    repairRounds: 0,
    cancelRequested: false,
  };
}

/**
 * The record after a patch: fields replaced, history appended and capped, `version` + 1,
 * `progress` derived from the step. Stores call this so every store applies a patch alike.
 */
export function applyJobPatch(job: Job, patch: JobPatch, now: Date): Job {
  const set = patch.set ?? {};
  const next: Job = { ...job, ...set };
  next.timestamps = { ...next.timestamps, updatedAt: now.toISOString() };
  next.progress = STEP_PROGRESS[next.currentStep];
  next.version = job.version + 1;
  if (patch.appendLogs?.length)
    next.executionLogs = [...job.executionLogs, ...patch.appendLogs].slice(-RECENT_LOG_LIMIT);
  if (patch.appendErrors?.length)
    next.errors = [...job.errors, ...patch.appendErrors].slice(-RECENT_ERROR_LIMIT);
  return next;
}

/** Whether a lease is held by someone at `now`. */
export function isLeaseLive(lease: Lease | null, now: Date): lease is Lease {
  return lease !== null && Date.parse(lease.expiresAt) > now.getTime();
}

const TOKEN_FIELDS = [
  'inputTokens',
  'outputTokens',
  'cacheWriteTokens',
  'cacheReadTokens',
  'costUsd',
] as const satisfies readonly (keyof TokenUsage)[];

/**
 * Adds a usage delta to the job's totals, to the step's and, when it carries tokens or cost, to
 * the step's entry for `round` (the job's `repairRounds` when the step ran; 0 before any repair).
 */
export function addUsage(usage: JobUsage, step: WorkStep, delta: Partial<StepUsage>, round = 0): JobUsage {
  const addTokens = <T extends TokenUsage>(base: T): T => ({
    ...base,
    inputTokens: base.inputTokens + (delta.inputTokens ?? 0),
    outputTokens: base.outputTokens + (delta.outputTokens ?? 0),
    cacheWriteTokens: base.cacheWriteTokens + (delta.cacheWriteTokens ?? 0),
    cacheReadTokens: base.cacheReadTokens + (delta.cacheReadTokens ?? 0),
    costUsd: Math.round((base.costUsd + (delta.costUsd ?? 0)) * 1e6) / 1e6,
  });
  const add = <T extends StepUsage>(base: T): T => ({
    ...addTokens(base),
    seconds: Math.round((base.seconds + (delta.seconds ?? 0)) * 1000) / 1000,
  });
  const stepBase = usage.byStep[step] ?? { ...emptyTokenUsage(), seconds: 0 };
  const next: JobUsage = { ...add(usage), byStep: { ...usage.byStep, [step]: add(stepBase) } };
  if (!TOKEN_FIELDS.some((field) => (delta[field] ?? 0) > 0)) return next;
  const rounds = usage.byRound ?? [];
  const at = rounds.findIndex((r) => r.round === round && r.step === step);
  const entry = addTokens(at >= 0 ? rounds[at]! : { round, step, ...emptyTokenUsage() });
  next.byRound = at >= 0 ? rounds.map((r, i) => (i === at ? entry : r)) : [...rounds, entry];
  return next;
}

/** Whether `owner` may take the lease at `now`: nobody holds a live one, or `owner` does. */
export function canTakeLease(job: Job, owner: string, now: Date): boolean {
  return !isLeaseLive(job.lease, now) || job.lease.owner === owner;
}

/**
 * Whether a worker should pick the job up at `now`: queued, orphaned (in progress with no live
 * lease), or ended with its notification unsent.
 */
export function isRunnable(job: Job, now: Date): boolean {
  if (job.status === 'PENDING') return !isLeaseLive(job.lease, now);
  if (job.status === 'IN_PROGRESS') return !isLeaseLive(job.lease, now);
  return !job.checkpoints.notified?.includes(job.status) && !isLeaseLive(job.lease, now);
}

/** Newest first by createdAt, then by id, the order of JobStore.listByUser. */
export function compareNewestFirst(
  a: Pick<Job, 'createdAt' | 'jobId'>,
  b: Pick<Job, 'createdAt' | 'jobId'>,
): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
  return a.jobId < b.jobId ? 1 : a.jobId > b.jobId ? -1 : 0;
}
