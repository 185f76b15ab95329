import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { runJob, submitJob } from '@mvp-pipeline/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynalite } from '../testing/dynalite.js';
import { pipelineWith } from '../testing/pipeline-doubles.js';
import { createDynamoJobStore } from './job-store.js';

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo?.close();
});

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('a whole job through runJob on the DynamoDB store', () => {
  it('ends COMPLETED with a record in the seed’s shape, the full history beside it, and one notification', async () => {
    const tableName = await dynamo.newTable('runjob');
    const store = createDynamoJobStore({ tableName }, { client: dynamo.client() });
    const { deps, notifications, triggered } = pipelineWith(store);
    const { job: submitted } = await submitJob(deps, { userId: 'user_42', productId: 'product_7' });
    expect(triggered).toEqual([{ jobId: submitted.jobId, userId: 'user_42', productId: 'product_7' }]);

    const result = await runJob(deps, {
      jobId: submitted.jobId,
      batch: { batchJobId: 'batch-1', attempt: 1 },
    });
    expect(result.outcome).toBe('COMPLETED');

    // Read back the item the web app's status endpoint reads, straight from the table.
    const { Item: item } = await dynamo
      .client()
      .send(new GetCommand({ TableName: tableName, Key: { jobId: submitted.jobId } }));
    expect(item).toMatchObject({
      jobId: submitted.jobId,
      userId: 'user_42',
      productId: 'product_7',
      businessName: 'EventHub',
      status: 'COMPLETED',
      currentStep: 'COMPLETED',
      progress: 100,
      createdAt: submitted.createdAt,
      timestamps: {
        createdAt: submitted.createdAt,
        startedAt: expect.stringMatching(ISO),
        completedAt: expect.stringMatching(ISO),
      },
      resources: {
        batchJobId: 'batch-1',
        githubRepo: {
          name: 'founderdash/eventhub-mvp',
          url: 'https://github.com/founderdash/eventhub-mvp',
          branch: 'main',
        },
        vercel: { projectId: 'prj_8fKx2LmQ9rT3vW5yZ1aB', deploymentId: 'dpl_4GhJ6kL8mN0pQ2rS4tU6' },
        // The provider-neutral slots, beside the seed's fields, as maps on the item.
        repository: {
          provider: 'github',
          name: 'founderdash/eventhub-mvp',
          url: 'https://github.com/founderdash/eventhub-mvp',
        },
        deployment: {
          provider: 'vercel',
          id: 'dpl_4GhJ6kL8mN0pQ2rS4tU6',
          url: 'https://eventhub.vercel.app',
        },
      },
      urls: {
        codeRepository: 'https://github.com/founderdash/eventhub-mvp',
        staging: 'https://eventhub-git-main-founderdash.vercel.app',
        production: 'https://eventhub.vercel.app',
      },
      errors: [],
    });
    expect(item).not.toHaveProperty('lease');
    const logs = item?.executionLogs as Array<{ at: string; step: string; level: string; message: string }>;
    expect(logs.length).toBeLessThanOrEqual(3);
    expect(logs.at(-1)).toMatchObject({
      step: 'DEPLOYING',
      level: 'info',
      message: expect.stringMatching(/answers|Live/),
    });

    // The store's view: checkpoints and usage unpacked, the notification recorded as sent.
    const { job } = await store.get({ jobId: submitted.jobId });
    // The record may be one write past the run's result: the lease release.
    const { lease: _lease, version: _version, timestamps: _timestamps, ...rest } = result.job;
    expect(job).toMatchObject(rest);
    expect(job?.version).toBeGreaterThanOrEqual(result.job.version);
    expect(job?.checkpoints).toMatchObject({
      FETCHING_DATA: { businessName: 'EventHub' },
      CREATING_REPO: { repo: { fullName: 'founderdash/eventhub-mvp' } },
      AI_DEVELOPMENT: { generator: 'claude:claude-sonnet-4-5', filesChanged: 3 },
      BUILDING: { checks: ['build', 'test', 'index.html'] },
      DEPLOYING: { productionUrl: 'https://eventhub.vercel.app' },
      notified: ['COMPLETED'],
    });
    expect(job?.usage).toMatchObject({ inputTokens: 18_000, outputTokens: 6_500, costUsd: 0.1515 });
    expect(job?.lease).toBeNull();

    const history = await store.readHistory({ jobId: submitted.jobId });
    const messages = history.logs.map((l) => l.message);
    expect(messages[0]).toMatch(/^Attempt 1 started \(batch job batch-1, attempt 1\)/);
    expect(messages).toEqual(expect.arrayContaining(['Writing the EventHub landing page from the spec']));
    expect(messages.at(-1)).toBe(logs.at(-1)?.message);
    expect(history.logs.length).toBeGreaterThan(logs.length);
    expect(history.errors).toEqual([]);

    expect(notifications).toHaveLength(1);
    expect(notifications[0]).toMatchObject({
      jobId: submitted.jobId,
      status: 'COMPLETED',
      productionUrl: 'https://eventhub.vercel.app',
    });

    // A second delivery of the same event finds the job ended and announced, and changes nothing.
    const again = await runJob(deps, { jobId: submitted.jobId });
    expect(again.outcome).toBe('ALREADY_ENDED');
    expect((await store.get({ jobId: submitted.jobId })).job?.version).toBe(job?.version);
  });

  it('ends FAILED with the error on the record and in the history when a step fails for good', async () => {
    const tableName = await dynamo.newTable('runjob');
    const store = createDynamoJobStore({ tableName }, { client: dynamo.client() });
    const { deps, notifications } = pipelineWith(store, { failDeploy: true });
    const { job: submitted } = await submitJob(deps, { userId: 'user_42', productId: 'product_7' });
    const result = await runJob(deps, { jobId: submitted.jobId });
    expect(result.outcome).toBe('FAILED');
    expect(result.job).toMatchObject({ status: 'FAILED', currentStep: 'DEPLOYING', progress: 85 });
    expect((await store.get({ jobId: submitted.jobId })).job?.lease).toBeNull();
    expect(result.job.errors.at(-1)).toMatchObject({ step: 'DEPLOYING', code: 'PERMANENT' });
    expect((await store.readHistory({ jobId: submitted.jobId })).errors).toHaveLength(1);
    expect(notifications.map((n) => n.status)).toEqual(['FAILED']);
  });

  it('lets one of two concurrent runners have the job; the other leaves it alone', async () => {
    const tableName = await dynamo.newTable('runjob');
    const store = createDynamoJobStore({ tableName }, { client: dynamo.client() });
    const { deps } = pipelineWith(store);
    // A second runner in another process: its own store instance on the same table.
    const other = pipelineWith(createDynamoJobStore({ tableName }, { client: dynamo.client() }));
    const { job } = await submitJob(deps, { userId: 'user_42', productId: 'product_7' });
    const outcomes = await Promise.all([
      runJob(deps, { jobId: job.jobId, runnerId: 'runner-a' }),
      runJob(other.deps, { jobId: job.jobId, runnerId: 'runner-b' }),
    ]);
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['COMPLETED', 'LEASE_HELD']);
    expect((await store.get({ jobId: job.jobId })).job?.status).toBe('COMPLETED');
  });
});
