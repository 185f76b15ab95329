import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { PermanentError, shortHash, slugify, TransientError, ValidationError } from '@mvp-pipeline/core';
import { errnoCode, writeFileAtomic } from '../disk/files.js';
import type { ServerAppManifest } from './server-app.js';

/** One hosted app: a job's site, its port for good, and the deployment it serves now. */
export interface AppSite {
  jobId: string;
  projectName: string;
  /** The site's name: the project name for the first job that deployed it, else with a suffix. */
  slug: string;
  /** The public port on the host address; the same for the job across redeploys. */
  port: number;
  /** The live deployment (`<root>/apps/<deploymentId>/`); null until the first one is migrated. */
  deploymentId: string | null;
  commit: string | null;
  /** How to run it (from the template's manifest). */
  app: ServerAppManifest | null;
  deployedAt: string | null;
}

/** What `<root>/apps/sites.json` holds. */
export interface SitesFile {
  version: 1;
  sites: AppSite[];
}

export interface PortRange {
  first: number;
  last: number;
}

export const DEFAULT_PORT_RANGE: PortRange = { first: 4400, last: 4499 };
const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
const LOCK_STALE_MS = 60_000;
const LOCK_WAIT_MS = 30_000;

export const appsDir = (root: string) => path.join(root, 'apps');
export const sitesFile = (root: string) => path.join(appsDir(root), 'sites.json');
export const deploymentDir = (root: string, deploymentId: string) => path.join(appsDir(root), deploymentId);

export function parsePortRange(range: PortRange | undefined): PortRange {
  const r = range ?? DEFAULT_PORT_RANGE;
  if (
    !Number.isInteger(r.first) ||
    !Number.isInteger(r.last) ||
    r.first < 1024 ||
    r.last > 65535 ||
    r.last < r.first
  ) {
    throw new ValidationError('local app deployer settings', [
      { path: 'portRange', message: 'must be whole ports first ≤ last within 1024-65535' },
    ]);
  }
  return r;
}

/** The sites as recorded; none when the file does not exist yet. */
export async function readSites(root: string): Promise<AppSite[]> {
  let text: string;
  try {
    text = await readFile(sitesFile(root), 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
  let parsed: Partial<SitesFile> | undefined;
  try {
    parsed = JSON.parse(text) as Partial<SitesFile>;
  } catch {
    parsed = undefined;
  }
  if (parsed?.version !== 1 || !Array.isArray(parsed.sites)) {
    throw new PermanentError(`${sitesFile(root)} is not a sites file (version 1)`);
  }
  return parsed.sites;
}

/**
 * Reads, changes and writes sites.json under a lock that holds across processes (a lock folder;
 * one older than a minute is taken as left by a crash). `change` returns the new list.
 */
export async function updateSites<T>(
  root: string,
  change: (sites: AppSite[]) => Promise<{ sites: AppSite[]; result: T }> | { sites: AppSite[]; result: T },
): Promise<T> {
  await mkdir(appsDir(root), { recursive: true });
  const lock = path.join(appsDir(root), '.sites.lock');
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
      const since = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (since > LOCK_STALE_MS) await rm(lock, { recursive: true, force: true });
      else if (Date.now() > deadline)
        throw new TransientError(`${sitesFile(root)} stays locked by another deployer`);
      else await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  try {
    const { sites, result } = await change(await readSites(root));
    await writeFileAtomic(
      sitesFile(root),
      `${JSON.stringify({ version: 1, sites } satisfies SitesFile, null, 2)}\n`,
    );
    return result;
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/**
 * The site of `jobId`, made when it has none: the first job to deploy a project name owns its
 * slug (another job's gets its own `siteName`), and a port of `range` no other site has and nothing
 * listens on. Call inside updateSites.
 */
export async function siteFor(
  sites: AppSite[],
  options: { jobId: string; projectName: string; siteName: string; range: PortRange; host: string },
): Promise<{ sites: AppSite[]; site: AppSite }> {
  const known = sites.find((s) => s.jobId === options.jobId);
  if (known) return { sites, site: known };
  const base = SLUG.test(options.projectName) ? options.projectName : slugify(options.projectName);
  const own = SLUG.test(options.siteName) ? options.siteName : slugify(options.siteName, 63);
  const slug = [base, own, `${own}-${shortHash(`${options.jobId}\0`)}`].find(
    (candidate) => !sites.some((s) => s.slug === candidate),
  );
  if (!slug)
    throw new PermanentError(
      `Every site name for the project "${options.projectName}" belongs to another job`,
    );
  const taken = new Set(sites.map((s) => s.port));
  let port: number | undefined;
  for (let p = options.range.first; p <= options.range.last && port === undefined; p++) {
    if (!taken.has(p) && (await canListen(options.host, p))) port = p;
  }
  if (port === undefined) {
    throw new PermanentError(
      `No free port left for a site in ${options.range.first}-${options.range.last}: remove old sites or widen portRange`,
    );
  }
  const site: AppSite = {
    jobId: options.jobId,
    projectName: options.projectName,
    slug,
    port,
    deploymentId: null,
    commit: null,
    app: null,
    deployedAt: null,
  };
  return { sites: [...sites, site], site };
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}
