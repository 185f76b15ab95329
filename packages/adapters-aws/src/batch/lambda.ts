import { createRedactor, type Logger } from '@mvp-pipeline/core';
import { createDynamoDocumentClient } from '../dynamo/context.js';
import { createDynamoJobStore } from '../dynamo/job-store.js';
import { type BatchJobStateChangeEvent, recordBatchFailure } from './batch-failure.js';

/**
 * The Lambda handler of the `aws.batch` FAILED rule: `DYNAMODB_TABLE` names the jobs table (the
 * runner table follows it), the client reads region and credentials from the Lambda
 * environment. It logs the outcome and the ids, never the event (it carries the job parameters).
 */
export function createBatchFailureHandler(
  env: Record<string, string | undefined> = process.env,
  logger: Pick<Logger, 'info'> = {
    info: (message, fields) => console.log(JSON.stringify({ message, ...fields })),
  },
) {
  const tableName = env.DYNAMODB_TABLE;
  if (!tableName) throw new Error('DYNAMODB_TABLE is required');
  const redact = createRedactor();
  const store = createDynamoJobStore(
    { tableName, ...(env.DYNAMODB_RUNNER_TABLE ? { runnerTableName: env.DYNAMODB_RUNNER_TABLE } : {}) },
    { client: createDynamoDocumentClient(), redact },
  );
  return async (event: BatchJobStateChangeEvent) => {
    const { outcome, job } = await recordBatchFailure({ store, redact }, event);
    logger.info(`Batch job ${event.detail.jobId} ${event.detail.status}: ${outcome}`, {
      batchJobId: event.detail.jobId,
      ...(job ? { jobId: job.jobId, status: job.status } : {}),
    });
    return { outcome };
  };
}

let configured: ReturnType<typeof createBatchFailureHandler> | undefined;

/**
 * The Lambda entry, exported by the runner's single-file bundle (`mvp.batchFailureHandler`), so
 * the rule's function runs the same code as the image: built from the environment on first call.
 */
export const batchFailureHandler = (event: BatchJobStateChangeEvent) => {
  configured ??= createBatchFailureHandler();
  return configured(event);
};
