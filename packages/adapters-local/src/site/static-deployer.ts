import { createHash, randomUUID } from 'node:crypto';
import {
  copyFile,
  link,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type Deployer,
  type DeployResult,
  PermanentError,
  PipelineError,
  type ProgressReporter,
  shortHash,
  slugify,
  ValidationError,
} from '@mvp-pipeline/core';
import { errnoCode, fsError, writeFileAtomic } from '../disk/files.js';

export interface StaticDeployerSettings {
  /**
   * The data directory. Sites are published under `<root>/sites/` (one folder per deployment,
   * plus one production alias per project) and recorded under `<root>/deployments/`.
   */
  root: string;
  /**
   * Where an HTTP server serves `<root>` (so `<root>/sites/x/` is `${baseUrl}/sites/x/`), e.g.
   * `http://127.0.0.1:4173`. Without it the URLs are file:// URLs of the sites' index.html.
   */
  baseUrl?: string;
}

/** What `<root>/deployments/<deploymentId>.json` holds. */
export interface StaticDeploymentRecord {
  deploymentId: string;
  jobId: string;
  commit: string;
  projectName: string;
  /** The production alias (`<root>/sites/<alias>`): the project name, or with a suffix on a clash. */
  alias: string;
  files: number;
  createdAt: string;
}

/** A Deployer that can also list what it published. */
export interface StaticDeployer extends Deployer {
  /** Every recorded deployment, oldest first. */
  listDeployments(): Promise<StaticDeploymentRecord[]>;
  /**
   * Removes the job's deployments (folders and records) and its production aliases, whose names
   * are then free for another job. Another job's are untouched.
   */
  remove(options: { jobId: string; signal?: AbortSignal }): Promise<{ removed: string[] }>;
}

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

/** The deployment id for (jobId, commit): stable, and never a slug (slugs have no `_`). */
export function staticDeploymentId(jobId: string, commit: string): string {
  return `dpl_${createHash('sha256').update(`${jobId}\0${commit}`).digest('hex').slice(0, 20)}`;
}

/**
 * Publishes a built site by copying it to `<root>/sites/<deploymentId>/` (the staging URL) and
 * pointing the project's production alias `<root>/sites/<alias>` at it (a symlink swapped
 * atomically). The deployment id derives from (jobId, commit): deploying the same commit of the
 * same job again copies nothing and returns the same deployment. The first job to deploy a
 * project name owns its alias; another job's project of the same name gets its `siteName`.
 * Copies are atomic (temp folder + rename); symlinks in the build output are not published.
 * Errors: PermanentError (no index.html in the output, unwritable root), TransientError (disk
 * full, too many open files); an aborted signal rejects with its reason.
 */
export function createStaticDeployer(settings: StaticDeployerSettings): StaticDeployer {
  const root = path.resolve(settings.root);
  const sites = path.join(root, 'sites');
  const records = path.join(root, 'deployments');
  const baseUrl = settings.baseUrl === undefined ? undefined : parseBaseUrl(settings.baseUrl);

  const urlOf = (name: string) =>
    baseUrl
      ? `${baseUrl}/sites/${encodeURIComponent(name)}/`
      : pathToFileURL(path.join(sites, name, 'index.html')).href;

  return {
    specificationVersion: 'v1',

    async deploy({
      jobId,
      commit,
      siteName,
      projectName,
      outputDir,
      checkpoint,
      report,
      signal,
    }): Promise<DeployResult> {
      signal?.throwIfAborted();
      const deploymentId = staticDeploymentId(jobId, commit);
      try {
        await mkdir(records, { recursive: true });
        await mkdir(sites, { recursive: true });
        const siteDir = path.join(sites, deploymentId);
        let files: number;
        if (await exists(siteDir)) {
          files = (await readRecord(records, deploymentId))?.files ?? (await countFiles(siteDir));
          report.log(
            `Deployment ${deploymentId} already holds commit ${commit.slice(0, 7)}: nothing to copy`,
          );
        } else {
          files = await publish(outputDir, sites, deploymentId, report, signal);
          report.log(`Published ${files} files as deployment ${deploymentId}`);
        }
        signal?.throwIfAborted();
        const alias = await claimAlias(records, { projectName, siteName, jobId });
        if (!(await readRecord(records, deploymentId))) {
          const record: StaticDeploymentRecord = {
            deploymentId,
            jobId,
            commit,
            projectName,
            alias,
            files,
            createdAt: new Date().toISOString(),
          };
          await writeFileAtomic(recordFile(records, deploymentId), `${JSON.stringify(record, null, 2)}\n`);
        }
        await pointAlias(sites, alias, deploymentId);
        await checkpoint.save({ deploymentId, alias });
        return {
          provider: 'local-static',
          deploymentId,
          stagingUrl: urlOf(deploymentId),
          productionUrl: urlOf(alias),
        };
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        throw PipelineError.isInstance(error)
          ? error
          : fsError(`deploy ${deploymentId} under ${sites}`, error);
      }
    },

    async remove({ jobId, signal }) {
      signal?.throwIfAborted();
      const removed: string[] = [];
      try {
        const claims = path.join(records, 'projects');
        for (const name of await namesIn(claims)) {
          if (!name.endsWith('.json')) continue;
          const claim = path.join(claims, name);
          const owner = JSON.parse(await readFile(claim, 'utf8')) as { alias?: string; jobId?: string };
          if (owner.jobId !== jobId || !owner.alias) continue;
          // The alias is a symlink into sites/; only the link goes (its target is removed below).
          await rm(path.join(sites, owner.alias), { force: true });
          await rm(claim, { force: true });
          removed.push(`site ${owner.alias}`);
        }
        for (const record of await this.listDeployments()) {
          if (record.jobId !== jobId) continue;
          await rm(path.join(sites, record.deploymentId), { recursive: true, force: true });
          await rm(recordFile(records, record.deploymentId), { force: true });
          removed.push(`deployment ${record.deploymentId}`);
        }
        return { removed };
      } catch (error) {
        throw PipelineError.isInstance(error)
          ? error
          : fsError(`remove the sites of ${jobId} under ${sites}`, error);
      }
    },

    async listDeployments() {
      const names = await readdir(records).catch((error: unknown) => {
        if (errnoCode(error) === 'ENOENT') return [];
        throw error;
      });
      const all = await Promise.all(
        names
          .filter((name) => name.endsWith('.json'))
          .map((name) => readRecord(records, name.slice(0, -'.json'.length))),
      );
      return all
        .filter((r): r is StaticDeploymentRecord => r !== undefined)
        .sort(
          (a, b) => a.createdAt.localeCompare(b.createdAt) || a.deploymentId.localeCompare(b.deploymentId),
        );
    },
  };
}

