import { createFakePipeline } from '@mvp-pipeline/adapters-local';
import { describe, expect, it } from 'vitest';
import { type DatabasePurpose, databaseName } from '../domain/database.js';
import { PermanentError } from '../errors.js';
import type { DatabaseProvisioner, DatabaseResource } from '../ports/database-provisioner.port.js';
import type { Deployer } from '../ports/deployer.port.js';
import type { RepoHost } from '../ports/repo-host.port.js';
import { sampleSpec } from '../testing/fixtures.js';
import { cancelJob } from './cancel-job.js';
import { cleanupJob } from './cleanup-job.js';
import type { PipelineDeps } from './deps.js';
import { runJob } from './run-job.js';
import { submitJob } from './submit-job.js';

/** Databases kept in a map: what a provisioner made, found, released. */
function memoryDatabases(): DatabaseProvisioner & { made: Map<string, DatabaseResource> } {
  const made = new Map<string, DatabaseResource>();
  const resourceOf = (jobId: string, purpose: DatabasePurpose): DatabaseResource => {
    const name = databaseName(jobId, purpose);
    return {
      provider: 'memory',
      purpose,
      database: name,
      role: name,
      host: 'db:5432',
      secretRef: `mem/${name}`,
    };
  };
  return {
    specificationVersion: 'v1',
    made,
    async provision({ jobId, purpose }) {
      const resource = resourceOf(jobId, purpose);
      const created = !made.has(resource.database);
      made.set(resource.database, resource);
      return {
        resource,
        connectionUrl: `postgresql://${resource.role}:pw@db:5432/${resource.database}`,
        created,
      };
    },
    async describe({ jobId, purpose }) {
      return { resource: made.get(databaseName(jobId, purpose)) };
    },
    async release({ jobId, purpose }) {
      return { removed: made.delete(databaseName(jobId, purpose)) };
    },
  };
}

function setup() {
  const { deps, fakes } = createFakePipeline({ specs: [sampleSpec({ userId: 'u1', productId: 'p1' })] });
  const databases = memoryDatabases();
  const sites = new Set<string>();
  const removedRepos: string[] = [];
  // A deployer that makes a site, then fails: the job ends FAILED with things left behind.
  const deployer: Deployer = {
    specificationVersion: 'v1',
    async deploy({ jobId }) {
      sites.add(jobId);
      throw new PermanentError('the target refused the deployment');
    },
    async remove({ jobId }) {
      return { removed: sites.delete(jobId) ? [`site of ${jobId}`] : [] };
    },
  };
  const repos: RepoHost = {
    specificationVersion: 'v1',
    ensureRepo: (o) => fakes.repos.ensureRepo(o),
    push: (o) => fakes.repos.push(o),
    checkout: (o) => fakes.repos.checkout(o),
    async remove({ repo }) {
      removedRepos.push(repo.fullName);
      return { removed: removedRepos.filter((r) => r === repo.fullName).length === 1 };
    },
  };
  const withPorts: PipelineDeps = { ...deps, ports: { ...deps.ports, databases, deployer, repos } };
  return { deps: withPorts, databases, sites, removedRepos };
}

describe('cleanupJob', () => {
  it('lists what a failed job left on its record, and removes it (the repository only when asked)', async () => {
    const { deps, databases, sites, removedRepos } = setup();
    const { job: queued } = await submitJob(deps, { userId: 'u1', productId: 'p1' });
    // The app database, as a deployer of a server app provisions it before it fails.
    const { resource } = await databases.provision({ jobId: queued.jobId, purpose: 'app' });
    const result = await runJob(deps, { jobId: queued.jobId });
    expect(result.outcome).toBe('FAILED');
    expect(result.job.resources.databases).toEqual([resource]);
    expect(JSON.stringify(result.job)).not.toContain('pw@');

    const first = await cleanupJob(deps, { jobId: queued.jobId });
    expect(first.removed).toEqual([`database ${resource.database} and its role`, `site of ${queued.jobId}`]);
    expect(first.left).toEqual([expect.stringMatching(/^repository .* \(kept: add --repo to delete it\)$/)]);
    expect(databases.made.size).toBe(0);
    expect(sites.size).toBe(0);
    expect(removedRepos).toEqual([]);
    expect(first.job.resources.databases).toBeUndefined();
    expect(first.job.resources.cleanedUp?.removed).toEqual(first.removed);

    // Again, with --repo: nothing else is there, the repository goes.
    const second = await cleanupJob(deps, { jobId: queued.jobId, repo: true });
    expect(second.removed).toEqual([`repository ${first.job.resources.repository?.name}`]);
    expect(second.left).toEqual([]);
    const third = await cleanupJob(deps, { jobId: queued.jobId, repo: true });
    expect(third.removed).toEqual([]);
    expect(third.job.resources.cleanedUp?.removed).toHaveLength(3);
  });

  it('lists the databases of a job cancelled while no runner held it (its runner died past AI_DEVELOPMENT)', async () => {
    const { deps, databases } = setup();
    const { job } = await submitJob(deps, { userId: 'u1', productId: 'p1' });
    const { resource } = await databases.provision({ jobId: job.jobId, purpose: 'check' });
    await deps.ports.store.update({
      jobId: job.jobId,
      expectedVersion: job.version,
      patch: {
        set: {
          status: 'IN_PROGRESS',
          currentStep: 'BUILDING',
          lease: null,
          checkpoints: {
            AI_DEVELOPMENT: { commit: 'c'.repeat(40), generator: 'g', summary: 's', filesChanged: 1 },
          },
        },
      },
    });
    const { outcome, job: cancelled } = await cancelJob(deps, { jobId: job.jobId });
    expect(outcome).toBe('CANCELLED');
    expect(cancelled.resources.databases).toEqual([resource]);
    expect((await cleanupJob(deps, { jobId: job.jobId })).removed).toEqual([
      `database ${resource.database} and its role`,
    ]);
  });

  it('refuses an unknown job, one still running, and one whose MVP is live', async () => {
    const { deps } = setup();
    await expect(cleanupJob(deps, { jobId: 'job_nope' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const { job } = await submitJob(deps, { userId: 'u1', productId: 'p1' });
    await expect(cleanupJob(deps, { jobId: job.jobId })).rejects.toThrow(
      `Job ${job.jobId} is PENDING: cancel it (mvp cancel ${job.jobId}) and let it end before cleaning up`,
    );
    const { job: current } = await deps.ports.store.get({ jobId: job.jobId });
    await deps.ports.store.update({
      jobId: job.jobId,
      expectedVersion: current!.version,
      patch: { set: { status: 'COMPLETED', currentStep: 'COMPLETED' } },
    });
    await expect(cleanupJob(deps, { jobId: job.jobId })).rejects.toThrow(/completed: its MVP is live/);
  });
});
