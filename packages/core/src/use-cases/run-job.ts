import type { Checkpoints, Job, JobErrorEntry, JobPatch, RepoRef } from '../domain/job.js';
import { slugify, stableHash } from '../domain/naming.js';
import { type ProductSpec, parseProductSpec } from '../domain/spec.js';
import {
  assertNever,
  isTerminalStatus,
  nextStep,
  STEP_LABELS,
  type Step,
  type WorkStep,
} from '../domain/steps.js';
import type { TemplateManifest } from '../domain/template.js';
import { type JobEvent, transition } from '../domain/transition.js';
import {
  BuildFailedError,
  CancelledError,
  DeadlineExceededError,
  InterruptedError,
  NotFoundError,
  PermanentError,
  type PipelineError,
  RateLimitedError,
  TransientError,
  toPipelineError,
} from '../errors.js';
import type { ProgressReporter } from '../ports/code-generator.port.js';
import type { StepCheckpoint } from '../ports/deployer.port.js';
import type { JobNotification } from '../ports/notifier.port.js';
import type { Workspace } from '../ports/workspace.port.js';
import { backoffDelay } from '../retry.js';
import type { PipelineDeps } from './deps.js';
import { JobSession } from './job-session.js';

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
 * always ends with a terminal status or a released lease.
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

class JobRun {
  private readonly session: JobSession;
  /** Aborted to stop the run: interrupt (SIGTERM), cancel request, or lost lease. */
  private readonly stop = new AbortController();
  private spec: ProductSpec | undefined;
  private workspace: Workspace | undefined;
  /** The commit the workspace holds. */
  private workspaceCommit: string | undefined;
  private manifest: TemplateManifest | undefined;
  private built: { commit: string; outputDir: string } | undefined;

