import type { JobResources } from '../domain/job.js';
import type { TemplateManifest } from '../domain/template.js';
import type { ProgressReporter } from './code-generator.port.js';

/** Lets a long step save what it must not redo (e.g. a deployment id) before it finishes. */
export interface StepCheckpoint {
  /** What an earlier attempt of this step saved, if anything. */
  readonly saved: Readonly<Record<string, unknown>> | undefined;
  /** Records `data` on the job now (merged into what was saved). */
  save(data: Record<string, unknown>): Promise<void>;
}

export interface DeployResult {
  deploymentId: string;
  stagingUrl: string;
  productionUrl: string;
  /** Provider-specific ids for the record (e.g. `vercel: { projectId, deploymentId }`). */
  resources?: Partial<JobResources>;
}

/**
 * Publishes a built site. Idempotent per (jobId, commit): deploying the same commit of the
 * same job again returns the same deployment instead of creating another.
 * Errors: RateLimitedError (with retryAfterMs), TransientError, PermanentError.
 */
export interface Deployer {
  readonly specificationVersion: 'v1';
  deploy(options: {
    jobId: string;
    commit: string;
    /** Slug for the project / site name. */
    projectName: string;
    /** Absolute path of the build output: the static site, or the built server app. */
    outputDir: string;
    /**
     * The template's manifest: a server app (one that declares `start`) is deployed as an app
     * that runs (its `migrate` against the app's database, then `start`), not as static files.
     */
    manifest?: TemplateManifest;
    checkpoint: StepCheckpoint;
    report: ProgressReporter;
    signal?: AbortSignal;
  }): Promise<DeployResult>;
  /**
   * For a deployed app with accounts: a one-time, expiring link that makes whoever opens it the
   * app's owner (see the template's `claim` command), or `{}` when the app has an owner already.
   * The link is a secret for the founder alone: the caller shows it to them and never logs or
   * records it. Optional: deployers of static sites have no owner to make.
   */
  issueOwnerClaim?(options: { jobId: string; signal?: AbortSignal }): Promise<{ url?: string }>;
}
