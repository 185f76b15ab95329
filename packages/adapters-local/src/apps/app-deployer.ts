import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import {
  type DatabaseProvisioner,
  type Deployer,
  type DeployResult,
  NotFoundError,
  PermanentError,
  PipelineError,
  type Redactor,
  ValidationError,
} from '@mvp-pipeline/core';
import { runCommand } from '@mvp-pipeline/workspace';
import { fsError } from '../disk/files.js';
import { type AppHost, createAppHost, urlOf } from './app-host.js';
import { publishApp } from './publish.js';
import { claimOwner, outputTail, serverAppOf } from './server-app.js';
import {
  type AppSite,
  appsDir,
  deploymentDir,
  type PortRange,
  parsePortRange,
  readSites,
  siteFor,
  updateSites,
} from './sites.js';

export interface LocalAppDeployerSettings {
  /** The data directory: apps go to `<root>/apps/<deploymentId>/`, the sites to `<root>/apps/sites.json`. */
  root: string;
  /** Each job's `app` database (provisioned at the first deploy, found again afterwards). */
  databases: DatabaseProvisioner;
  /** The address sites listen on (and their URLs name). Default 127.0.0.1. */
  baseHost?: '127.0.0.1' | (string & {});
  /** Public ports handed to sites. Default 4400-4499. */
  portRange?: PortRange;
  /** Time allowed to `migrate` and to `claim`. Default 5 minutes / 1 minute. */
  migrateTimeoutMs?: number;
  claimTimeoutMs?: number;
  /** How long a deployed app has to answer its readyPath. Default 90 000 ms. */
  startTimeoutMs?: number;
  /**
   * The host that serves the sites while this process lives (so the pipeline's site check finds
   * the app): on by default, stopping an app after `idleMs` (default 10 minutes) without a
   * connection; its listeners do not keep the process alive. `false`: publish only (a separate
   * `createAppHost` serves them).
   */
  serve?: boolean | { idleMs: number };
  redact?: Redactor;
}

/** A Deployer of server apps that also makes owner links and lists its sites. */
export interface LocalAppDeployer extends Deployer {
  /**
   * A one-time owner link of the job's app (its claim command against the app database, with
   * `APP_URL` the production URL): a secret for the owner only, never logged. `{}` when the
   * app already has an owner. NotFoundError when the job has no deployed site.
   */
  issueOwnerClaim(options: { jobId: string; signal?: AbortSignal }): Promise<{ url?: string }>;
  /**
   * Removes the job's site: stops its app, deletes its live deployment's folder and its entry in
   * sites.json (its port and slug are free again). Older deployments of the job (kept for a
   * rollback by hand) are not recorded, so they stay. Not its database: the provisioner's.
   */
  remove(options: { jobId: string; signal?: AbortSignal }): Promise<{ removed: string[] }>;
  /** The sites as recorded in sites.json. */
  listSites(): Promise<AppSite[]>;
  /** Stops the built-in host (its apps and listeners). */
  close(): Promise<void>;
}

const DEFAULT_MIGRATE_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_CLAIM_TIMEOUT_MS = 60_000;
const DEFAULT_IDLE_MS = 10 * 60_000;

/** The deployment id for (jobId, commit): stable, never a slug (slugs have no `_`). */
export function appDeploymentId(jobId: string, commit: string): string {
  return `app_${createHash('sha256').update(`${jobId}\0${commit}`).digest('hex').slice(0, 20)}`;
}

/**
 * Deploys a built server app on this machine: publishes `outputDir` (the built app with its
 * node_modules) as `<root>/apps/<deploymentId>/` (publishApp: atomic, shared files hard-linked;
 * `.git` and the build cache left out), provisions the job's `app` database, runs the manifest's
 * `migrate` against it (DATABASE_URL as a secret), gives the job's site a port that stays its own
 * across redeploys (sites.json; the first job to deploy a project name owns its slug), makes the
 * new deployment the site's live one, and, with `serve` (default), starts it on the built-in host
 * to be sure it answers. productionUrl and stagingUrl are both `http://<baseHost>:<port>/`: a site
 * runs one deployment at a time (older ones stay on disk for a rollback by hand).
 * Idempotent per (jobId, commit): the same deployment id, nothing copied again, `migrate` run
 * again (migrations are idempotent). Errors: PermanentError (not a server app, a failing
 * migrate, an app that does not start, no free port), TransientError (disk full, sites.json
 * locked, the database server unreachable); an aborted signal rejects with its reason.
 */