function parseBaseUrl(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ValidationError('static deployer settings', [
      { path: 'baseUrl', message: 'must be an http(s) URL' },
    ]);
  }
  return url.href.replace(/\/+$/, '');
}

const recordFile = (records: string, id: string) => path.join(records, `${id}.json`);

async function readRecord(records: string, id: string): Promise<StaticDeploymentRecord | undefined> {
  try {
    return JSON.parse(await readFile(recordFile(records, id), 'utf8')) as StaticDeploymentRecord;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/** The names in a folder; none when it does not exist. */
async function namesIn(dir: string): Promise<string[]> {
  return readdir(dir).catch((error: unknown) => {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  });
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
}

/** Copies the build output into a temp folder, then renames it into place. Returns the file count. */
async function publish(
  outputDir: string,
  sites: string,
  deploymentId: string,
  report: ProgressReporter,
  signal: AbortSignal | undefined,
): Promise<number> {
  const index = await stat(path.join(outputDir, 'index.html')).catch(() => undefined);
  if (!index?.isFile()) {
    throw new PermanentError(`The build output ${outputDir} has no index.html to publish`);
  }
  const temp = path.join(sites, `.tmp-${deploymentId}-${randomUUID()}`);
  try {
    const files = await copyTree(outputDir, temp, report, signal);
    signal?.throwIfAborted();
    try {
      await rename(temp, path.join(sites, deploymentId));
    } catch (error) {
      // Another runner published the same deployment first: theirs is the same content.
      if (!['EEXIST', 'ENOTEMPTY'].includes(errnoCode(error) ?? '')) throw error;
    }
    return files;
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

async function copyTree(
  from: string,
  to: string,
  report: ProgressReporter,
  signal: AbortSignal | undefined,
): Promise<number> {
  await mkdir(to, { recursive: true });
  let count = 0;
  for (const entry of await readdir(from, { withFileTypes: true })) {
    signal?.throwIfAborted();
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) count += await copyTree(source, target, report, signal);
    else if (entry.isFile()) {
      await copyFile(source, target);
      count++;
    } else {
      // A symlink could publish any file of this machine: only regular files go out.
      report.log(`Skipped ${path.relative(from, source) || entry.name}: not a regular file`, 'warn');
    }
  }
  return count;
}

async function countFiles(dir: string): Promise<number> {
  let count = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) count += await countFiles(path.join(dir, entry.name));
    else if (entry.isFile()) count++;
  }
  return count;
}

/**
 * The production alias of the job: the plain `projectName` when no other job owns it, else the
 * job's own `siteName`. Ownership is a claim file created with link(2), which fails when the
 * file exists, across processes too.
 */
async function claimAlias(
  records: string,
  names: { projectName: string; siteName: string; jobId: string },
): Promise<string> {
  const { projectName, jobId } = names;
  const slug = SLUG.test(projectName) ? projectName : slugify(projectName);
  const site = SLUG.test(names.siteName) ? names.siteName : slugify(names.siteName, 63);
  const claims = path.join(records, 'projects');
  await mkdir(claims, { recursive: true });
  for (const alias of [slug, site, `${site}-${shortHash(`${jobId}\0`)}`]) {
    const claim = path.join(claims, `${alias}.json`);
    const temp = `${claim}.${randomUUID()}.tmp`;
    await writeFile(temp, `${JSON.stringify({ alias, jobId })}\n`, { flag: 'wx' });
    try {
      await link(temp, claim);
      return alias;
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
      const owner = JSON.parse(await readFile(claim, 'utf8')) as { jobId?: string };
      if (owner.jobId === jobId) return alias;
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }
  throw new PermanentError(`Every production alias for the project "${projectName}" belongs to another job`);
}

/** Points `<sites>/<alias>` at the deployment: a new symlink renamed over the old one (atomic). */
async function pointAlias(sites: string, alias: string, deploymentId: string): Promise<void> {
  const temp = path.join(sites, `.tmp-alias-${alias}-${randomUUID()}`);
  // Windows links folders with junctions, which need an absolute target.
  if (process.platform === 'win32') await symlink(path.join(sites, deploymentId), temp, 'junction');
  else await symlink(deploymentId, temp);
  try {
    await rename(temp, path.join(sites, alias));
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}
