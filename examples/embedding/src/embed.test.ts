import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { siteNameFor } from '@mvp-pipeline/core';
import { deployerContract } from '@mvp-pipeline/core/testing';
import * as vitest from 'vitest';
import { buildMvp } from './embed.js';
import { type MemoryHost, startMemoryHost } from './memory-host.js';

const { afterEach, beforeEach, describe, expect, it } = vitest;
const examples = fileURLToPath(new URL('../../', import.meta.url));

// A Deployer of our own runs the same contract suite as the pipeline's.
deployerContract(vitest, 'memory host', async () => {
  const host = await startMemoryHost();
  const dir = await mkdtemp(join(tmpdir(), 'mvp-embed-site-'));
  let sites = 0;
  return {
    deployer: host.deployer,
    async site(files) {
      const site = join(dir, `site-${++sites}`);
      await mkdir(site, { recursive: true });
      for (const [name, content] of Object.entries(files)) {
        await mkdir(dirname(join(site, name)), { recursive: true });
        await writeFile(join(site, name), content);
      }
      return site;
    },
    deploymentCount: async () => host.deployments.size,
    async dispose() {
      await host.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('embedding the pipeline with our own Deployer', () => {
  let host: MemoryHost;
  let dataDir: string;
  beforeEach(async () => {
    host = await startMemoryHost();
    dataDir = await mkdtemp(join(tmpdir(), 'mvp-embed-'));
  });
  afterEach(async () => {
    await host.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('runs a job to COMPLETED and the site lives only in our host', async () => {
    const spec = JSON.parse(await readFile(join(examples, 'eventhub.json'), 'utf8'));
    const job = await buildMvp({ spec, dataDir, host });

    expect(job).toMatchObject({ status: 'COMPLETED', currentStep: 'COMPLETED', progress: 100 });
    // The job's own site: another founder's EventHub gets another.
    expect(job.urls.production).toBe(`${host.url}/p/${siteNameFor(spec.product.name, job.jobId)}/`);
    expect(job.resources.deployment).toEqual({
      provider: 'memory-host',
      id: [...host.deployments.keys()][0],
      url: job.urls.production,
    });
    expect(host.deployments.size).toBe(1);
    const page = await (await fetch(job.urls.production!)).text();
    expect(page).toContain(spec.product.name);
    // The pipeline's own static deployer was never built: nothing was published on disk.
    expect(existsSync(join(dataDir, 'sites'))).toBe(false);
  });
});
