import type { FeatureOutcome } from '../domain/app-model.js';
import type { JourneyReport } from '../domain/delivery.js';
import type { StepUsage } from '../domain/job.js';
import type { ProductSpec } from '../domain/spec.js';
import type { TemplateManifest } from '../domain/template.js';
import type { QueryOutcome } from './app-checker.port.js';
import type { BuildResult, CommandOutcome } from './builder.port.js';
import type { Workspace } from './workspace.port.js';

/** How long-running work tells the job what it is doing. */
export interface ProgressReporter {
  /** A line for the job's log (keep it short; callers rate-limit chatty sources). */
  log(message: string, level?: 'info' | 'warn' | 'error'): void;
  /** Tokens and cost spent since the last report; recorded on the job as they accrue. */
  usage(delta: Partial<StepUsage>): void;
}

export interface GenerateOptions {
  jobId: string;
  spec: ProductSpec;
  workspace: Workspace;
  manifest: TemplateManifest;
  /** Present on a repair round: the build's errors to fix. */
  repair?: { round: number; buildOutput: string };
  report: ProgressReporter;
  /**
   * For a server app with a database (manifest `model` and `start`): the pipeline's own
   * install, build and journey check, for the generator to run while it works. Absent for
   * static templates and where the pipeline has no builder, database or checker for it.
   */
  workbench?: AppWorkbench;
  /**
   * A fresh workspace at the commit this step started from, for a generator that gives up on
   * the work in `workspace` (a fallback shipping the baseline): the result then names it as
   * `workspace`. The old one must not be used after.
   */
  restart?(): Promise<Workspace>;
  signal?: AbortSignal;
}

/**
 * The pipeline's checks of a server app, on the generator's workspace. Every outcome is a
 * value: a failing build or journey is what the generator is there to fix.
 */
export interface AppWorkbench {
  /** Links the dependencies of the workspace's lockfile (fast: from this machine's cache). */
  install(options?: { signal?: AbortSignal }): Promise<CommandOutcome>;
  /**
   * Adds an npm package, pinned to an exact version, with the lockfile updated and install
   * scripts off. Its change to the template's protected `package.json` and lockfile is the
   * pipeline's own, so it does not count as the generator changing them.
   */
  addDependency(options: {
    name: string;
    version?: string;
    signal?: AbortSignal;
  }): Promise<CommandOutcome & { version?: string }>;
  /**
   * The gate BUILDING applies: install, generate, build, migrate a fresh throwaway database,
   * test; then starts the app on it and walks the journeys (pages outlined).
   */
  check(options?: { signal?: AbortSignal }): Promise<{ build: BuildResult; journeys?: JourneyReport }>;
  /** One read-only SQL statement against the database of the last `check`. */
  query(options: { sql: string; signal?: AbortSignal }): Promise<QueryOutcome>;
}

export interface GenerateResult {
  /** Which generator did the work (e.g. `template`, `claude:<model>`, `template (fallback)`). */
  generator: string;
  /** One line for the commit message and the job log. */
  summary: string;
  /** Workspace-relative paths written or deleted. */
  filesChanged: string[];
  /**
   * Per key feature, what built it, when the generator knows better than the app model's list
   * (an AI that built a feature no recipe could: `builtBy: 'ai'`).
   */
  features?: FeatureOutcome[];
  /** The workspace the result is in, when the generator moved to one from `restart()`. */
  workspace?: Workspace;
}

/**
 * Develops the MVP inside the workspace. It writes only inside `workspace.dir`.
 * Errors: BudgetExceededError, TransientError/RateLimitedError (the model is unavailable),
 * PermanentError (the request can never succeed).
 */
export interface CodeGenerator {
  readonly specificationVersion: 'v1';
  generate(options: GenerateOptions): Promise<GenerateResult>;
}
