// Over 400 lines: one deployment (upload by SHA, staging, production, polling, alias, reuse by
// checkpoint) is one closure over the step's checkpoint; the REST calls and files are modules.
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import {
  BuildFailedError,
  ConfigError,
  createRedactor,
  type DatabaseProvisioner,
  type Deployer,
  type DeployResult,
  PermanentError,
  PipelineError,
  type ProgressReporter,
  type Redactor,
  type StepCheckpoint,
  TransientError,
} from '@mvp-pipeline/core';
import { runCommand } from '@mvp-pipeline/workspace';
import { createApiClient, type FetchLike, formatWait, retryAfterMs, type SleepLike } from './api.js';
import { eachLimited, hashSite, type SiteFile } from './files.js';
import {
  DEFAULT_NODE_VERSION,
  generateSessionSecret,
  type SecretStore,
  type SourceApp,
  sessionSecretName,
  sourceAppOf,
} from './source.js';

export type { FetchLike, SleepLike } from './api.js';

/** Where the REST API lives when VERCEL_API_URL is not set. */
export const DEFAULT_VERCEL_API_URL = 'https://api.vercel.com';

/** Build settings sent with every deployment (Vercel saves them on the project's first one). */
export interface VercelProjectSettings {
  /** `null` is "Other": no framework preset, the uploaded files are served as they are. */
  framework: string | null;
  buildCommand: string | null;
  installCommand: string | null;
  devCommand: string | null;
  /** `.`: serve the uploaded root (the default for "Other" would pick `public/` if it exists). */
  outputDirectory: string | null;
  rootDirectory: string | null;
}

/** The settings for a built static site: no framework, no build, the upload served as is. */
export const STATIC_PROJECT_SETTINGS: VercelProjectSettings = {
  framework: null,
  buildCommand: null,
  installCommand: null,
  devCommand: null,
  outputDirectory: '.',
  rootDirectory: null,
};

export interface VercelDeployerSettings {
  /** VERCEL_TOKEN. A secret: it never appears in an error, a log line or the job record. */
  token: string;
  /** VERCEL_TEAM_ID: sent as `teamId` on every call when set. */
  teamId?: string | undefined;
  /** VERCEL_API_URL (default https://api.vercel.com); a stand-in in tests. */
  apiUrl?: string | undefined;
  /** Uploads running at once (default 8). */
  uploadConcurrency?: number | undefined;
  /** First wait between two status polls (default 2 s); it grows to 15 s. */
  pollIntervalMs?: number | undefined;
  /** How long to wait for one deployment to finish building (default 10 min). */
  maxWaitMs?: number | undefined;
  /**
   * Where the second deployment goes (default `production`; a custom environment id works too).
   * `preview` makes one deployment only and reports its URL as both staging and production,
   * which halves what a job costs against the plan's daily deployment cap.
   */
  target?: string | undefined;
  /** Overrides of the project settings ({@link STATIC_PROJECT_SETTINGS}, or a framework app's). */
  projectSettings?: Partial<VercelProjectSettings> | undefined;
  /** The Node.js version of a framework app's project (default `20.x`, the runner's own). */
  nodeVersion?: string | undefined;
  /** Time the manifest's `migrate` has against the app's database (default 5 minutes). */
  migrateTimeoutMs?: number | undefined;
}

export interface VercelDeployerDeps {
  /** The HTTP client (default: the global `fetch`). */
  fetch?: FetchLike;
  /** How the poll loop waits (default: a timer that stops on abort). Tests pass a no-op. */
  sleep?: SleepLike;
  /** Milliseconds since the epoch (default `Date.now`), for rate-limit waits. */
  now?: () => number;
  /** The process's redactor (it must know the token). Default: one that knows the token. */
  redact?: Redactor;
  /**
   * Tells the process about a secret this adapter learnt (the project's protection bypass), so
   * its logs and records redact it too. The adapter redacts it in its own messages either way.
   */
  registerSecret?: (value: string) => void;
  /** Each job's `app` database, for framework apps with a server (required to deploy those). */
  databases?: DatabaseProvisioner;
  /** Where the app's session secret is kept per job (required with `databases`). */
  secrets?: SecretStore;
}

/** Vercel's readyState values (GET /v13/deployments/{id}). */
export type VercelReadyState =
  | 'QUEUED'
  | 'INITIALIZING'
  | 'BUILDING'
  | 'READY'
  | 'ERROR'
  | 'CANCELED'
  | 'BLOCKED';

