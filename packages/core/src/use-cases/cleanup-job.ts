import { DATABASE_PURPOSES } from '../domain/database.js';
import type { Job } from '../domain/job.js';
import { siteNameFor } from '../domain/naming.js';
import { isTerminalStatus } from '../domain/steps.js';
import { NotFoundError, PermanentError, PipelineError } from '../errors.js';
import type { DatabaseResource } from '../ports/database-provisioner.port.js';
import type { PipelineDeps, PipelinePorts } from './deps.js';

/** The databases of `jobId` that exist now (as the provisioner describes them), app first. */
export async function existingDatabases(
  ports: Pick<PipelinePorts, 'databases'>,
  jobId: string,
  signal?: AbortSignal,
): Promise<DatabaseResource[]> {
  const { databases } = ports;
  if (!databases) return [];
  const found: DatabaseResource[] = [];
  for (const purpose of DATABASE_PURPOSES) {
    const { resource } = await databases.describe({ jobId, purpose, ...(signal ? { signal } : {}) });
    if (resource) found.push(resource);
  }
  return found;
}

/**
 * The databases a job that ends without completing leaves, for its record (`resources.databases`,
 * what `mvp cleanup` removes). Asked only once the job has reached BUILDING, where the first one is
 * made; a provisioner that cannot answer is logged and gives none: it never keeps a job from ending.
 */
export async function databasesLeftBy(
  deps: Pick<PipelineDeps, 'ports' | 'settings'>,
  job: Job,
): Promise<DatabaseResource[]> {
  const reachedBuild = job.checkpoints.AI_DEVELOPMENT !== undefined || job.repairRounds > 0;
  if (!reachedBuild) return [];
  try {
    return await existingDatabases(deps.ports, job.jobId);
  } catch (error) {
    deps.ports.logger.warn(
      `Could not list the job's databases for its record: ${deps.settings.redact(String(error))}`,
      { jobId: job.jobId },
    );
    return [];
  }
}

export interface CleanupJobInput {
  jobId: string;
  /** Delete the job's repository too (its code is the founder's: only when asked). */
  repo?: boolean;
  signal?: AbortSignal;
}

export interface CleanupJobResult {
  job: Job;
  /** One line per thing removed (`database mvp_…`, `site …`, `repository owner/name`). */
  removed: string[];
  /** What this configuration cannot remove, for the operator to do by hand. */
  left: string[];
}

/**
 * Removes what a failed or cancelled job made: its databases and roles (with their stored
 * passwords), its deployment (the deployer's optional `remove`), and with `repo` its repository
 * (the repo host's optional `remove`). Idempotent: a second run removes nothing and says so.
 * The record keeps what was removed (`resources.cleanedUp`) and drops `resources.databases`.
 *
 * Errors: NotFoundError for an unknown job; PermanentError for a job that has not ended (cancel
 * it first) or that completed (its MVP is live); the ports' errors otherwise (what was removed
 * before one failed stays removed; run it again).
 */
export async function cleanupJob(
  deps: Pick<PipelineDeps, 'ports'>,
  input: CleanupJobInput,
): Promise<CleanupJobResult> {
  const { store, databases, deployer, repos, clock } = deps.ports;
  const { jobId, signal } = input;
  const { job } = await store.get({ jobId });
  if (!job) throw new NotFoundError(`No job with id ${jobId}`);
  if (!isTerminalStatus(job.status)) {
    throw new PermanentError(
      `Job ${jobId} is ${job.status}: cancel it (mvp cancel ${jobId}) and let it end before cleaning up`,
    );
  }
  if (job.status === 'COMPLETED') {
    throw new PermanentError(
      `Job ${jobId} completed: its MVP is live. Clean-up removes what failed or cancelled jobs left`,
    );
  }
  const removed: string[] = [];
  const left: string[] = [];
  const options = signal ? { signal } : {};

  if (databases) {
    for (const purpose of DATABASE_PURPOSES) {
      const { resource } = await databases.describe({ jobId, purpose, ...options });
      const { removed: done } = await databases.release({ jobId, purpose, ...options });
      if (done) removed.push(`database ${resource?.database ?? `${purpose} database`} and its role`);
    }
  }

  if (deployer.remove) {
    // The name DEPLOYING gave the target, where the job had read its spec.
    const businessName = job.checkpoints.FETCHING_DATA?.businessName ?? job.businessName;
    const siteName = businessName ? { siteName: siteNameFor(businessName, jobId) } : {};
    removed.push(...(await deployer.remove({ jobId, ...siteName, ...options })).removed);
  } else if (job.resources.deployment) {
    const { provider, id, url } = job.resources.deployment;
    left.push(`deployment ${id} (${provider}, ${url}): this deployer cannot remove it`);
  }

  const repository = repositoryOf(job);
  if (input.repo && repository) {
    if (!repos.remove) left.push(`repository ${repository.fullName}: this repo host cannot remove it`);
    else if ((await repos.remove({ jobId, repo: repository, ...options })).removed)
      removed.push(`repository ${repository.fullName}`);
  } else if (repository) {
    left.push(`repository ${repository.fullName} (kept: add --repo to delete it)`);
  }

  const written = await recordCleanup(deps, job, removed, clock.now().toISOString());
  return { job: written, removed, left };
}

/** The job's repository as the record knows it (its checkpoint, else its resources). */
function repositoryOf(job: Job): { name: string; fullName: string } | undefined {
  const ref = job.checkpoints.CREATING_REPO?.repo;
  if (ref) return { name: ref.name, fullName: ref.fullName };
  const known = job.resources.repository ?? job.resources.githubRepo;
  if (!known) return undefined;
  return { name: known.name.split('/').at(-1) ?? known.name, fullName: known.name };
}

/** Writes what was removed onto the record, re-reading after a version conflict. */
async function recordCleanup(
  deps: Pick<PipelineDeps, 'ports'>,
  first: Job,
  removed: string[],
  at: string,
): Promise<Job> {
  let job = first;
  for (let conflicts = 0; ; conflicts++) {
    const { databases: _gone, ...resources } = job.resources;
    const earlier = job.resources.cleanedUp?.removed ?? [];
    try {
      const { job: written } = await deps.ports.store.update({
        jobId: job.jobId,
        expectedVersion: job.version,
        patch: {
          set: { resources: { ...resources, cleanedUp: { at, removed: [...earlier, ...removed] } } },
          appendLogs: [
            {
              at,
              step: job.currentStep,
              level: 'info',
              message: removed.length
                ? `Cleaned up: ${removed.join(', ')}`
                : 'Cleaned up: nothing left to remove',
            },
          ],
        },
      });
      return written;
    } catch (error) {
      const conflict = PipelineError.isInstance(error) && error.code === 'VERSION_CONFLICT';
      if (!conflict || conflicts >= 5) throw error;
      const { job: fresh } = await deps.ports.store.get({ jobId: job.jobId });
      if (!fresh) throw error;
      job = fresh;
    }
  }
}
