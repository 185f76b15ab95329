import type { FeatureOutcome } from '../domain/app-model.js';
import type { StepUsage } from '../domain/job.js';
import type { ProductSpec } from '../domain/spec.js';
import type { TemplateManifest } from '../domain/template.js';
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
  signal?: AbortSignal;
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