/** The fields of a deployment this adapter reads. */
export interface VercelDeployment {
  id: string;
  /** Host (and, on a stand-in, path) without a scheme, e.g. `eventhub-4fx1k.vercel.app`. */
  url: string;
  name?: string;
  projectId?: string;
  readyState: VercelReadyState;
  target?: string | null;
  alias?: string[];
  aliasAssigned?: boolean | number | null;
  aliasError?: { code?: string; message?: string } | null;
  errorCode?: string;
  errorMessage?: string | null;
  meta?: Record<string, string>;
}

/** The fields of a project this adapter reads (GET /v9/projects/{idOrName}, POST /v11/projects). */
export interface VercelProject {
  id: string;
  name: string;
  /** Protection Bypass for Automation entries, keyed by the secret itself. */
  protectionBypass?: Record<string, { scope?: string; createdAt?: number }> | null;
  nodeVersion?: string;
}

/** A project domain (GET /v9/projects/{idOrName}/domains). */
interface ProjectDomain {
  name: string;
  verified?: boolean;
  redirect?: string | null;
  gitBranch?: string | null;
  customEnvironmentId?: string | null;
}

/** Who an environment variable is for: a sensitive value Vercel allows for these two only. */
const ENV_TARGETS = ['production', 'preview'];

/** The header Vercel's Deployment Protection lets automation through with. */
export const PROTECTION_BYPASS_HEADER = 'x-vercel-protection-bypass';

interface ListedDeployment {
  uid: string;
  url: string | null;
  created?: number;
  createdAt?: number;
  state?: VercelReadyState;
  readyState?: VercelReadyState;
  meta?: Record<string, string>;
}

interface DeploymentEvent {
  type?: string;
  created?: number;
  text?: string;
  payload?: { text?: string };
}

type Stage = 'staging' | 'production';

const FINISHED_BADLY = new Set<VercelReadyState>(['ERROR', 'CANCELED', 'BLOCKED']);
/** Consecutive 5xx / network failures a poll loop rides out before giving up. */
const POLL_FAILURES_TOLERATED = 3;
const MAX_POLL_INTERVAL_MS = 15_000;
/** The reuse lookup reads at most this many pages of the project's deployments, newest first. */
const LIST_PAGES = 5;
const LIST_PAGE_SIZE = 100;
const EVENT_TAIL_LINES = 12;

/**
 * A Deployer on Vercel's REST API. Deploys the built site twice — a preview deployment
 * (staging), then a production one (`target: production`) from the same uploaded files — and
 * reuses both when the same job deploys the same commit again, found through the step
 * checkpoint or the deployments' `meta` (jobId, commit, stage).
 */
