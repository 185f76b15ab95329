import { sampleJob } from '@mvp-pipeline/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoJobStore } from '../dynamo/job-store.js';
import { type LocalDynamo, startDynalite } from '../testing/dynalite.js';
import { type BatchJobStateChangeEvent, recordBatchFailure } from './batch-failure.js';
import { createBatchFailureHandler } from './lambda.js';

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo?.close();
});

const NOW = new Date(Date.UTC(2026, 2, 4, 12, 0, 0));
const failedEvent = (jobId: string, batchJobId = 'b-1', exitCode = 75): BatchJobStateChangeEvent => ({
  source: 'aws.batch',
  'detail-type': 'Batch Job State Change',
  detail: {
    jobId: batchJobId,
    jobName: 'mvp-development-job',
    status: 'FAILED',
    statusReason: 'Job attempt duration exceeded timeout',
    parameters: { jobId },
    attempts: [{ container: { exitCode, reason: 'OutOfMemoryError?' }, statusReason: 'Task stopped' }],
  },
});

async function inProgress(batchJobId: string, leaseMs: number) {
  const tableName = await dynamo.newTable('batch');
  const store = createDynamoJobStore({ tableName }, { client: dynamo.client() });
  let { job } = await store.create({ job: sampleJob() });
  ({ job } = await store.update({
    jobId: job.jobId,
    expectedVersion: job.version,
    patch: {
      set: {
        status: 'IN_PROGRESS',
        currentStep: 'AI_DEVELOPMENT',
        attempt: 3,
        resources: { batchJobId },
        lease: { owner: 'runner-1', expiresAt: new Date(NOW.getTime() + leaseMs).toISOString() },
      },
    },
  }));
  return { store, job, tableName };
}

describe('the Batch FAILED-event handler', () => {
  it('marks a job left IN_PROGRESS FAILED with the Batch reason, and releases its lease', async () => {
    const { store, job } = await inProgress('b-1', 30_000);
    const { outcome } = await recordBatchFailure({ store, clock: () => NOW }, failedEvent(job.jobId));
    expect(outcome).toBe('MARKED_FAILED');
    const { job: stored } = await store.get({ jobId: job.jobId });
    expect(stored).toMatchObject({ status: 'FAILED', currentStep: 'AI_DEVELOPMENT', lease: null });
    expect(stored?.timestamps.completedAt).toBe(NOW.toISOString());
    expect(stored?.errors.at(-1)).toMatchObject({
      step: 'AI_DEVELOPMENT',
      code: 'PERMANENT',
      retryable: false,
      attempt: 3,
      message: expect.stringContaining('Job attempt duration exceeded timeout; exit code 75'),
    });
    // A second delivery of the event changes nothing.
    const again = await recordBatchFailure({ store, clock: () => NOW }, failedEvent(job.jobId));
    expect(again.outcome).toBe('ALREADY_ENDED');
    expect((await store.get({ jobId: job.jobId })).job?.version).toBe(stored?.version);
  });

  it('fails a job whose last attempt exited 75 (retryable: Batch had no attempt left)', async () => {
    const { store, job } = await inProgress('b-1', -1000); // the runner released nothing: its lease lapsed
    const event = failedEvent(job.jobId);
    event.detail.statusReason = 'Essential container in task exited';
    event.detail.attempts = [1, 2, 3].map(() => ({ container: { exitCode: 75 } }));
    expect((await recordBatchFailure({ store, clock: () => NOW }, event)).outcome).toBe('MARKED_FAILED');
    const { job: stored } = await store.get({ jobId: job.jobId });
    expect(stored?.status).toBe('FAILED');
    expect(stored?.errors.at(-1)?.message).toBe(
      'AWS Batch ended job b-1 FAILED after 3 attempt(s): Essential container in task exited; exit code 75',
    );
  });

  it('leaves a job the runner ended as it ended (COMPLETED stays COMPLETED)', async () => {
    const { store, job } = await inProgress('b-1', 30_000);
    const { job: done } = await store.update({
      jobId: job.jobId,
      expectedVersion: job.version,
      patch: { set: { status: 'COMPLETED', currentStep: 'COMPLETED', lease: null } },
    });
    const { outcome } = await recordBatchFailure({ store, clock: () => NOW }, failedEvent(job.jobId));
    expect(outcome).toBe('ALREADY_ENDED');
    expect((await store.get({ jobId: job.jobId })).job).toEqual(done);
  });

  it('leaves a job another Batch job holds a live lease on', async () => {
    const { store, job } = await inProgress('b-2', 30_000);
    const { outcome } = await recordBatchFailure({ store, clock: () => NOW }, failedEvent(job.jobId, 'b-1'));
    expect(outcome).toBe('HELD_BY_ANOTHER');
    expect((await store.get({ jobId: job.jobId })).job?.status).toBe('IN_PROGRESS');
  });

  it('ignores events that are not FAILED or not of a pipeline job', async () => {
    const { store, job } = await inProgress('b-1', 30_000);
    const succeeded = failedEvent(job.jobId);
    succeeded.detail.status = 'SUCCEEDED';
    expect((await recordBatchFailure({ store }, succeeded)).outcome).toBe('IGNORED');
    const foreign = failedEvent(job.jobId);
    delete foreign.detail.parameters;
    expect((await recordBatchFailure({ store }, foreign)).outcome).toBe('IGNORED');
    expect((await recordBatchFailure({ store }, failedEvent('no-such-job'))).outcome).toBe('IGNORED');
  });

  it('runs as a Lambda handler configured from DYNAMODB_TABLE, logging ids only', async () => {
    const { job, tableName } = await inProgress('b-1', -1000);
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDLOCALTEST',
      AWS_SECRET_ACCESS_KEY: 'local-test-secret',
    });
    try {
      const logged: string[] = [];
      const handler = createBatchFailureHandler(
        { ...process.env, DYNAMODB_TABLE: tableName },
        {
          info: (message, fields) => void logged.push(JSON.stringify([message, fields])),
        },
      );
      const event = failedEvent(job.jobId);
      event.detail.parameters = { jobId: job.jobId, databaseUrl: 'postgres://u:hunter2-secret@h/db' };
      expect(await handler(event)).toEqual({ outcome: 'MARKED_FAILED' });
      expect(logged.join('\n')).not.toContain('hunter2-secret');
      expect(() => createBatchFailureHandler({})).toThrow(/DYNAMODB_TABLE/);
    } finally {
      process.env = saved;
    }
  });
});
