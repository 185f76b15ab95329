import { idSchema, PipelineError, runJob, ValidationError } from '@mvp-pipeline/core';
import { batchEnvironment, loadConfig } from './config.js';
import { createPipeline } from './container.js';
import { EXIT } from './exit-codes.js';
import { withSecrets } from './secrets.js';
import { onSignals } from './signals.js';

/**
 * The AWS Batch entrypoint: runs one job (id from the job parameter `Ref::jobId` passed as the
 * argument, or JOB_ID), records the Batch job id and attempt on it, and exits with a code the
 * job definition's retry rules understand (see exit-codes.ts).
 */
export async function runBatchJob(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  // Batch leaves `Ref::jobId` in the command when the job was submitted without parameters.
  const argument = args[0]?.startsWith('Ref::') ? undefined : args[0];
  const batch = batchEnvironment(env);
  const jobId = argument ?? batch.jobId;
  const parsed = idSchema.safeParse(jobId);
  if (!parsed.success) {
    throw new ValidationError('job id', [
      { path: 'JOB_ID', message: jobId ? 'is not a job id' : 'is required (argument or JOB_ID)' },
    ]);
  }
  const config = loadConfig(await withSecrets(env));
  const pipeline = await createPipeline({ config });
  const { logger } = pipeline.deps.ports;
  const stop = onSignals();
  try {
    const result = await runJob(pipeline.deps, {
      jobId: parsed.data,
      signal: stop.signal,
      batch: {
        ...(batch.batchJobId ? { batchJobId: batch.batchJobId } : {}),
        ...(batch.attempt !== undefined ? { attempt: batch.attempt } : {}),
      },
    });
    logger.info('Run ended', { jobId: parsed.data, outcome: result.outcome, status: result.job.status });
    switch (result.outcome) {
      case 'COMPLETED':
      case 'ALREADY_ENDED':
      case 'LEASE_HELD':
      case 'LEASE_LOST':
        return EXIT.OK;
      case 'FAILED':
      case 'CANCELLED':
        return EXIT.PERMANENT;
      case 'INTERRUPTED':
        return EXIT.RETRYABLE;
    }
  } catch (error) {
    // The job could not be recorded (store unreachable, crash in the runner): let Batch retry it.
    const retryable = !PipelineError.isInstance(error) || error.retryable;
    logger.error(`Runner failed: ${error instanceof Error ? error.message : String(error)}`, {
      jobId: parsed.data,
    });
    return retryable ? EXIT.RETRYABLE : EXIT.PERMANENT;
  } finally {
    stop.dispose();
    await pipeline.close();
  }
}