export function createVercelDeployer(
  settings: VercelDeployerSettings,
  deps: VercelDeployerDeps = {},
): Deployer {
  if (!settings.token?.trim()) throw new ConfigError('VERCEL_TOKEN', 'is required for the Vercel deployer');
  const apiUrl = settings.apiUrl?.trim() || DEFAULT_VERCEL_API_URL;
  let scheme: 'http' | 'https';
  try {
    scheme = new URL(apiUrl).protocol === 'http:' ? 'http' : 'https';
  } catch {
    throw new ConfigError('VERCEL_API_URL', 'is not a URL');
  }
  const uploadConcurrency = positiveInt(settings.uploadConcurrency, 8, 'uploadConcurrency');
  const pollIntervalMs = positiveInt(settings.pollIntervalMs, 2_000, 'pollIntervalMs');
  const maxWaitMs = positiveInt(settings.maxWaitMs, 10 * 60_000, 'maxWaitMs');
  const target = settings.target?.trim() || 'production';
  const nodeVersion = settings.nodeVersion?.trim() || DEFAULT_NODE_VERSION;
  const migrateTimeoutMs = positiveInt(settings.migrateTimeoutMs, 5 * 60_000, 'migrateTimeoutMs');
  const processRedact = deps.redact ?? createRedactor([settings.token]);
  // Bypass secrets learnt while deploying are redacted here even if the process does not know them.
  const learnt = new Set<string>();
  let redactLearnt = createRedactor([]);
  const redact: Redactor = (text) => redactLearnt(processRedact(text));
  const learn = (secret: string) => {
    if (learnt.has(secret)) return;
    learnt.add(secret);
    redactLearnt = createRedactor(learnt);
    deps.registerSecret?.(secret);
  };
  const now = deps.now ?? Date.now;
  const sleep: SleepLike =
    deps.sleep ?? ((ms, signal) => delay(ms, undefined, signal ? { signal } : undefined));
  const api = createApiClient({
    apiUrl,
    token: settings.token,
    teamId: settings.teamId?.trim() || undefined,
    fetch: deps.fetch ?? ((input, init) => fetch(input, init)),
    redact,
    now,
  });
  const publicUrl = (host: string) => `${scheme}://${host}`;

  return {
    specificationVersion: 'v1',
    async deploy(options) {
      const { jobId, commit, checkpoint, report, signal } = options;
      // A Vercel project per job: names are per team, so the plain slug would put a second
      // founder's "EventHub" into the first one's project and replace their live site.
      const projectName = options.siteName;
      const app = sourceAppOf(options.manifest);
      if (!app && options.manifest?.start) {
        // Uploaded as static files, a server app would be served as its source.
        throw new PermanentError(
          `The "${options.manifest.name}" template is a server app without a framework Vercel builds (its manifest has no framework): it cannot be deployed on Vercel`,
        );
      }
      const projectSettings = settingsFor(app);
      if (app?.database && (!deps.databases || !deps.secrets)) {
        throw new PermanentError(
          `The "${options.manifest?.name}" template deploys an app with a database, and the Vercel deployer was given no DatabaseProvisioner and secret store`,
        );
      }
      // A framework app is built by Vercel from its source; a static site is uploaded as built.
      const site = await hashSite(options.outputDir, app?.exclude).catch((error: unknown) => {
        throw new PermanentError(
          redact(`Cannot read the built site at ${options.outputDir}: ${(error as Error).message}`),
        );
      });
      if (site.files.length === 0) {
        throw new PermanentError(`The built site at ${options.outputDir} has no files to deploy`);
      }
      if (site.skipped.length) {
        report.log(
          `Left out ${site.skipped.length} links or special files: ${site.skipped.slice(0, 5).join(', ')}`,
          'warn',
        );
      }
      const bytes = site.files.reduce((sum, f) => sum + f.size, 0);
      report.log(`Hashed ${plural(site.files.length, 'file')} (${formatBytes(bytes)}) for Vercel`);

      const project = await ensureProject({ projectName, projectSettings, checkpoint, report, signal });
      const bypass = await bypassSecret(project, report, signal);
      const run: Run = {
        jobId,
        commit,
        projectName,
        projectId: project.id,
        projectSettings,
        checkpoint,
        report,
        signal,
        files: site.files,
      };
      const saved = checkpoint.saved?.commit === commit ? checkpoint.saved : undefined;
      let appUrl: string | undefined;
      if (app) {
        await pinNodeVersion(run, project);
        appUrl = await productionDomain(run);
        // Set before the first deployment: Vercel gives a deployment the env of its creation.
        const database = await setEnvironment(run, app, appUrl);
        if (app.migrate && database) await migrate(run, app.migrate, options.outputDir, database, appUrl);
      }

      const staging = await ensureDeployment(run, 'staging', savedId(saved, 'stagingDeploymentId'));
      const stagingReady = await waitUntilReady(run, staging.id, 'staging');
      const stagingUrl = publicUrl(stagingReady.url);
      report.log(`Staging is live at ${stagingUrl}`);

      let production = stagingReady;
      let productionUrl = stagingUrl;
      if (target !== 'preview') {
        const created = await ensureDeployment(run, 'production', savedId(saved, 'productionDeploymentId'));
        production = await waitUntilReady(run, created.id, 'production');
        productionUrl = publicUrl(productionHost(production));
        report.log(`Production is live at ${productionUrl}`);
      }
      if (app && appUrl !== productionUrl.replace(/\/+$/, '')) {
        // The project had no production domain before its first production deployment.
        await upsertEnv(run, { APP_URL: productionUrl.replace(/\/+$/, '') });
        report.log(
          `APP_URL is now ${productionUrl} on project ${projectName}: the app reads it from its next deployment`,
          'warn',
        );
      }
      return {
        provider: 'vercel',
        deploymentId: production.id,
        stagingUrl,
        productionUrl,
        // Standard Deployment Protection keeps deployment URLs private: the staging check goes
        // through with the project's automation bypass; production is its public domain.
        stagingHeaders: { [PROTECTION_BYPASS_HEADER]: bypass },
        resources: {
          vercel: { projectId: project.id, deploymentId: production.id },
        },
      } satisfies DeployResult;
    },
    /**
     * The job's project (named `siteName`, so only this job's) and with it every deployment in
     * it: `DELETE /v9/projects/{id}`. Nothing to do without a site name or a project.
     */
    async remove({ siteName, signal }) {
      if (!siteName) return { removed: [] };
      const project = await getProject(siteName, signal);
      if (!project) return { removed: [] };
      const result = await api.send<undefined>(
        'delete project',
        `/v9/projects/${encodeURIComponent(project.id)}`,
        {
          method: 'DELETE',
          signal,
        },
      );
      if (!result.ok && result.failure.status !== 404) throw api.toError(result.failure);
      return { removed: [`Vercel project ${siteName} (${project.id}) and its deployments`] };
    },
  };

  interface Run {
    jobId: string;
    commit: string;
    projectName: string;
    /** The job's own Vercel project (its id, checkpointed before the first deployment). */
    projectId: string;
    projectSettings: VercelProjectSettings;
    checkpoint: StepCheckpoint;
    report: ProgressReporter;
    signal: AbortSignal | undefined;
    files: SiteFile[];
  }

  /** The project's settings: a framework app's from its manifest, else the static ones. */
  function settingsFor(app: SourceApp | undefined): VercelProjectSettings {
    const base: VercelProjectSettings = app
      ? {
          framework: app.framework,
          installCommand: app.installCommand,
          buildCommand: app.buildCommand,
          devCommand: null,
          // The framework preset knows where its output goes (.next for Next.js).
          outputDirectory: null,
          rootDirectory: null,
        }
      : STATIC_PROJECT_SETTINGS;
    return { ...base, ...settings.projectSettings };
  }

  /** PATCH /v9/projects/{id} with `nodeVersion` unless the project already builds with it. */
  async function pinNodeVersion(run: Run, project: VercelProject): Promise<void> {
    if (project.nodeVersion === nodeVersion) return;
    await api.call<unknown>('update project', `/v9/projects/${encodeURIComponent(project.id)}`, {
      method: 'PATCH',
      json: { nodeVersion },
      signal: run.signal,
    });
    run.report.log(`Project ${run.projectName} builds and runs on Node.js ${nodeVersion}`);
  }

  /**
   * The project's production URL (https://<its .vercel.app or custom domain>) from GET
   * /v9/projects/{id}/domains, or undefined when it has none yet.
   */
  async function productionDomain(run: Run): Promise<string | undefined> {
    const listed = await api.call<{ domains?: ProjectDomain[] }>(
      'project domains',
      `/v9/projects/${encodeURIComponent(run.projectId)}/domains`,
      { signal: run.signal },
    );
    const domains = (listed?.domains ?? []).filter(
      (d) => d.name && !d.redirect && !d.gitBranch && !d.customEnvironmentId && d.verified !== false,
    );
    // The project's own .vercel.app domain is there from the start; a custom one is preferred.
    const chosen =
      domains.find((d) => !d.name.endsWith('.vercel.app')) ??
      domains.find((d) => d.name.endsWith('.vercel.app'));
    return (chosen ?? domains[0]) ? publicUrl((chosen ?? domains[0])!.name).replace(/\/+$/, '') : undefined;
  }

  /**
   * The app's environment on the project, every value sensitive (write-only on Vercel) for
   * production and preview: DATABASE_URL (the job's `app` database), APP_URL, SESSION_SECRET (made
   * once per job, kept in the secret store) and the manifest's `env`. Returns the URL migrations
   * use (the direct one when the app's goes through a pooler).
   */
  async function setEnvironment(
    run: Run,
    app: SourceApp,
    appUrl: string | undefined,
  ): Promise<{ url: string; ca: string | undefined } | undefined> {
    const values: Record<string, string> = { ...app.env };
    let forMigrations: { url: string; ca: string | undefined } | undefined;
    if (app.database) {
      const database = await deps.databases!.provision({
        jobId: run.jobId,
        purpose: 'app',
        ...(run.signal ? { signal: run.signal } : {}),
      });
      values['DATABASE_URL'] = database.connectionUrl;
      // Migrations take the direct URL when the app's goes through a pooler.
      forMigrations = { url: database.directUrl ?? database.connectionUrl, ca: database.ca };
      learn(forMigrations.url);
      const session = await deps.secrets!.ensure(sessionSecretName(run.jobId), generateSessionSecret);
      learn(session);
      values['SESSION_SECRET'] = session;
      run.report.log(
        `The app's database is ${database.resource.database} on ${database.resource.host}${database.created ? ' (new)' : ''}`,
      );
    }
    // Every value is a secret here, even plain settings: logs name the keys only. APP_URL is
    // not: it is the public production URL the record and the founder's notice carry.
    for (const value of Object.values(values)) learn(value);
    if (appUrl) values['APP_URL'] = appUrl;
    // The CA the server chains to (a PEM, not a secret): the template verifies with DATABASE_CA.
    if (forMigrations?.ca) values['DATABASE_CA'] = forMigrations.ca;
    await upsertEnv(run, values);
    run.report.log(
      `Set ${Object.keys(values).sort().join(', ')} on project ${run.projectName} (sensitive, production and preview)`,
    );
    return forMigrations;
  }

  /** POST /v10/projects/{id}/env?upsert=true: one call, each key created or its value replaced. */
  async function upsertEnv(run: Run, values: Record<string, string>): Promise<void> {
    const body = Object.entries(values).map(([key, value]) => ({
      key,
      value,
      type: 'sensitive',
      target: ENV_TARGETS,
    }));
    if (body.length === 0) return;
    const result = await api.call<{
      failed?: { error?: { code?: string; message?: string; key?: string } }[];
    }>('set environment variables', `/v10/projects/${encodeURIComponent(run.projectId)}/env`, {
      method: 'POST',
      query: { upsert: 'true' },
      json: body,
      signal: run.signal,
    });
    const failed = result?.failed ?? [];
    if (failed.length > 0) {
      const what = failed
        .map(
          (f) =>
            `${f.error?.key ?? '?'} (${[f.error?.code, f.error?.message].filter(Boolean).join(': ') || 'no reason given'})`,
        )
        .join(', ');
      throw new PermanentError(
        redact(`Vercel refused environment variables of project ${run.projectName}: ${what}`),
      );
    }
  }

  /**
   * The manifest's `migrate` in the built workspace against the app's database, once per commit:
   * `migrated: <commit>` is checkpointed, so a retried attempt does not run it again.
   */
  async function migrate(
    run: Run,
    argv: string[],
    dir: string,
    database: { url: string; ca: string | undefined },
    appUrl: string | undefined,
  ): Promise<void> {
    if (run.checkpoint.saved?.['migrated'] === run.commit) {
      run.report.log(`The app database was migrated for commit ${short(run.commit)} already`);
      return;
    }
    const result = await runCommand({
      argv,
      cwd: dir,
      workspace: dir,
      timeoutMs: migrateTimeoutMs,
      env: { ...(appUrl ? { APP_URL: appUrl } : {}), ...(database.ca ? { DATABASE_CA: database.ca } : {}) },
      secretEnv: { DATABASE_URL: database.url },
      ...(run.signal ? { signal: run.signal } : {}),
    });
    if (result.exitCode !== 0) {
      const tail = result.output.trim().slice(-3000) || '(no output)';
      throw new PermanentError(
        redact(
          `${argv.join(' ')} failed (${result.timedOut ? 'timed out' : `exit ${result.exitCode ?? result.signal}`}) on the app database of project ${run.projectName}:\n${tail}`,
        ),
      );
    }
    await run.checkpoint.save({ migrated: run.commit });
    run.report.log(`Migrated the app database for commit ${short(run.commit)}`);
  }

  /**
   * The job's Vercel project, named `siteName`: the one checkpointed by an earlier attempt, else a
   * new one (POST /v11/projects), else (409: an attempt made it and died before the checkpoint,
   * or an earlier commit of this job) the one of that name. Its id is saved before any deployment.
   */
  async function ensureProject(
    run: Pick<Run, 'projectName' | 'projectSettings' | 'checkpoint' | 'report' | 'signal'>,
  ) {
    const savedProject = savedId(run.checkpoint.saved, 'projectId');
    if (savedProject) {
      const found = await getProject(savedProject, run.signal);
      if (found) return found;
      run.report.log(
        `The saved Vercel project ${savedProject} is gone; making the job's project again`,
        'warn',
      );
    }
    const created = await api.send<VercelProject>('create project', '/v11/projects', {
      method: 'POST',
      json: { name: run.projectName, ...run.projectSettings },
      signal: run.signal,
    });
    let project: VercelProject;
    if (created.ok) {
      project = created.value;
      run.report.log(`Created Vercel project ${project.name} (${project.id})`);
    } else if (created.failure.status === 409) {
      const found = await getProject(run.projectName, run.signal);
      if (!found)
        throw new TransientError(`Vercel says project ${run.projectName} exists but cannot find it`);
      project = found;
      run.report.log(`Using the job's Vercel project ${project.name} (${project.id})`);
    } else {
      throw api.toError(created.failure);
    }
    if (!project?.id) throw new TransientError('Vercel answered the project call without a project id');
    if (project.id !== savedProject) await run.checkpoint.save({ projectId: project.id });
    return project;
  }

  /**
   * The project's Protection Bypass for Automation secret: one it has (the oldest automation one),
   * else a new one (PATCH /v1/projects/{id}/protection-bypass). A secret: never logged or saved;
   * the next attempt reads it from the project again.
   */
  async function bypassSecret(
    project: VercelProject,
    report: ProgressReporter,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const existing = automationBypasses(project.protectionBypass);
    if (existing[0]) {
      learn(existing[0]);
      return existing[0];
    }
    const updated = await api.call<{ protectionBypass?: VercelProject['protectionBypass'] }>(
      'protection bypass',
      `/v1/projects/${encodeURIComponent(project.id)}/protection-bypass`,
      { method: 'PATCH', json: { generate: {} }, signal },
    );
    const made = automationBypasses(updated?.protectionBypass);
    for (const secret of made) learn(secret);
    if (!made[0]) {
      throw new TransientError(
        `Vercel answered the protection bypass call for project ${project.name} without an automation secret`,
      );
    }
    report.log(
      `Made a Protection Bypass for Automation secret for project ${project.name} (for the staging checks)`,
    );
    return made[0]!;
  }

  async function getProject(
    idOrName: string,
    signal: AbortSignal | undefined,
  ): Promise<VercelProject | undefined> {
    const result = await api.send<VercelProject>(
      'get project',
      `/v9/projects/${encodeURIComponent(idOrName)}`,
      {
        signal,
      },
    );
    if (result.ok) return result.value;
    if (result.failure.status === 404) return undefined;
    throw api.toError(result.failure);
  }

  /** The deployment for this stage: the one saved or found for (job, commit), else a new one. */
  async function ensureDeployment(
    run: Run,
    stage: Stage,
    saved: string | undefined,
  ): Promise<{ id: string }> {
    const key = `${stage}DeploymentId`;
    if (saved) {
      const found = await readDeployment(run, saved);
      if (found.ok) {
        if (usable(run, stage, found.value.id, found.value.readyState)) {
          run.report.log(`Resuming ${stage} deployment ${found.value.id} (${found.value.readyState})`);
          return { id: found.value.id };
        }
        if (found.value.readyState === 'ERROR') throw await buildFailure(run, stage, found.value);
      } else if (found.failure.status !== 404) {
        throw api.toError(found.failure);
      }
    }
    const listed = await findByMeta(run, stage);
    if (listed) {
      const state = listed.readyState ?? listed.state ?? 'QUEUED';
      if (state === 'ERROR') {
        const full = await readDeployment(run, listed.uid);
        if (!full.ok) throw api.toError(full.failure);
        throw await buildFailure(run, stage, full.value);
      }
      run.report.log(
        `Reusing ${stage} deployment ${listed.uid} made earlier for commit ${short(run.commit)}`,
      );
      await run.checkpoint.save({ commit: run.commit, [key]: listed.uid });
      return { id: listed.uid };
    }
    const created = await create(run, stage);
    // Saved before polling: an attempt that dies while Vercel builds picks this one up again.
    await run.checkpoint.save({ commit: run.commit, [key]: created.id });
    run.report.log(`Created ${stage} deployment ${created.id} (${created.readyState})`);
    return created;
  }

  /**
   * GET /v13/deployments/{id}, waiting out 429s as Vercel asks (Retry-After, X-RateLimit-Reset)
   * while the waits fit in `budgetMs`; a 429 that asks for more is returned as it is.
   */
  async function readDeployment(
    run: Run,
    id: string,
    budgetMs = maxWaitMs,
    onWait: (ms: number) => void = () => {},
  ) {
    let waited = 0;
    for (;;) {
      const result = await api.send<VercelDeployment>(
        'get deployment',
        `/v13/deployments/${encodeURIComponent(id)}`,
        { signal: run.signal },
      );
      if (result.ok || result.failure.status !== 429) return result;
      const wait = retryAfterMs(result.failure, now());
      if (waited + wait > budgetMs) return result;
      run.report.log(`Vercel asked to wait ${formatWait(wait)} before the next status request of ${id}`);
      await sleep(wait, run.signal);
      waited += wait;
      onWait(wait);
    }
  }

  function usable(run: Run, stage: Stage, id: string, state: VercelReadyState): boolean {
    if (!FINISHED_BADLY.has(state)) return true;
    if (state === 'CANCELED')
      run.report.log(`The saved ${stage} deployment ${id} was canceled; making a new one`, 'warn');
    return false;
  }

  /**
   * A deployment this job already made for this commit and stage (the newest not canceled),
   * listed with the documented filters only (project id, target; `until` to page back) and
   * matched on its `meta` here: the `meta-*` filters the CLI sends are not in the API reference.
   */
  async function findByMeta(run: Run, stage: Stage): Promise<ListedDeployment | undefined> {
    let until: number | undefined;
    for (let page = 0; page < LIST_PAGES; page++) {
      const result = await api.send<{
        deployments?: ListedDeployment[];
        pagination?: { next?: number | null };
      }>('list deployments', '/v6/deployments', {
        query: {
          projectId: run.projectId,
          target: stage === 'production' ? target : 'preview',
          limit: String(LIST_PAGE_SIZE),
          ...(until === undefined ? {} : { until: String(until) }),
        },
        signal: run.signal,
      });
      if (!result.ok) {
        if (result.failure.status === 404) return undefined; // no such project yet
        throw api.toError(result.failure);
      }
      const found = (result.value?.deployments ?? [])
        .filter(
          (d) => d.meta?.jobId === run.jobId && d.meta?.commit === run.commit && d.meta?.stage === stage,
        )
        .filter((d) => (d.readyState ?? d.state) !== 'CANCELED')
        .sort((a, b) => (b.createdAt ?? b.created ?? 0) - (a.createdAt ?? a.created ?? 0))[0];
      if (found) return found;
      const next = result.value?.pagination?.next;
      if (typeof next !== 'number') return undefined;
      until = next;
    }
    return undefined;
  }

  /** POST /v13/deployments; when Vercel answers `missing_files`, uploads exactly those and asks again. */
  async function create(run: Run, stage: Stage): Promise<VercelDeployment> {
    const body = {
      name: run.projectName,
      // The project's id: `project` overrides `name`, so a deployment never lands elsewhere.
      project: run.projectId,
      files: run.files.map(({ file, sha, size }) => ({ file, sha, size })),
      projectSettings: run.projectSettings,
      ...(stage === 'production' ? { target } : {}),
      meta: { jobId: run.jobId, commit: run.commit, stage },
    };
    const post = () =>
      api.send<VercelDeployment>('create deployment', '/v13/deployments', {
        method: 'POST',
        query: { skipAutoDetectionConfirmation: '1' },
        json: body,
        signal: run.signal,
      });
    let result = await post();
    if (!result.ok && result.failure.error?.code === 'missing_files') {
      const missing = new Set(result.failure.error.missing ?? run.files.map((f) => f.sha));
      await upload(run, missing);
      result = await post();
      if (!result.ok && result.failure.error?.code === 'missing_files') {
        throw new TransientError(
          `Vercel still reports ${result.failure.error.missing?.length ?? 'some'} files missing right after they were uploaded`,
        );
      }
    }
    if (!result.ok) throw api.toError(result.failure);
    if (!result.value?.id) throw new TransientError('Vercel created a deployment but returned no id');
    return result.value;
  }

  /** Uploads the files whose digest is in `missing`, each content once, a few at a time. */
  async function upload(run: Run, missing: ReadonlySet<string>): Promise<void> {
    const bySha = new Map<string, SiteFile>();
    for (const file of run.files)
      if (missing.has(file.sha) && !bySha.has(file.sha)) bySha.set(file.sha, file);
    const files = [...bySha.values()];
    const bytes = files.reduce((sum, f) => sum + f.size, 0);
    run.report.log(
      `Uploading ${files.length} of ${run.files.length} files (${formatBytes(bytes)}) that Vercel does not have yet`,
    );
    await eachLimited(files, uploadConcurrency, async (file) => {
      const content = await readFile(file.absolutePath);
      await api.call<unknown>('file upload', '/v2/files', {
        method: 'POST',
        body: content,
        headers: {
          'Content-Type': 'application/octet-stream',
          'Content-Length': String(content.byteLength),
          'x-vercel-digest': file.sha,
        },
        signal: run.signal,
      });
    });
  }

  /** Polls until READY (and, for production, until its alias is assigned), or fails. */
  async function waitUntilReady(run: Run, id: string, stage: Stage): Promise<VercelDeployment> {
    const started = now();
    let waited = 0;
    let interval = pollIntervalMs;
    let lastState: string | undefined;
    let failures = 0;
    let waitingForAlias = false;
    for (;;) {
      const budget = maxWaitMs - Math.max(waited, now() - started);
      const result = await readDeployment(run, id, budget, (ms) => {
        waited += ms;
      }).catch((error: unknown) => {
        // Network trouble while polling is ridden out like a 5xx.
        const transient = PipelineError.isInstance(error) && error.code === 'TRANSIENT';
        if (transient && !run.signal?.aborted && failures < POLL_FAILURES_TOLERATED) return undefined;
        throw error;
      });
      if (result === undefined) {
        failures++;
      } else if (result.ok) {
        failures = 0;
        const deployment = result.value;
        if (deployment.readyState !== lastState) {
          lastState = deployment.readyState;
          run.report.log(`${capitalize(stage)} deployment ${id} is ${deployment.readyState}`);
        }
        switch (deployment.readyState) {
          case 'READY':
            if (stage === 'staging' || hasAlias(deployment)) return deployment;
            if (deployment.aliasError) {
              throw new TransientError(
                redact(
                  `The production deployment ${id} is READY but Vercel could not give it project ${run.projectName}'s production domain (${[deployment.aliasError.code, deployment.aliasError.message].filter(Boolean).join(': ') || 'no reason given'}); its own URL is behind Deployment Protection, so it is not used instead`,
                ),
              );
            }
            waitingForAlias = true;
            break;
          case 'ERROR':
            throw await buildFailure(run, stage, deployment);
          case 'CANCELED':
            throw new PermanentError(`The ${stage} deployment ${id} was canceled on Vercel`);
          case 'BLOCKED':
            throw new PermanentError(
              redact(
                `The ${stage} deployment ${id} is BLOCKED on Vercel${deployment.errorMessage ? `: ${deployment.errorMessage}` : ''}; someone must unblock it in the Vercel dashboard`,
              ),
            );
          default:
            break;
        }
      } else if (result.failure.status >= 500 && failures < POLL_FAILURES_TOLERATED) {
        failures++;
      } else {
        throw api.toError(result.failure);
      }
      const elapsed = Math.max(waited, now() - started);
      if (elapsed >= maxWaitMs && waitingForAlias) {
        throw new TransientError(
          `The production deployment ${id} is READY but no production alias (project ${run.projectName}'s domain, e.g. ${run.projectName}.vercel.app) was assigned within ${formatWait(elapsed)}; its own URL is behind Deployment Protection, so it is not used instead`,
        );
      }
      if (elapsed >= maxWaitMs) {
        // Retryable: the checkpoint holds the id, so the next attempt resumes polling this one.
        throw new TransientError(
          `The ${stage} deployment ${id} is still ${lastState ?? 'unknown'} after ${formatWait(elapsed)} on Vercel`,
        );
      }
      await sleep(interval, run.signal);
      waited += interval;
      interval = Math.min(Math.round(interval * 1.5), Math.max(pollIntervalMs, MAX_POLL_INTERVAL_MS));
    }
  }

  /** The error for a deployment in ERROR: a BuildFailedError with the tail of its build output. */
  async function buildFailure(
    run: Run,
    stage: Stage,
    deployment: VercelDeployment,
  ): Promise<BuildFailedError> {
    const reason = [deployment.errorCode, deployment.errorMessage].filter(Boolean).join(': ');
    let output = '';
    let note: string;
    try {
      // follow=0: the events as one JSON array (without it the endpoint streams); builds=1: the build's.
      const events = await api.send<DeploymentEvent[] | { events?: DeploymentEvent[] }>(
        'deployment events',
        `/v3/deployments/${encodeURIComponent(deployment.id)}/events`,
        { query: { follow: '0', builds: '1', direction: 'backward', limit: '100' }, signal: run.signal },
      );
      if (events.ok) {
        const list = Array.isArray(events.value) ? events.value : (events.value?.events ?? []);
        output = [...list]
          .sort((a, b) => (a.created ?? 0) - (b.created ?? 0))
          .flatMap((e) => (e.payload?.text ?? e.text ?? '').split('\n'))
          .map((line) => line.trimEnd())
          .filter((line) => line.trim())
          .slice(-EVENT_TAIL_LINES)
          .map((line) => (line.length > 300 ? `${line.slice(0, 300)}…` : line))
          .join('\n');
        note = output ? `Last build output:\n${output}` : 'The build printed nothing.';
      } else {
        note = `Its build output could not be read (HTTP ${events.failure.status}).`;
      }
    } catch (error) {
      if (run.signal?.aborted) throw run.signal.reason;
      // The build failed either way: unreadable output must not make it look transient.
      note = `Its build output could not be read (${(error as Error).message}).`;
    }
    return new BuildFailedError(
      redact(
        `The ${stage} deployment ${deployment.id} failed on Vercel${reason ? ` (${reason})` : ''}. ${note}`,
      ),
      redact(output),
    );
  }
}

