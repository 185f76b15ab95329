import type { JobResources } from '../domain/job.js';
import type { TemplateManifest } from '../domain/template.js';
import type { ProgressReporter } from './code-generator.port.js';

/**
 * Lets a long step save what it must not redo (e.g. a deployment id) before it finishes.
 *
 * The checkpoint belongs to the adapter: the core writes no keys of its own there. What is
 * saved is merged into the job record at once (so keep it small, JSON, and free of secrets:
 * ids, not tokens or URLs with credentials) and handed back as `saved` to the next try of the
 * same step (a retry, or the job resumed on another machine). It is dropped when the step
 * completes, so it never outlives the step it serves.
 */
export interface StepCheckpoint {
  /** What an earlier attempt of this step saved, if anything. */
  readonly saved: Readonly<Record<string, unknown>> | undefined;
  /** Records `data` on the job now (merged into what was saved). */
  save(data: Record<string, unknown>): Promise<void>;
}

export interface DeployResult {
  /** The target's name, for the record's provider-neutral `resources.deployment` (e.g. `vercel`, `local-static`). */
  provider: string;
  deploymentId: string;
  stagingUrl: string;
  productionUrl: string;
  /** Provider-specific ids for the record (e.g. `vercel: { projectId, deploymentId }`). */
  resources?: Partial<JobResources>;
  /**
   * Headers the staging URL needs to answer a check, where the target keeps staging behind a
   * login (Vercel's Deployment Protection: `x-vercel-protection-bypass`). Secrets: the core sends
   * them with the staging check only, to the staging URL's origin only, and never logs or
   * records them. The production URL must answer without them.
   */
  stagingHeaders?: Readonly<Record<string, string>>;
}

/** What the core passes to {@link Deployer.deploy}. */
export interface DeployOptions {
  jobId: string;
  commit: string;
  /**
   * The job's own site name: the product's slug and a short hash of the job id
   * (`eventhub-1a2b3c`, see `siteNameFor`). Unique per job and stable across its retries: name
   * the target's project / site / bucket prefix after it (or after `projectName`, below), and
   * never let a second job deploy into a site the first one made.
   */
  siteName: string;
  /**
   * The product's plain slug (`eventhub`). A target where names are first come, first served
   * (the local static host) may give it to the first job that deploys it, provided it records
   * which job owns it and gives every other job `siteName`; anywhere else use `siteName`.
   */
  projectName: string;
  /** Absolute path of the build output: the static site, or the built server app. */
  outputDir: string;
  /**
   * The template's manifest: a server app (one that declares `start`) is deployed as an app
   * that runs (its `migrate` against the app's database, then `start`), not as static files.
   * A deployer that hosts static files only refuses a server app with a PermanentError.
   */
  manifest?: TemplateManifest;
  /** See {@link StepCheckpoint}: save the target's ids before waiting on anything slow. */
  checkpoint: StepCheckpoint;
  report: ProgressReporter;
  signal?: AbortSignal;
}

/**
 * Publishes a built site.
 *
 * **What the URLs must serve.** After `deploy` resolves, the core's site check (the SiteChecker
 * port) loads `stagingUrl` and `productionUrl` and counts the deployment only when each answers
 * HTTP 200 (a `file://` URL: a readable file) with an HTML content type (`text/html`, any
 * charset), and a page whose text contains the product's name; the browser checker also fails
 * a page that logs console errors or whose scripts throw. Serve every file with its content
 * type (`.css` as `text/css`, `.js` as `text/javascript`, ...; never `application/octet-stream`
 * for a page), and serve a folder's `index.html` at the folder's URL. The production URL must
 * be public (no login wall); the staging URL may sit behind one only if `stagingHeaders` get
 * the check through it. A
 * deployment that is not ready yet fails the check and DEPLOYING is retried: return only once
 * the target says the deployment is live.
 *
 * **Sites.** Each job deploys into its own site (`siteName`, or `projectName` where the target
 * records its owner): two jobs with the same product name get two sites and the first keeps
 * serving its own pages. A new commit of the same job replaces the site's content: production
 * serves exactly the new build, so pages the new commit no longer has are gone.
 *
 * **Idempotent per (jobId, commit).** Deploying the same commit of the same job again (a retry
 * after a crash, a resumed job) returns the same deployment instead of creating another. Find
 * the earlier one through `checkpoint.saved` or the target's own records.
 *
 * **Abort.** When `signal` aborts, stop waiting and uploading as soon as possible and reject
 * with `signal.reason` (the core aborts with its own CancelledError, InterruptedError or
 * DeadlineExceededError); do not start anything new after it. What was already created stays
 * findable by the next try (checkpoint it before you wait).
 *
 * **Errors.** Reject only with the core's errors, never a raw SDK, fetch or `fs` error (the core
 * treats an unknown error as permanent, so a raw `ECONNREFUSED` would fail the job):
 * - TransientError: connection refused or reset, DNS failure, timeouts, 5xx, a deployment
 *   still building past your own wait, disk full;
 * - RateLimitedError (with `retryAfterMs`): 429 or a quota that resets;
 * - PermanentError: other 4xx (bad request, forbidden, invalid token), a build the target
 *   refused, output the target cannot publish (no `index.html`);
 * - BuildFailedError: the target's own build failed, with its output.
 * Messages name what failed and where, never a token or a URL's credentials.
 */
export interface Deployer {
  readonly specificationVersion: 'v1';
  deploy(options: DeployOptions): Promise<DeployResult>;
  /**
   * For a deployed app with accounts: a one-time, expiring link that makes whoever opens it the
   * app's owner (see the template's `claim` command), or `{}` when the app has an owner already.
   * The link is a secret for the founder alone: the caller shows it to them and never logs or
   * records it. Optional: deployers of static sites have no owner to make (leave it out rather
   * than throwing). NotFoundError when the job has nothing deployed here; the same errors as
   * `deploy` otherwise; an aborted signal rejects with its reason.
   */
  issueOwnerClaim?(options: { jobId: string; signal?: AbortSignal }): Promise<{ url?: string }>;
  /**
   * Removes what this deployer made for the job (its site or project, its deployments, the
   * files it published), for `mvp cleanup` of a failed or cancelled job. Only the job's own:
   * a site another job owns is left alone. Returns one line per thing removed (`site eventhub-1a2b3c`,
   * `deployment dpl_…`); `{ removed: [] }` when nothing was there (idempotent). Optional: a
   * deployer without it leaves the clean-up to the operator. Same errors as `deploy`.
   */
  remove?(options: {
    jobId: string;
    /** The job's site name as `deploy` got it, when the job got as far as reading its spec. */
    siteName?: string;
    signal?: AbortSignal;
  }): Promise<{ removed: string[] }>;
}
