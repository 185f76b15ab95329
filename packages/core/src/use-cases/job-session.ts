import {
  addUsage,
  type Job,
  type JobPatch,
  type LogEntry,
  type LogLevel,
  type StepUsage,
} from '../domain/job.js';
import type { Step, WorkStep } from '../domain/steps.js';
import { LeaseLostError, NotFoundError, PipelineError } from '../errors.js';
import { backoffDelay } from '../retry.js';
import type { PipelineDeps } from './deps.js';

/** Re-tries of one write after a version conflict or a transient store error. */
const MAX_WRITE_RETRIES = 5;

/**
 * One runner's handle on a job it holds the lease of. Writes are serialised (so the version
 * in hand is always the latest), log lines and usage are buffered and ride along with the
 * next write, and a conflict with another writer (a cancel request) is resolved by re-reading
 * and re-applying the change.
 */
export class JobSession {
  private queue: Promise<unknown> = Promise.resolve();
  private pendingLogs: LogEntry[] = [];
  private pendingUsage: Array<{ step: WorkStep; delta: Partial<StepUsage> }> = [];

  constructor(
    private readonly deps: PipelineDeps,
    public job: Job,
    readonly owner: string,
    /** Called with every fresh copy of the record (cancel requests arrive this way). */
    private readonly onRecord: (job: Job) => void,
  ) {}

  get jobId(): string {
    return this.job.jobId;
  }

  /** Buffers a log line (redacted) and mirrors it to the structured log. */
  log(step: Step, message: string, level: LogLevel = 'info'): void {
    const { redact } = this.deps.settings;
    const clean = redact(message).slice(0, 500);
    this.pendingLogs.push({ at: this.deps.ports.clock.now().toISOString(), step, level, message: clean });
    this.deps.ports.logger[level](clean, { jobId: this.jobId, step });
  }

  usage(step: WorkStep, delta: Partial<StepUsage>): void {
    this.pendingUsage.push({ step, delta });
  }

  get hasPending(): boolean {
    return this.pendingLogs.length > 0 || this.pendingUsage.length > 0;
  }

  /** Writes pending log lines and usage, if any. */
  flush(): Promise<Job> {
    return this.write(() => ({}));
  }

  /**
   * One conditional write of `makePatch(latest record)` plus whatever is pending. On a version
   * conflict the record is re-read: a lost lease stops the runner, anything else is re-applied.
   * A transient store error is retried with backoff; a write that landed anyway is not repeated
   * (only this runner, holding the lease, and a cancel request write the record).
   */
  write(makePatch: (job: Job) => JobPatch): Promise<Job> {
    return this.enqueue(async () => {
      const logs = this.pendingLogs;
      const usage = this.pendingUsage;
      this.pendingLogs = [];
      this.pendingUsage = [];
      try {
        for (let attempt = 0; ; attempt++) {
          const patch = this.withPending(this.job, makePatch(this.job), logs, usage);
          try {
            const { job } = await this.deps.ports.store.update({
              jobId: this.jobId,
              expectedVersion: this.job.version,
              patch,
            });
            this.job = job;
            this.onRecord(job);
            return job;
          } catch (error) {
            if (!PipelineError.isInstance(error) || attempt >= MAX_WRITE_RETRIES) throw error;
            if (error.code === 'VERSION_CONFLICT') {
              await this.reload();
              continue;
            }
            if (!error.retryable) throw error;
            // A store hiccup: wait, re-read, and write again unless the write landed after all.
            const { retry, random } = this.deps.settings;
            await this.deps.ports.clock.sleep(backoffDelay(retry, attempt + 1, random, error.retryAfterMs));
            const before = this.job;
            const landed = await this.reload().then(
              () =>
                this.job.version === before.version + 1 &&
                this.job.cancelRequested === before.cancelRequested,
              (reloadError) => {
                if (PipelineError.isInstance(reloadError) && reloadError.retryable) return false;
                throw reloadError;
              },
            );
            if (landed) return this.job;
          }
        }
      } catch (error) {
        // Keep what could not be written for the next write.
        this.pendingLogs = [...logs, ...this.pendingLogs];
        this.pendingUsage = [...usage, ...this.pendingUsage];
        throw error;
      }
    });
  }

  renewLease(): Promise<Job> {
    return this.enqueue(async () => {
      const { job } = await this.deps.ports.store.renewLease({
        jobId: this.jobId,
        owner: this.owner,
        now: this.deps.ports.clock.now(),
        ttlMs: this.deps.settings.leaseTtlMs,
      });
      this.job = job;
      this.onRecord(job);
      return job;
    });
  }

  releaseLease(): Promise<void> {
    return this.enqueue(async () => {
      const { job } = await this.deps.ports.store.releaseLease({ jobId: this.jobId, owner: this.owner });
      if (job) this.job = job;
    });
  }

  /** Waits for queued writes to settle. */
  async idle(): Promise<void> {
    await this.queue;
  }

  private async reload(): Promise<void> {
    const { job } = await this.deps.ports.store.get({ jobId: this.jobId });
    if (!job) throw new NotFoundError(`Job ${this.jobId} disappeared while it ran`);
    if (job.lease?.owner !== this.owner) {
      throw new LeaseLostError(`Runner ${this.owner} lost the lease on job ${this.jobId}`, {
        step: job.currentStep,
      });
    }
    this.job = job;
    this.onRecord(job);
  }

  private withPending(
    job: Job,
    patch: JobPatch,
    logs: LogEntry[],
    usage: Array<{ step: WorkStep; delta: Partial<StepUsage> }>,
  ): JobPatch {
    if (logs.length === 0 && usage.length === 0) return patch;
    const set = { ...patch.set };
    if (usage.length > 0) {
      set.usage = usage.reduce((acc, u) => addUsage(acc, u.step, u.delta), set.usage ?? job.usage);
    }
    return { ...patch, set, appendLogs: [...logs, ...(patch.appendLogs ?? [])] };
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
