import {
  applyJobPatch,
  canTakeLease,
  compareNewestFirst,
  isRunnable,
  type Job,
  type JobErrorEntry,
  type JobStore,
  LeaseLostError,
  type LogEntry,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '@mvp-pipeline/core';

/** Where a record store keeps records: a Map, a folder of files. */
export interface RecordBackend {
  read(jobId: string): Promise<Job | undefined>;
  /**
   * Writes `next` if and only if the stored version is `expectedVersion` (undefined: no record
   * may exist), appending `history` to the job's full history in the same step. Atomic with
   * respect to every other swap, in this process and others. False when the version differed.
   */
  swap(
    jobId: string,
    expectedVersion: number | undefined,
    next: Job,
    history: { logs: readonly LogEntry[]; errors: readonly JobErrorEntry[] },
  ): Promise<boolean>;
  list(): Promise<Job[]>;
  readHistory(jobId: string): Promise<{ logs: LogEntry[]; errors: JobErrorEntry[]; skippedLines?: number }>;
}

const LEASE_RETRIES = 20;

/**
 * The JobStore semantics, once, on top of a compare-and-swap backend. The memory store and the
 * file store differ only in their backend.
 */
export function createRecordJobStore(backend: RecordBackend, clock: () => Date = () => new Date()): JobStore {
  const mustRead = async (jobId: string): Promise<Job> => {
    const job = await backend.read(jobId);
    if (!job) throw new NotFoundError(`No job with id ${jobId}`);
    return job;
  };

  /** Re-reads and re-applies `change` until the swap lands (lease operations). */
  const retrySwap = async (jobId: string, change: (job: Job) => Job | undefined): Promise<Job> => {
    for (let i = 0; i < LEASE_RETRIES; i++) {
      const job = await mustRead(jobId);
      const next = change(job);
      if (!next) return job;
      if (await backend.swap(jobId, job.version, next, { logs: [], errors: [] })) return next;
    }
    throw new VersionConflictError(jobId, -1, undefined);
  };

  return honouringSignals({
    specificationVersion: 'v1',

    async create({ job }) {
      if (!(await backend.swap(job.jobId, undefined, job, { logs: job.executionLogs, errors: job.errors }))) {
        throw new VersionConflictError(job.jobId, 0, (await backend.read(job.jobId))?.version);
      }
      return { job: structuredClone(job) };
    },

    async get({ jobId }) {
      return { job: await backend.read(jobId) };
    },

    async update({ jobId, expectedVersion, patch }) {
      const job = await mustRead(jobId);
      if (job.version !== expectedVersion)
        throw new VersionConflictError(jobId, expectedVersion, job.version);
      const next = applyJobPatch(job, patch, clock());
      const history = { logs: patch.appendLogs ?? [], errors: patch.appendErrors ?? [] };
      if (!(await backend.swap(jobId, expectedVersion, next, history))) {
        throw new VersionConflictError(jobId, expectedVersion, (await backend.read(jobId))?.version);
      }
      return { job: next };
    },

    async acquireLease({ jobId, owner, now, ttlMs }) {
      let holder: Job['lease'] = null;
      const job = await retrySwap(jobId, (current) => {
        if (!canTakeLease(current, owner, now)) {
          holder = current.lease;
          return undefined;
        }
        holder = null;
        const lease = { owner, expiresAt: new Date(now.getTime() + ttlMs).toISOString() };
        return applyJobPatch(current, { set: { lease } }, clock());
      });
      return holder ? { acquired: false, job, holder } : { acquired: true, job };
    },

    async renewLease({ jobId, owner, now, ttlMs }) {
      const job = await retrySwap(jobId, (current) => {
        if (current.lease?.owner !== owner) {
          throw new LeaseLostError(`Runner ${owner} no longer holds the lease on job ${jobId}`, {
            step: current.currentStep,
          });
        }
        const lease = { owner, expiresAt: new Date(now.getTime() + ttlMs).toISOString() };
        return applyJobPatch(current, { set: { lease } }, clock());
      });
      return { job };
    },

    async releaseLease({ jobId, owner }) {
      if (!(await backend.read(jobId))) return { job: undefined };
      const job = await retrySwap(jobId, (current) =>
        current.lease?.owner === owner
          ? applyJobPatch(current, { set: { lease: null } }, clock())
          : undefined,
      );
      return { job };
    },

    async listByUser({ userId, limit = 20, cursor }) {
      const after = cursor ? decodeCursor(cursor) : undefined;
      const jobs = (await backend.list())
        .filter((job) => job.userId === userId)
        .sort(compareNewestFirst)
        .filter((job) => !after || compareNewestFirst(job, after) > 0);
      const page = jobs.slice(0, limit);
      const last = page.at(-1);
      return jobs.length > limit && last ? { jobs: page, nextCursor: encodeCursor(last) } : { jobs: page };
    },

    async listRunnable({ now, limit = 50 }) {
      const jobs = (await backend.list())
        .filter((job) => isRunnable(job, now))
        .sort((a, b) => -compareNewestFirst(a, b));
      return { jobs: jobs.slice(0, limit) };
    },

    async readHistory({ jobId }) {
      await mustRead(jobId);
      return backend.readHistory(jobId);
    },
  });
}

function encodeCursor(job: Pick<Job, 'createdAt' | 'jobId'>): string {
  return Buffer.from(JSON.stringify([job.createdAt, job.jobId])).toString('base64url');
}

function decodeCursor(cursor: string): Pick<Job, 'createdAt' | 'jobId'> {
  try {
    const [createdAt, jobId] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof createdAt === 'string' && typeof jobId === 'string') return { createdAt, jobId };
  } catch {
    // fall through to the validation error
  }
  throw new ValidationError('cursor', [{ path: 'cursor', message: 'is not a cursor this store handed out' }]);
}

/**
 * Every call honours its signal first: an aborted one rejects with its reason before anything is
 * read or written (the operations themselves are too short to stop half-way).
 */
function honouringSignals(store: JobStore): JobStore {
  const wrapped: Record<string, unknown> = { specificationVersion: store.specificationVersion };
  for (const [name, method] of Object.entries(store)) {
    if (typeof method !== 'function') continue;
    wrapped[name] = async (options?: { signal?: AbortSignal }) => {
      options?.signal?.throwIfAborted();
      return (method as (o: unknown) => Promise<unknown>).call(store, options);
    };
  }
  return wrapped as unknown as JobStore;
}
