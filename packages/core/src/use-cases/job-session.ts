import {
  addUsage,
  type Job,
  type JobErrorEntry,
  type JobPatch,
  type LogEntry,
  type LogLevel,
  type StepUsage,
} from '../domain/job.js';
import type { Step, WorkStep } from '../domain/steps.js';
import { type JobEvent, transition } from '../domain/transition.js';
import { LeaseLostError, NotFoundError, PipelineError } from '../errors.js';
import { retry } from '../retry.js';
import type { PipelineDeps } from './deps.js';

/** A usage delta waiting for the next write, with the round it was spent in. */
interface PendingUsage {
  step: WorkStep;
  delta: Partial<StepUsage>;
  round: number;
}

/** Re-reads of the record after version conflicts (a cancel request racing a write), per write. */
const MAX_CONFLICT_REREADS = 5;

/**
 * One runner's handle on a job it holds the lease of. Writes are serialised (so the version
 * in hand is always the latest), log lines and usage are buffered and ride along with the
 * next write, and a conflict with another writer (a cancel request) is resolved by re-reading
 * and re-applying the change.
 */
export class JobSession {
  private queue: Promise<unknown> = Promise.resolve();
  private pendingLogs: LogEntry[] = [];
  private pendingUsage: PendingUsage[] = [];

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

  /** Buffers a usage delta of `step`, in the round the job is in now (its `repairRounds`). */
  usage(step: WorkStep, delta: Partial<StepUsage>): void {
    this.pendingUsage.push({ step, delta, round: this.job.repairRounds ?? 0 });
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
      const { retry: policy, random } = this.deps.settings;
      // Set after a transient failure: the next try first re-reads, in case the write landed.
      let unsure: Job | undefined;
      try {
        return await retry(
          async () => {
            if (unsure) {
              const before = unsure;
              await this.reload();
              unsure = undefined;
              if (
                this.job.version === before.version + 1 &&
                this.job.cancelRequested === before.cancelRequested
              )
                return this.job;
            }
            for (let conflicts = 0; ; conflicts++) {
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
                if (!PipelineError.isInstance(error)) throw error;
                if (error.code === 'VERSION_CONFLICT' && conflicts < MAX_CONFLICT_REREADS) {
                  await this.reload();
                  continue;
                }
                if (error.code !== 'VERSION_CONFLICT' && error.retryable) unsure = this.job;
                throw error;
              }
            }
          },
          { policy, random, sleep: (ms) => this.deps.ports.clock.sleep(ms) },
        );
      } catch (error) {
        // Keep what could not be written for the next write.
        this.pendingLogs = [...logs, ...this.pendingLogs];
        this.pendingUsage = [...usage, ...this.pendingUsage];
        throw error;
      }
    });
  }

  /** Applies a state-machine event (plus `extra` fields) in one conditional write. */
  move(event: JobEvent, extra: (job: Job) => JobPatch = () => ({})): Promise<Job> {
    return this.write((job) => {
      const result = transition(job, event, {
        now: this.deps.ports.clock.now(),
        maxRepairRounds: this.deps.settings.maxRepairRounds,
        estimatedDurationMs: this.deps.settings.estimatedDurationMs,
      });
      if (!result.ok) throw result.error;
      const patch = extra(job);
      return { ...patch, set: { ...patch.set, ...result.set } };
    });
  }

  /** Merges `data` into the step's partial checkpoint (and sets `set(job)`) in one write. */
  savePartial(step: WorkStep, data: Record<string, unknown>, set: (job: Job) => Partial<Job> = () => ({})) {
    return this.write((job) => {
      const partial = { ...job.checkpoints.partial, [step]: { ...job.checkpoints.partial?.[step], ...data } };
      return { set: { ...set(job), checkpoints: { ...job.checkpoints, partial } } };
    });
  }

  /** The record's entry for an error (redacted, capped). */
  errorEntry(job: Job, error: PipelineError): JobErrorEntry {
    return {
      at: this.deps.ports.clock.now().toISOString(),
      step: error.step ?? job.currentStep,
      code: error.code,
      message: this.deps.settings.redact(error.message).slice(0, 1000),
      retryable: error.retryable,
      attempt: job.attempt,
    };
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

  private withPending(job: Job, patch: JobPatch, logs: LogEntry[], usage: PendingUsage[]): JobPatch {
    if (logs.length === 0 && usage.length === 0) return patch;
    const set = { ...patch.set };
    if (usage.length > 0) {
      set.usage = usage.reduce((acc, u) => addUsage(acc, u.step, u.delta, u.round), set.usage ?? job.usage);
    }
    return { ...patch, set, appendLogs: [...logs, ...(patch.appendLogs ?? [])] };
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