/** A production deployment counts once Vercel assigned it the project's domain. */
function hasAlias(deployment: VercelDeployment): boolean {
  return Boolean(deployment.aliasAssigned) && aliasesOf(deployment).length > 0;
}

function aliasesOf(deployment: VercelDeployment): string[] {
  return (deployment.alias ?? []).filter((a) => typeof a === 'string' && a.length > 0);
}

/** The production domain: the shortest alias (the project's own). Never the deployment's URL. */
function productionHost(deployment: VercelDeployment): string {
  return aliasesOf(deployment).reduce((best, a) => (a.length < best.length ? a : best));
}

/** The automation bypass secrets in a project's `protectionBypass` map, oldest first. */
function automationBypasses(map: VercelProject['protectionBypass']): string[] {
  return Object.entries(map ?? {})
    .filter(([secret, entry]) => secret && entry?.scope === 'automation-bypass')
    .sort(([, a], [, b]) => (a.createdAt ?? 0) - (b.createdAt ?? 0))
    .map(([secret]) => secret);
}

function savedId(saved: Readonly<Record<string, unknown>> | undefined, key: string): string | undefined {
  const value = saved?.[key];
  return typeof value === 'string' && value ? value : undefined;
}

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 1)
    throw new ConfigError(name, `must be a positive number, got ${value}`);
  return Math.floor(value);
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function short(commit: string): string {
  return commit.slice(0, 7);
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
