import type { Job } from '../domain/job.js';
import { isTerminalStatus, nextStep, STEP_LABELS, type Step, type WorkStep } from '../domain/steps.js';
import type { JobEvent } from '../domain/transition.js';
import {
  BuildFailedError,
  CancelledError,
  DeadlineExceededError,
  InterruptedError,
  NotFoundError,
  PermanentError,
  type PipelineError,
  RateLimitedError,
  toPipelineError,
} from '../errors.js';
import type { ProgressReporter } from '../ports/code-generator.port.js';
import { formatMs, retry } from '../retry.js';
import { databasesLeftBy } from './cleanup-job.js';
import type { PipelineDeps } from './deps.js';
import { JobSession } from './job-session.js';
import { notifyOnce } from './notify.js';
import { compareSpec } from './spec-check.js';
import {
  createStepContext,
  STEP_HANDLERS,
  type StepRepair,
  type StepResult,
  WorkspaceHolder,
} from './steps/index.js';

export interface RunJobOptions {
  jobId: string;
  /** Aborting it (SIGTERM) interrupts the job: checkpoint, release the lease, leave it resumable. */
  signal?: AbortSignal;
  /** Who runs the job (lease owner); a fresh id when omitted. */
  runnerId?: string;
  /** The platform's ids for this run, recorded on the job. */
  batch?: { batchJobId?: string; attempt?: number };
}

/**
 * How a run ended:
 * COMPLETED / FAILED / CANCELLED — the job reached that terminal status in this run;
 * INTERRUPTED — the runner was told to stop; the job is resumable by the next runner;
 * LEASE_HELD — another runner holds the job; nothing was changed;
 * LEASE_LOST — another runner took the job over mid-run; this one stopped writing;
 * ALREADY_ENDED — the job had ended before (its notification was sent if it was missing).
 */
export type RunOutcome =
  | 'COMPLETED'
  | 'FAILED'
  | 'CANCELLED'
  | 'INTERRUPTED'
  | 'LEASE_HELD'
  | 'LEASE_LOST'
  | 'ALREADY_ENDED';

export interface RunJobResult {
  outcome: RunOutcome;
  job: Job;
  /** The error that ended the run, for FAILED / INTERRUPTED / LEASE_LOST. */
  error?: PipelineError;
}

/**
 * Runs a job to a terminal status, or as far as it can: takes the lease, resumes at the first
 * unfinished step, retries transient failures with backoff, fails fast on permanent ones, and
 * always ends with a terminal status or a released lease. Only the orchestration lives here:
 * the work of each step is a handler in `steps/`, a function of the record's checkpoints.
 */
export async function runJob(deps: PipelineDeps, options: RunJobOptions): Promise<RunJobResult> {
  const { store, clock, ids, logger } = deps.ports;
  const owner = options.runnerId ?? ids.runnerId();
  const { job } = await store.get({ jobId: options.jobId });
  if (!job) throw new NotFoundError(`No job with id ${options.jobId}`);
  if (isTerminalStatus(job.status) && job.checkpoints.notified?.includes(job.status)) {
    return { outcome: 'ALREADY_ENDED', job };
  }
  const lease = await store.acquireLease({
    jobId: job.jobId,
    owner,
    now: clock.now(),
    ttlMs: deps.settings.leaseTtlMs,
  });
  if (!lease.acquired) {
    logger.info('Another runner holds the job; leaving it alone', {
      jobId: job.jobId,
      holder: lease.holder.owner,
    });
    return { outcome: 'LEASE_HELD', job: lease.job };
  }
  return new JobRun(deps, lease.job, owner, options).execute();
}

/** One run of one job: the lease, the attempt, the step loop, the end. */
class JobRun {
  private readonly session: JobSession;
  /** Aborted to stop the run: interrupt (SIGTERM), cancel request, or lost lease. */
  private readonly stop = new AbortController();
  private readonly machine: WorkspaceHolder;

  constructor(
    private readonly deps: PipelineDeps,
    job: Job,
    owner: string,
    private readonly options: RunJobOptions,
  ) {
    this.machine = new WorkspaceHolder(deps, job.jobId);
    this.session = new JobSession(deps, job, owner, (record) => {
      if (record.cancelRequested && !this.stop.signal.aborted) {
        this.stop.abort(
          new CancelledError(`Job ${record.jobId} was cancelled on request`, { step: record.currentStep }),
        );
      }
    });
  }

  private get job(): Job {
    return this.session.job;
  }