  constructor(
    private readonly deps: PipelineDeps,
    job: Job,
    owner: string,
    private readonly options: RunJobOptions,
  ) {
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
        await this.notifyOnce();
        return { outcome: 'ALREADY_ENDED', job: this.job };
      }
      if (this.job.cancelRequested)
        throw new CancelledError('Job was cancelled on request', { step: this.job.currentStep });
      await this.beginAttempt();
      while (this.job.currentStep !== 'COMPLETED') {
        this.throwIfStopped();
        await this.runStep(this.job.currentStep);
      }
      await this.notifyOnce();
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
        appendLogs: [this.entry(job.currentStep, `Attempt ${attempt} started${platform}${where}`)],
      };
    });
    if (this.job.attempt > this.deps.settings.maxAttempts) {
      throw new PermanentError(`Gave up after ${this.deps.settings.maxAttempts} attempts`, {
        step: this.job.currentStep,
      });
    }
  }

  /**
   * Does the work of the current step. A step's outputs and the move past it are one write,
   * so a resumed job's current step is always one whose work is unfinished.
   */
  private async runStep(step: Step): Promise<void> {
    if (step === 'QUEUED') return this.move({ type: 'advance', to: 'FETCHING_DATA' });
    if (step === 'COMPLETED') return;
    const started = this.deps.ports.clock.now().getTime();
    this.session.log(step, `${STEP_LABELS[step]}…`);
    switch (step) {
      case 'FETCHING_DATA':
        return this.fetchData(started);
      case 'CREATING_REPO':
        return this.createRepo(started);
      case 'AI_DEVELOPMENT':
        return this.develop(started);
      case 'BUILDING':
        return this.buildOrRepair(started);
      case 'DEPLOYING':
        return this.deploy(started);
      default:
        return assertNever(step, 'step');
    }
  }

  private async fetchData(started: number): Promise<void> {
    const spec = await this.attempt('FETCHING_DATA', (signal) => this.loadSpec(signal));
    await this.finishStep(
      'FETCHING_DATA',
      started,
      { specHash: stableHash(spec), businessName: spec.product.name },
      { businessName: spec.product.name },
      `Read the spec of ${spec.product.name}`,
    );
  }

  private async createRepo(started: number): Promise<void> {
    const { repos, templates } = this.deps.ports;
    const result = await this.attempt('CREATING_REPO', async (signal) => {
      const spec = await this.loadSpec(signal);
      const workspace = await this.freshWorkspace(signal);
      const { manifest, ref } = await templates.fetchTemplate({
        template: this.job.template,
        workspace,
        signal,
      });
      this.manifest = manifest;
      const { repo, created } = await repos.ensureRepo({
        jobId: this.job.jobId,
        name: `${slugify(spec.product.name)}-mvp`,
        description: `${spec.product.name}: MVP built by mvp-pipeline job ${this.job.jobId}`,
        signal,
      });
      await this.savePartial('CREATING_REPO', { repo }, (job) => this.repoFields(job, repo));
      this.session.log('CREATING_REPO', `${created ? 'Created' : 'Found'} repository ${repo.fullName}`);
      const { commit } = await repos.push({
        repo,
        workspace,
        message: `Start ${spec.product.name} from the ${this.job.template} template`,
        date: new Date(this.job.createdAt),
        signal,
      });
      this.workspaceCommit = commit;
      return { repo, commit, template: `${this.job.template}@${ref}` };
    });
    await this.finishStep(
      'CREATING_REPO',
      started,
      result,
      {},
      `Pushed the template as ${short(result.commit)}`,
    );
  }

  private async develop(started: number): Promise<void> {
    const { generator, repos } = this.deps.ports;
    const repair = this.job.checkpoints.repair;
    const result = await this.attempt('AI_DEVELOPMENT', async (signal) => {
      const spec = await this.loadSpec(signal);
      const workspace = await this.workspaceAtHead(signal);
      const generated = await generator.generate({
        jobId: this.job.jobId,
        spec,
        workspace,
        manifest: this.manifest!,
        ...(repair ? { repair: { round: repair.round, buildOutput: repair.buildOutput } } : {}),
        report: this.reporter('AI_DEVELOPMENT'),
        signal,
      });
      const { commit } = await repos.push({
        repo: this.repo(),
        workspace,
        message: generated.summary,
        // Derived from the job, not the clock: a retried push of the same files is the same commit.
        date: new Date(Date.parse(this.job.createdAt) + 1000 * (1 + this.job.repairRounds)),
        signal,
      });
      this.workspaceCommit = commit;
      return {
        commit,
        generator: generated.generator,
        summary: generated.summary,
        filesChanged: generated.filesChanged.length,
      };
    });
    await this.finishStep(
      'AI_DEVELOPMENT',
      started,
      result,
      {},
      `${result.generator} changed ${result.filesChanged} files (${short(result.commit)})`,
    );
  }

  private async buildOrRepair(started: number): Promise<void> {
    const result = await this.attempt('BUILDING', async (signal) => {
      const workspace = await this.workspaceAtHead(signal);
      return this.deps.ports.builder.build({
        workspace,
        manifest: this.manifest!,
        report: this.reporter('BUILDING'),
        signal,
      });
    });
    const commit = this.head();
    if (result.ok) {
      this.built = { commit, outputDir: result.outputDir };
      await this.finishStep(
        'BUILDING',
        started,
        { commit, outputDir: result.outputDir, checks: result.checks },
        {},
        `Build passed: ${result.checks.join(', ')}`,
      );
      return;
    }
    const { maxRepairRounds } = this.deps.settings;
    if (this.job.repairRounds >= maxRepairRounds) {
      throw new BuildFailedError(
        `Build failed${maxRepairRounds > 0 ? ` after ${maxRepairRounds} repair rounds` : ''}: ${result.summary}`,
        result.output,
        { step: 'BUILDING' },
      );
    }
    const round = this.job.repairRounds + 1;
    this.session.log(
      'BUILDING',
      `Build failed: ${result.summary}. Repair round ${round} of ${maxRepairRounds}`,
      'warn',
    );
    await this.move({ type: 'advance', to: 'AI_DEVELOPMENT' }, (job) => {
      const { AI_DEVELOPMENT: _done, BUILDING: _built, ...rest } = job.checkpoints;
      return {
        set: {
          checkpoints: {
            ...rest,
            repair: { round, commit, buildOutput: this.deps.settings.redact(result.output).slice(-4000) },
          },
        },
        appendErrors: [
          this.errorEntry(job, new BuildFailedError(result.summary, result.output, { step: 'BUILDING' })),
        ],
      };
    });
  }

  private async deploy(started: number): Promise<void> {
    const { deployer, siteChecker } = this.deps.ports;
    const result = await this.attempt('DEPLOYING', async (signal) => {
      await this.workspaceAtHead(signal);
      const outputDir = await this.ensureBuilt(signal);
      const deployment = await deployer.deploy({
        jobId: this.job.jobId,
        commit: this.head(),
        projectName: slugify(this.job.businessName),
        outputDir,
        checkpoint: this.stepCheckpoint('DEPLOYING'),
        report: this.reporter('DEPLOYING'),
        signal,
      });
      // The done gate: a deployment counts only when its pages answer with the product.
      for (const url of new Set([deployment.stagingUrl, deployment.productionUrl])) {
        const check = await siteChecker.check({ url, expectText: this.job.businessName, signal });
        for (const note of check.notes ?? []) this.session.log('DEPLOYING', note);
        if (!check.ok)
          throw new TransientError(`${url} does not serve the site yet: ${check.problems.join('; ')}`);
        this.session.log('DEPLOYING', `${url} answers (${check.checker} check)`);
      }
      return deployment;
    });
    await this.finishStep(
      'DEPLOYING',
      started,
      {
        deploymentId: result.deploymentId,
        commit: this.head(),
        stagingUrl: result.stagingUrl,
        productionUrl: result.productionUrl,
      },
      (job) => ({
        urls: { ...job.urls, staging: result.stagingUrl, production: result.productionUrl },
        resources: { ...job.resources, ...result.resources },
      }),
      `Live at ${result.productionUrl}`,
    );
  }

  /** Runs one try of a step's work after another: transient failures are retried with backoff. */
  private async attempt<T>(step: WorkStep, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const { retry, random, stepTimeoutMs } = this.deps.settings;
    for (let attempt = 1; ; attempt++) {
      this.throwIfStopped();
      const controller = new AbortController();
      const timeout = stepTimeoutMs[step];
      const deadline = setTimeout(
        () =>
          controller.abort(
            new DeadlineExceededError(`${STEP_LABELS[step]} did not finish within ${formatMs(timeout)}`, {
              step,
            }),
          ),
        timeout,
      );
      const onStop = () => controller.abort(this.stop.signal.reason);
      this.stop.signal.addEventListener('abort', onStop, { once: true });
      try {
        return await abortable(work(controller.signal), controller.signal);
      } catch (thrown) {
        const error = toPipelineError(controller.signal.aborted ? controller.signal.reason : thrown, step);
        if (controller.signal.aborted || !error.retryable) throw error;
        if (attempt >= retry.maxAttempts) throw error;
        const wait = backoffDelay(retry, attempt, random, error.retryAfterMs);
        if (wait > retry.maxDelayMs) {
          const until = new Date(this.deps.ports.clock.now().getTime() + wait).toISOString();
          throw new RateLimitedError(`${error.message} (rate limited: try again after ${until})`, {
            step,
            retryAfterMs: wait,
            cause: error,
          });
        }
        this.session.log(
          step,
          `${error.message} — retrying in ${formatMs(wait)} (try ${attempt + 1} of ${retry.maxAttempts})`,
          'warn',
        );
        await this.session.write((job) => ({ appendErrors: [this.errorEntry(job, error)] }));
        await this.deps.ports.clock.sleep(wait, this.stop.signal).catch(() => this.throwIfStopped());
      } finally {
        clearTimeout(deadline);
        this.stop.signal.removeEventListener('abort', onStop);
      }
    }
  }

  /** One write: the step's outputs into checkpoints, and the move to the next step. */
  private async finishStep<S extends WorkStep>(
    step: S,
    started: number,
    outputs: NonNullable<Checkpoints[S]>,
    set: Partial<Job> | ((job: Job) => Partial<Job>),
    message: string,
  ): Promise<void> {
    const seconds = (this.deps.ports.clock.now().getTime() - started) / 1000;
    this.session.usage(step, { seconds });
    this.session.log(step, message);
    await this.move({ type: 'advance', to: nextStep(step)! }, (job) => {
      const { [step]: _partial, ...partial } = job.checkpoints.partial ?? {};
      return {
        set: {
          ...(typeof set === 'function' ? set(job) : set),
          checkpoints: { ...job.checkpoints, [step]: outputs, partial },
        },
      };
    });
  }

  /** Applies a state-machine event (plus `extra` fields) in one conditional write. */
  private async move(event: JobEvent, extra: (job: Job) => JobPatch = () => ({})): Promise<void> {
    await this.session.write((job) => {
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
        : { type: 'fail', error: this.errorEntry(this.job, error) };
    this.session.log(
      step,
      error.code === 'CANCELLED' ? 'Cancelled on request' : `Failed: ${error.message}`,
      'error',
    );
    await this.move(event, (job) =>
      event.type === 'fail' ? { appendErrors: [this.errorEntry(job, error)] } : {},
    );
    await this.notifyOnce();
    if (error.code === 'CANCELLED') return { outcome: 'CANCELLED', job: this.job };
    return { outcome: 'FAILED', job: this.job, error };
  }

  /** Sends the terminal notification unless the record says it was sent. */
  private async notifyOnce(): Promise<void> {
    const job = this.job;
    if (!isTerminalStatus(job.status) || job.checkpoints.notified?.includes(job.status)) return;
    const notification = this.notification(job);
    const { retry, random, stepTimeoutMs } = this.deps.settings;
    // A notification gets a minute (or the deploy deadline, if shorter): a hung receiver must not hold the job.
    const timeout = Math.min(stepTimeoutMs.DEPLOYING, 60_000);
    for (let attempt = 1; ; attempt++) {
      const controller = new AbortController();
      const deadline = setTimeout(
        () =>
          controller.abort(
            new DeadlineExceededError(`The notifier did not answer within ${formatMs(timeout)}`, {
              step: job.currentStep,
            }),
          ),
        timeout,
      );
      try {
        const sent = this.deps.ports.notifier.notify({
          notification,
          idempotencyKey: `${job.jobId}:${job.status}`,
          signal: controller.signal,
        });
        await abortable(sent, controller.signal);
        break;
      } catch (thrown) {
        const error = toPipelineError(
          controller.signal.aborted ? controller.signal.reason : thrown,
          job.currentStep,
        );
        if (!error.retryable) {
          // It will never go through: say so on the record and stop trying (a worker would loop).
          this.session.log(
            job.currentStep,
            `Gave up on the ${job.status} notification: ${error.message}`,
            'error',
          );
          break;
        }
        if (attempt >= retry.maxAttempts) {
          // The job's outcome stands; the unsent notification stays on the record for a later runner.
          this.session.log(
            job.currentStep,
            `Could not send the ${job.status} notification: ${error.message}`,
            'error',
          );
          await this.session.flush();
          return;
        }
        await this.deps.ports.clock.sleep(backoffDelay(retry, attempt, random, error.retryAfterMs));
      } finally {
        clearTimeout(deadline);
      }
    }
    await this.session.write((latest) => ({
      set: {
        checkpoints: {
          ...latest.checkpoints,
          notified: [...(latest.checkpoints.notified ?? []), latest.status],
        },
      },
    }));
  }

  private notification(job: Job): JobNotification {
    const redact = this.deps.settings.redact;
    const lastError = job.status === 'FAILED' ? job.errors.at(-1) : undefined;
    return {
      jobId: job.jobId,
      userId: job.userId,
      productId: job.productId,
      status: job.status,
      currentStep: job.currentStep,
      businessName: job.businessName,
      ...(job.urls.codeRepository ? { repoUrl: job.urls.codeRepository } : {}),
      ...(job.urls.staging ? { stagingUrl: job.urls.staging } : {}),
      ...(job.urls.production ? { productionUrl: job.urls.production } : {}),
      ...(lastError
        ? { error: { step: lastError.step, code: lastError.code, message: redact(lastError.message) } }
        : {}),
      at: this.deps.ports.clock.now().toISOString(),
    };
  }

  private async loadSpec(signal: AbortSignal): Promise<ProductSpec> {
    if (this.spec) return this.spec;
    const { spec } = await this.deps.ports.specs.getSpec({
      userId: this.job.userId,
      productId: this.job.productId,
      signal,
    });
    this.spec = parseProductSpec(spec, `spec of product ${this.job.productId}`);
    return this.spec;
  }

  private async freshWorkspace(signal: AbortSignal): Promise<Workspace> {
    await this.disposeWorkspace();
    const { workspace } = await this.deps.ports.workspaces.create({ jobId: this.job.jobId, signal });
    this.workspace = workspace;
    return workspace;
  }

  /** The commit the job's code is at: the latest generated one, or the template's. */
  private head(): string {
    const { AI_DEVELOPMENT, repair, CREATING_REPO } = this.job.checkpoints;
    const commit = AI_DEVELOPMENT?.commit ?? repair?.commit ?? CREATING_REPO?.commit;
    if (!commit)
      throw new PermanentError('The job has no repository commit to work on', { step: this.job.currentStep });
    return commit;
  }

  private repo(): RepoRef {
    const repo = this.job.checkpoints.CREATING_REPO?.repo;
    if (!repo) throw new PermanentError('The job has no repository', { step: this.job.currentStep });
    return repo;
  }

  /** A workspace holding the job's code at its head: kept from this run, or cloned back (a resumed job). */
  private async workspaceAtHead(signal: AbortSignal): Promise<Workspace> {
    const head = this.head();
    if (this.workspace && this.workspaceCommit === head && this.manifest) return this.workspace;
    const workspace = await this.freshWorkspace(signal);
    const { commit } = await this.deps.ports.repos.checkout({
      repo: this.repo(),
      workspace,
      commit: head,
      signal,
    });
    this.workspaceCommit = commit;
    this.built = undefined;
    const { manifest } = await this.deps.ports.templates.readManifest({ workspace, signal });
    this.manifest = manifest;
    this.session.log(this.job.currentStep, `Checked out ${short(commit)} from ${this.repo().fullName}`);
    return workspace;
  }

  /** The build output of the head commit; rebuilt when this run has not built it (a resumed job). */
  private async ensureBuilt(signal: AbortSignal): Promise<string> {
    const head = this.head();
    if (this.built?.commit === head) return this.built.outputDir;
    const result = await this.deps.ports.builder.build({
      workspace: this.workspace!,
      manifest: this.manifest!,
      report: this.reporter(this.job.currentStep as WorkStep),
      signal,
    });
    if (!result.ok)
      throw new BuildFailedError(`Rebuilding ${short(head)} failed: ${result.summary}`, result.output);
    this.built = { commit: head, outputDir: result.outputDir };
    return result.outputDir;
  }

  private stepCheckpoint(step: WorkStep): StepCheckpoint {
    return {
      saved: this.job.checkpoints.partial?.[step],
      save: (data) => this.savePartial(step, data),
    };
  }

  private async savePartial(
    step: WorkStep,
    data: Record<string, unknown>,
    set: (job: Job) => Partial<Job> = () => ({}),
  ): Promise<void> {
    await this.session.write((job) => {
      const partial = { ...job.checkpoints.partial, [step]: { ...job.checkpoints.partial?.[step], ...data } };
      return { set: { ...set(job), checkpoints: { ...job.checkpoints, partial } } };
    });
  }

  private repoFields(job: Job, repo: RepoRef): Partial<Job> {
    return {
      resources: {
        ...job.resources,
        githubRepo: { name: repo.fullName, url: repo.url, branch: repo.branch },
      },
      urls: { ...job.urls, codeRepository: repo.url },
    };
  }

  private reporter(step: WorkStep): ProgressReporter {
    return {
      log: (message, level) => this.session.log(step, message, level),
      usage: (delta) => this.session.usage(step, delta),
    };
  }

  private entry(step: Step, message: string) {
    return { at: this.deps.ports.clock.now().toISOString(), step, level: 'info' as const, message };
  }

  private errorEntry(job: Job, error: PipelineError): JobErrorEntry {
    return {
      at: this.deps.ports.clock.now().toISOString(),
      step: error.step ?? job.currentStep,
      code: error.code,
      message: this.deps.settings.redact(error.message).slice(0, 1000),
      retryable: error.retryable,
      attempt: job.attempt,
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

  private async disposeWorkspace(): Promise<void> {
    if (!this.workspace) return;
    const workspace = this.workspace;
    this.workspace = undefined;
    this.workspaceCommit = undefined;
    this.built = undefined;
    await this.deps.ports.workspaces.dispose({ workspace });
  }

  private async cleanUp(): Promise<void> {
    const { logger } = this.deps.ports;
    await this.session.idle();
    await this.disposeWorkspace().catch((error) =>
      logger.warn(`Could not remove the workspace: ${String(error)}`),
    );
    if (this.stop.signal.reason?.code === 'LEASE_LOST') return;
    await this.session
      .releaseLease()
      .catch((error) =>
        logger.warn(`Could not release the lease: ${this.deps.settings.redact(String(error))}`),
      );
  }
}

/** Rejects as soon as `signal` aborts, even if the work ignores the signal (a hung call). */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

const short = (commit: string) => commit.slice(0, 7);

function formatMs(ms: number): string {
  return ms >= 60_000
    ? `${Math.round(ms / 60_000)} min`
    : ms >= 1000
      ? `${Math.round(ms / 100) / 10} s`
      : `${ms} ms`;
}
