import type { JourneyReport } from '../../domain/delivery.js';
import type { Checkpoints, Job, RepoRef } from '../../domain/job.js';
import type { ProductSpec } from '../../domain/spec.js';
import type { WorkStep } from '../../domain/steps.js';
import type { TemplateManifest } from '../../domain/template.js';
import { PermanentError } from '../../errors.js';
import type { ProgressReporter } from '../../ports/code-generator.port.js';
import type { StepCheckpoint } from '../../ports/deployer.port.js';
import type { Workspace } from '../../ports/workspace.port.js';
import type { PipelineDeps } from '../deps.js';
import type { WorkspaceHolder } from './workspace-holder.js';

/**
 * What a step handler works from: the job's checkpoints (never state a previous step left in
 * memory), the ports, and this runner's machine (the workspace it holds). A resumed run and a
 * first run build the same context from the same record.
 */
export interface StepContext {
  readonly deps: PipelineDeps;
  readonly step: WorkStep;
  /** The record as the step's try began. */
  readonly job: Job;
  readonly checkpoints: Checkpoints;
  /** The try's signal: deadline, interruption, cancellation, lost lease. */
  readonly signal: AbortSignal;
  readonly report: ProgressReporter;
  /** What an earlier try of this step saved (`checkpoint.saved`), and a way to save more. */
  readonly checkpoint: StepCheckpoint;
  /** Saves partial outputs now, with more record fields (the repository that now exists). */
  savePartial(data: Record<string, unknown>, set?: (job: Job) => Partial<Job>): Promise<void>;
  /** The validated spec FETCHING_DATA checkpointed. */
  spec(): ProductSpec;
  /** The commit the job's code is at: the latest generated one, or the template's. */
  head(): string;
  repo(): RepoRef;
  /** A workspace holding `head()` and its manifest (read from the workspace, never remembered). */
  checkout(): Promise<{ workspace: Workspace; manifest: TemplateManifest }>;
  readonly machine: WorkspaceHolder;
}

export interface StepContextInput {
  deps: PipelineDeps;
  step: WorkStep;
  job: Job;
  signal: AbortSignal;
  report: ProgressReporter;
  machine: WorkspaceHolder;
  savePartial: (data: Record<string, unknown>, set?: (job: Job) => Partial<Job>) => Promise<void>;
}

export function createStepContext(input: StepContextInput): StepContext {
  const { job, step } = input;
  const checkpoints = job.checkpoints;
  const head = () => headOf(job);
  const repo = () => {
    const found = checkpoints.CREATING_REPO?.repo;
    if (!found) throw new PermanentError('The job has no repository', { step });
    return found;
  };
  return {
    deps: input.deps,
    step,
    job,
    checkpoints,
    signal: input.signal,
    report: input.report,
    machine: input.machine,
    savePartial: input.savePartial,
    checkpoint: {
      saved: checkpoints.partial?.[step],
      save: (data) => input.savePartial(data),
    },
    spec: () => {
      const spec = checkpoints.FETCHING_DATA?.spec;
      if (!spec)
        throw new PermanentError('The job has no checkpointed spec (it was read before specs were kept)', {
          step,
        });
      return spec;
    },
    head,
    repo,
    checkout: () =>
      input.machine.at({ repo: repo(), commit: head(), signal: input.signal, report: input.report }),
  };
}

/** The commit the job's code is at: the latest generated one, or the template's. */
export function headOf(job: Job): string {
  const { AI_DEVELOPMENT, repair, CREATING_REPO } = job.checkpoints;
  const commit = AI_DEVELOPMENT?.commit ?? repair?.commit ?? CREATING_REPO?.commit;
  if (!commit)
    throw new PermanentError('The job has no repository commit to work on', { step: job.currentStep });
  return commit;
}

export const short = (commit: string) => commit.slice(0, 7);

/** What a step hands back: its outputs (checkpointed in the write that moves the job on). */
export interface StepDone<S extends WorkStep> {
  outputs: NonNullable<Checkpoints[S]>;
  /** More record fields to set in the same write. */
  fields?: (job: Job) => Partial<Job>;
  message: string;
}

/** BUILDING's other outcome: the build failed and a repair round sends the job back. */
export interface StepRepair {
  repair: { summary: string; output: string; commit: string; journeys?: JourneyReport };
}

export type StepResult<S extends WorkStep> = StepDone<S> | (S extends 'BUILDING' ? StepRepair : never);

export type StepHandler<S extends WorkStep> = (ctx: StepContext) => Promise<StepResult<S>>;