  async execute(): Promise<RunJobResult> {
    const external = this.options.signal;
    const onInterrupt = () =>
      this.stop.abort(
        new InterruptedError(`Runner interrupted during ${this.job.currentStep}; the job will resume there`, {
          step: this.job.currentStep,
          cause: external?.reason,
        }),
      );
    if (external?.aborted) onInterrupt();
    external?.addEventListener('abort', onInterrupt, { once: true });
    const { leaseTtlMs, flushIntervalMs } = this.deps.settings;
    const renewal = setInterval(() => void this.renew(), Math.max(50, Math.floor(leaseTtlMs / 3)));
    const flusher = setInterval(() => {
      if (this.session.hasPending) this.session.flush().catch((error) => this.onBackgroundError(error));
    }, flushIntervalMs);
    renewal.unref?.();
    flusher.unref?.();
    let result: RunJobResult;
    try {
      result = await this.work();
    } finally {
      clearInterval(renewal);
      clearInterval(flusher);
      external?.removeEventListener('abort', onInterrupt);
      await this.cleanUp();
    }
    // The record as this run left it (the lease released).
    return { ...result, job: this.job };
  }

  private async work(): Promise<RunJobResult> {
    try {
      if (isTerminalStatus(this.job.status)) {
        await notifyOnce(this.deps, this.session);
        return { outcome: 'ALREADY_ENDED', job: this.job };
      }
      if (this.job.cancelRequested)
        throw new CancelledError('Job was cancelled on request', { step: this.job.currentStep });
      await this.beginAttempt();
      while (this.job.currentStep !== 'COMPLETED') {
        this.throwIfStopped();
        await this.runStep(this.job.currentStep);
      }
      await notifyOnce(this.deps, this.session);
      return { outcome: 'COMPLETED', job: this.job };
    } catch (error) {
      return await this.end(toPipelineError(error, this.job.currentStep));
    }
  }

  private async beginAttempt(): Promise<void> {
    const { batch } = this.options;
    const resuming = this.job.status === 'IN_PROGRESS';
    await this.session.write((job) => {
      const attempt = job.attempt + 1;
      const where = resuming ? ` — resuming at ${STEP_LABELS[job.currentStep].toLowerCase()}` : '';
      const platform = batch?.batchJobId
        ? ` (batch job ${batch.batchJobId}, attempt ${batch.attempt ?? '?'})`
        : '';
      return {
        set: {
          attempt,
          ...(batch?.batchJobId ? { resources: { ...job.resources, batchJobId: batch.batchJobId } } : {}),
        },
        appendLogs: [
          {
            at: this.deps.ports.clock.now().toISOString(),
            step: job.currentStep,
            level: 'info' as const,
            message: `Attempt ${attempt} started${platform}${where}`,
          },
        ],
      };
    });
    if (this.job.attempt > this.deps.settings.maxAttempts) {
      throw new PermanentError(`Gave up after ${this.deps.settings.maxAttempts} attempts`, {
        step: this.job.currentStep,
      });
    }
    if (resuming) await compareSpec(this.deps, this.session, this.stop.signal);
  }

  /**
   * Does the work of the current step under the retry policy. A step's outputs and the move past
   * it are one write, so a resumed job's current step is always one whose work is unfinished.
   */
  private async runStep(step: Step): Promise<void> {
    if (step === 'QUEUED') {
      await this.session.move({ type: 'advance', to: 'FETCHING_DATA' });
      return;
    }
    if (step === 'COMPLETED') return;
    const started = this.deps.ports.clock.now().getTime();
    this.session.log(step, `${STEP_LABELS[step]}…`);
    const handler = STEP_HANDLERS[step] as (
      ctx: ReturnType<typeof createStepContext>,
    ) => Promise<StepResult<WorkStep>>;
    const result = await this.attempt(step, (signal) =>
      handler(
        createStepContext({
          deps: this.deps,
          step,
          job: this.job,
          signal,
          report: this.reporter(step),
          machine: this.machine,
          savePartial: (data, set) => this.session.savePartial(step, data, set).then(() => undefined),
        }),
      ),
    );
    if ('repair' in result) return this.repair(result.repair);
    const seconds = (this.deps.ports.clock.now().getTime() - started) / 1000;
    this.session.usage(step, { seconds });
    this.session.log(step, result.message);
    await this.session.move({ type: 'advance', to: nextStep(step)! }, (job) => {
      const { [step]: _partial, ...partial } = job.checkpoints.partial ?? {};
      return {
        set: {
          ...result.fields?.(job),
          checkpoints: { ...job.checkpoints, [step]: result.outputs, partial },
        },
      };
    });
  }

  /** A failed build with repair rounds left: back to AI_DEVELOPMENT with the build's errors. */
  private async repair(failed: StepRepair['repair']): Promise<void> {
    const round = this.job.repairRounds + 1;
    const { maxRepairRounds, redact } = this.deps.settings;
    this.session.log(
      'BUILDING',
      `Build failed: ${failed.summary}. Repair round ${round} of ${maxRepairRounds}`,
      'warn',
    );
    await this.session.move({ type: 'advance', to: 'AI_DEVELOPMENT' }, (job) => {
      const { AI_DEVELOPMENT: _done, BUILDING: _built, ...rest } = job.checkpoints;
      return {
        set: {
          checkpoints: {
            ...rest,
            repair: {
              round,
              commit: failed.commit,
              buildOutput: redact(failed.output).slice(-4000),
              ...(failed.journeys ? { journeys: failed.journeys } : {}),
            },
          },
        },
        appendErrors: [
          this.session.errorEntry(
            job,
            new BuildFailedError(failed.summary, failed.output, { step: 'BUILDING' }),
          ),
        ],
      };
    });
  }