export function createLocalAppDeployer(settings: LocalAppDeployerSettings): LocalAppDeployer {
  const root = path.resolve(settings.root);
  const host = settings.baseHost ?? '127.0.0.1';
  const range = parsePortRange(settings.portRange);
  const migrateTimeoutMs = settings.migrateTimeoutMs ?? DEFAULT_MIGRATE_TIMEOUT_MS;
  const claimTimeoutMs = settings.claimTimeoutMs ?? DEFAULT_CLAIM_TIMEOUT_MS;
  if (!(migrateTimeoutMs > 0) || !(claimTimeoutMs > 0)) {
    throw new ValidationError('local app deployer settings', [
      { path: 'migrateTimeoutMs/claimTimeoutMs', message: 'must be positive numbers' },
    ]);
  }
  const serve = settings.serve ?? true;
  let appHost: AppHost | undefined;
  const hostOf = () => {
    appHost ??= createAppHost({
      root,
      databases: settings.databases,
      idleMs: typeof serve === 'object' ? serve.idleMs : DEFAULT_IDLE_MS,
      baseHost: host,
      keepAlive: false,
      ...(settings.startTimeoutMs ? { startTimeoutMs: settings.startTimeoutMs } : {}),
      ...(settings.redact ? { redact: settings.redact } : {}),
    });
    return appHost;
  };

  return {
    specificationVersion: 'v1',

    async deploy({ jobId, commit, siteName, projectName, outputDir, manifest, checkpoint, report, signal }) {
      signal?.throwIfAborted();
      if (!manifest?.start) {
        throw new PermanentError(
          'The local app deployer runs server apps (a manifest with start): a static site goes to the static deployer',
        );
      }
      const app = serverAppOf(manifest);
      const deploymentId = appDeploymentId(jobId, commit);
      const dir = deploymentDir(root, deploymentId);
      try {
        const exclude = ['.git', ...(manifest.buildCache ? [manifest.buildCache] : [])];
        const counts = await publishApp({
          from: outputDir,
          appsDir: appsDir(root),
          deploymentId,
          exclude,
          report,
          signal,
        });
        report.log(
          counts
            ? `Published the app as ${deploymentId}: ${counts.copied} files copied, ${counts.linked} hard-linked, ${counts.symlinks} links`
            : `Deployment ${deploymentId} already holds commit ${commit.slice(0, 7)}: nothing to copy`,
        );
        const site = await updateSites(root, async (sites) => {
          const made = await siteFor(sites, { jobId, projectName, siteName, range, host });
          return { sites: made.sites, result: made.site };
        });
        const url = `${urlOf(host, site.port)}/`;
        const database = await settings.databases.provision({
          jobId,
          purpose: 'app',
          ...(signal ? { signal } : {}),
        });
        if (app.migrate) {
          const migrated = await runCommand({
            argv: app.migrate,
            cwd: dir,
            workspace: dir,
            timeoutMs: migrateTimeoutMs,
            env: { APP_URL: urlOf(host, site.port), ...(database.ca ? { DATABASE_CA: database.ca } : {}) },
            // Migrations take session-level locks: past a pooler, straight to the server.
            secretEnv: { DATABASE_URL: database.directUrl ?? database.connectionUrl },
            ...(signal ? { signal } : {}),
          });
          if (migrated.exitCode !== 0) {
            throw new PermanentError(
              `${app.migrate.join(' ')} failed (${migrated.timedOut ? 'timed out' : `exit ${migrated.exitCode ?? migrated.signal}`}) on the app database:\n${outputTail(migrated.output)}`,
            );
          }
          report.log(`Migrated the app database (${database.resource.database})`);
        }
        signal?.throwIfAborted();
        await updateSites(root, (sites) => ({
          sites: sites.map((s) =>
            s.jobId === jobId ? { ...s, deploymentId, commit, app, deployedAt: new Date().toISOString() } : s,
          ),
          result: undefined,
        }));
        await checkpoint.save({ deploymentId, slug: site.slug, port: site.port });
        if (serve !== false) {
          const started = await hostOf().ensureRunning(jobId);
          if (!started.ok && started.notListening) {
            // Its port is taken: another host (a `serve` process reading sites.json) serves it.
            report.log(`${url} is served by another process: not hosting ${site.slug} here`, 'warn');
          } else if (!started.ok) {
            throw new PermanentError(`The deployed app does not start: ${started.failure}`);
          } else report.log(`Serving ${site.slug} on ${url} (started on demand, stopped when idle)`);
        }
        return {
          provider: 'local-app',
          deploymentId,
          stagingUrl: url,
          productionUrl: url,
        } satisfies DeployResult;
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        throw PipelineError.isInstance(error)
          ? error
          : fsError(`deploy ${deploymentId} under ${root}`, error);
      }
    },

    async issueOwnerClaim({ jobId, signal }) {
      const site = (await readSites(root)).find((s) => s.jobId === jobId);
      if (!site?.deploymentId || !site.app)
        throw new NotFoundError(`No app of job ${jobId} is deployed here`);
      if (!site.app.claim) throw new PermanentError(`The app of job ${jobId} declares no claim command`);
      const { connectionUrl, ca } = await settings.databases.provision({
        jobId,
        purpose: 'app',
        ...(signal ? { signal } : {}),
      });
      const outcome = await claimOwner({
        dir: deploymentDir(root, site.deploymentId),
        app: site.app,
        databaseUrl: connectionUrl,
        databaseCa: ca,
        appUrl: urlOf(host, site.port),
        timeoutMs: claimTimeoutMs,
        ...(signal ? { signal } : {}),
      });
      if (outcome.kind === 'owned') return {};
      if (outcome.kind === 'failed')
        throw new PermanentError(`No owner link for job ${jobId}: ${outcome.failure}`);
      return { url: outcome.url };
    },

    async remove({ jobId, signal }) {
      signal?.throwIfAborted();
      try {
        const site = await updateSites(root, (sites) => ({
          sites: sites.filter((s) => s.jobId !== jobId),
          result: sites.find((s) => s.jobId === jobId),
        }));
        if (!site) return { removed: [] };
        // The host sees the site gone: its listener closes and its app stops.
        await appHost?.refresh();
        const removed = [`site ${site.slug} (${urlOf(host, site.port)}/)`];
        if (site.deploymentId) {
          await rm(deploymentDir(root, site.deploymentId), { recursive: true, force: true });
          removed.push(`deployment ${site.deploymentId}`);
        }
        return { removed };
      } catch (error) {
        throw PipelineError.isInstance(error)
          ? error
          : fsError(`remove the site of ${jobId} under ${root}`, error);
      }
    },

    listSites: () => readSites(root),

    async close() {
      await appHost?.close();
      appHost = undefined;
    },
  };
}
