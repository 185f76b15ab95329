import { type Job, runJob, submitJob } from '@mvp-pipeline/core';
import { createPipeline, loadConfig, TOKENS } from '@mvp-pipeline/runner-batch';
import type { MemoryHost } from './memory-host.js';

export interface BuildMvpOptions {
  /** The founder's product spec (the shape of examples/*.json). */
  spec: unknown;
  /** Where the pipeline keeps repositories and workspaces. */
  dataDir: string;
  /** Our own site host: its Deployer replaces the pipeline's. */
  host: MemoryHost;
}

/**
 * Builds one MVP with the whole pipeline, embedded in this process: the embedded defaults for
 * every port but one, the Deployer, which is ours. Returns the job as it ended.
 */
export async function buildMvp({ spec, dataDir, host }: BuildMvpOptions): Promise<Job> {
  const pipeline = await createPipeline({
    // Our host serves static files, so we build landing pages (the default `app` template is a
    // server app: a Deployer for it must run it, as the embedded local deployer does).
    config: loadConfig({
      MVP_DATA_DIR: dataDir,
      MVP_JOB_STORE: 'memory',
      MVP_NOTIFIER: 'none',
      MVP_TEMPLATE: 'landing',
    }),
    // The one line: our Deployer instead of the configured one.
    configure: (container) => container.rebind(TOKENS.Deployer).toConstantValue(host.deployer),
    logLevel: 'warn',
  });
  try {
    const registered = await pipeline.specFiles!.register(spec);
    const { job } = await submitJob(pipeline.deps, {
      userId: registered.user.id,
      productId: registered.product.id,
    });
    const result = await runJob(pipeline.deps, { jobId: job.jobId });
    return result.job;
  } finally {
    await pipeline.close();
  }
}