  /** One step's tries under the retry policy, each with the step's deadline; every retry is recorded. */
  private attempt<T>(step: WorkStep, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const { retry: policy, random, stepTimeoutMs } = this.deps.settings;
    const timeout = stepTimeoutMs[step];
    return retry(({ signal }) => work(signal), {
      policy,
      random,
      sleep: (ms, signal) => this.deps.ports.clock.sleep(ms, signal),
      signal: this.stop.signal,
      step,
      deadline: {
        ms: timeout,
        error: () =>
          new DeadlineExceededError(`${STEP_LABELS[step]} did not finish within ${formatMs(timeout)}`, {
            step,
          }),
      },
      tooLong: (error, wait) => {
        const until = new Date(this.deps.ports.clock.now().getTime() + wait).toISOString();
        return new RateLimitedError(`${error.message} (rate limited: try again after ${until})`, {
          step,
          retryAfterMs: wait,
          cause: error,
        });
      },
      onRetry: async (error, { used, maxAttempts, waitMs }) => {
        this.session.log(
          step,
          `${error.message} — retrying in ${formatMs(waitMs)} (try ${used + 1} of ${maxAttempts})`,
          'warn',
        );
        await this.session.write((job) => ({ appendErrors: [this.session.errorEntry(job, error)] }));
      },
    });
  }

  /** Ends the run after an error: the terminal status (or a resumable job) and a released lease. */
  private async end(error: PipelineError): Promise<RunJobResult> {
    const step = this.job.currentStep;
    if (error.code === 'LEASE_LOST') {
      this.deps.ports.logger.warn(error.message, { jobId: this.job.jobId, step });
      return { outcome: 'LEASE_LOST', job: this.job, error };
    }
    if (error.code === 'INTERRUPTED') {
      this.session.log(step, error.message, 'warn');
      await this.session.flush().catch((e) => this.onBackgroundError(e));
      return { outcome: 'INTERRUPTED', job: this.job, error };
    }
    const event: JobEvent =
      error.code === 'CANCELLED'
        ? { type: 'cancel' }
        : { type: 'fail', error: this.session.errorEntry(this.job, error) };
    this.session.log(
      step,
      error.code === 'CANCELLED' ? 'Cancelled on request' : `Failed: ${error.message}`,
      'error',
    );
    const databases = await databasesLeftBy(this.deps, this.job);
    await this.session.move(event, (job) => ({
      ...(event.type === 'fail' ? { appendErrors: [this.session.errorEntry(job, error)] } : {}),
      ...(databases.length ? { set: { resources: { ...job.resources, databases } } } : {}),
    }));
    await notifyOnce(this.deps, this.session);
    if (error.code === 'CANCELLED') return { outcome: 'CANCELLED', job: this.job };
    return { outcome: 'FAILED', job: this.job, error };
  }

  private reporter(step: WorkStep): ProgressReporter {
    return {
      log: (message, level) => this.session.log(step, message, level),
      usage: (delta) => this.session.usage(step, delta),
    };
  }

  private async renew(): Promise<void> {
    try {
      await this.session.renewLease();
    } catch (error) {
      this.onBackgroundError(error);
    }
  }

  /** A failed background write: a lost lease stops the run; anything else is logged and retried later. */
  private onBackgroundError(thrown: unknown): void {
    const error = toPipelineError(thrown, this.job.currentStep);
    if (error.code === 'LEASE_LOST' || error.code === 'NOT_FOUND') {
      if (!this.stop.signal.aborted) this.stop.abort(error);
      return;
    }
    this.deps.ports.logger.warn(`Background write failed: ${this.deps.settings.redact(error.message)}`, {
      jobId: this.job.jobId,
    });
  }

  private throwIfStopped(): void {
    if (this.stop.signal.aborted) throw toPipelineError(this.stop.signal.reason, this.job.currentStep);
  }

  private async cleanUp(): Promise<void> {
    const { logger, buildOutputs } = this.deps.ports;
    await this.session.idle();
    await this.machine
      .dispose()
      .catch((error) => logger.warn(`Could not remove the workspace: ${String(error)}`));
    if (isTerminalStatus(this.job.status)) {
      await buildOutputs
        ?.discard({ jobId: this.job.jobId })
        .catch((error) => logger.warn(`Could not remove the kept build outputs: ${String(error)}`));
    }
    if (this.stop.signal.reason?.code === 'LEASE_LOST') return;
    await this.session
      .releaseLease()
      .catch((error) =>
        logger.warn(`Could not release the lease: ${this.deps.settings.redact(String(error))}`),
      );
  }
}
