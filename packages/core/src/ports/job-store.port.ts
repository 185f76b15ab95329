import type { Job, JobErrorEntry, JobPatch, Lease, LogEntry } from '../domain/job.js';

export type LeaseResult = { acquired: true; job: Job } | { acquired: false; job: Job; holder: Lease };

/**
 * Where job records live. Every write is conditional and bumps `version` by one, so two
 * writers never overwrite each other silently.
 *
 * Errors: NotFoundError for an unknown job id (except `get`, which returns undefined),
 * VersionConflictError, LeaseLostError, TransientError for the store's own hiccups (connection
 * refused, timeouts, 5xx, throttling: RateLimitedError where the store says how long to wait),
 * PermanentError for what trying again will not fix (no such table, access denied). Never a raw
 * SDK or `fs` error: the core treats an unknown error as permanent. A write that timed out may
 * have been applied: the conditional version makes the retry a VersionConflictError, never a
 * second write. An aborted `signal` rejects with its reason.
 */
export interface JobStore {
  readonly specificationVersion: 'v1';
  /** Stores a new record as given. A job id that exists already: VersionConflictError. */
  create(options: { job: Job; signal?: AbortSignal }): Promise<{ job: Job }>;
  /** The record, or `job: undefined` when there is none. */
  get(options: { jobId: string; signal?: AbortSignal }): Promise<{ job: Job | undefined }>;
  /**
   * One conditional write: applies `patch` (see `applyJobPatch`) if and only if the stored
   * version is `expectedVersion`; otherwise VersionConflictError carrying the stored version.
   * Appended log lines and errors also go to the full history (`readHistory`).
   */
  update(options: {
    jobId: string;
    expectedVersion: number;
    patch: JobPatch;
    signal?: AbortSignal;
  }): Promise<{ job: Job }>;
  /**
   * Takes the lease when nobody holds a live one at `now` (or `owner` already does), in one
   * conditional write. Of two concurrent takers exactly one gets `acquired: true`.
   */
  acquireLease(options: {
    jobId: string;
    owner: string;
    now: Date;
    ttlMs: number;
    signal?: AbortSignal;
  }): Promise<LeaseResult>;
  /** Extends `owner`'s lease to `now + ttlMs`. LeaseLostError when `owner` no longer holds it. */
  renewLease(options: {
    jobId: string;
    owner: string;
    now: Date;
    ttlMs: number;
    signal?: AbortSignal;
  }): Promise<{ job: Job }>;
  /** Clears the lease if `owner` holds it; does nothing otherwise. */
  releaseLease(options: {
    jobId: string;
    owner: string;
    signal?: AbortSignal;
  }): Promise<{ job: Job | undefined }>;
  /** A user's jobs, newest `createdAt` first, `limit` (default 20) at a time; `nextCursor` is opaque. */
  listByUser(options: {
    userId: string;
    limit?: number;
    cursor?: string;
    signal?: AbortSignal;
  }): Promise<{ jobs: Job[]; nextCursor?: string }>;
  /**
   * Jobs a worker should run, oldest first: PENDING ones, IN_PROGRESS ones with no live lease
   * at `now` (their runner died), and ended ones whose notification was not sent.
   */
  listRunnable(options: { now: Date; limit?: number; signal?: AbortSignal }): Promise<{ jobs: Job[] }>;
  /**
   * Every log line and error of a job, oldest first (the record keeps only the latest). A store
   * that finds damaged history entries (a line cut short by a crash) skips them and says how many
   * in `skippedLines`; the rest of the history is still returned.
   */
  readHistory(options: {
    jobId: string;
    signal?: AbortSignal;
  }): Promise<{ logs: LogEntry[]; errors: JobErrorEntry[]; skippedLines?: number }>;
}
