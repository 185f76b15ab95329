import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { runJob } from '@mvp-pipeline/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_AWS, startEventBridgeStandIn } from '../testing/aws-stand-ins.js';
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

const DATABASE_URL =
  'postgresql://founder:pa55-w0rd-s3cret@db-postgresql-fra1-12345.db.ondigitalocean.com:25060/founderdash?sslmode=require';
const PASSWORD = 'pa55-w0rd-s3cret';

/** The job record as FounderDash's API writes it: the seed's fields, nothing of ours. */
const seedRecord = (jobId: string) => ({
  jobId,
  userId: 'user_seed',
  productId: 'product_seed',
  businessName: 'EventHub',
  status: 'PENDING',
  currentStep: 'QUEUED',
  progress: 0,
  timestamps: { createdAt: '2026-03-04T09:59:00.000Z', estimatedCompletion: '2026-03-04T10:29:00.000Z' },
  resources: {},
  urls: {},
  errors: [],
  executionLogs: [],
});

describe("FounderDash's own calls on the jobs table", () => {
  it('put the record, send the event, let the runner run, get the record: COMPLETED with the URLs', async () => {
    const tableName = await dynamo.newTable('seed');
    const client = dynamo.client();
    const jobId = 'job_seed_1';
    // POST /api/mvp/deploy: put({ Item: jobRecord }), then the event.
    await client.send(new PutCommand({ TableName: tableName, Item: seedRecord(jobId) }));
    const events = await startEventBridgeStandIn(['mvp-development']);
    const eventBridge = new EventBridgeClient({ ...LOCAL_AWS, endpoint: events.endpoint });
    try {
      await eventBridge.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: 'mvp-development',
              Source: 'founderdash.web',
              DetailType: 'MVP Development Request',
              Detail: JSON.stringify({
                jobId,
                userId: 'user_seed',
                productId: 'product_seed',
                businessName: 'EventHub',
                databaseUrl: DATABASE_URL,
              }),
            },
          ],
        }),
      );
      expect(events.events).toHaveLength(1);
      // The rule's target passes the job id alone (Parameters.jobId = $.detail.jobId).
      const { detail } = events.events[0]!;
      const delivered = (detail as { jobId: string }).jobId;

      const store = createDynamoJobStore({ tableName }, { client: dynamo.client() });
      const { deps } = pipelineWith(store);
      const logged: string[] = [];
      const capture = (message: string, fields?: unknown) =>
        void logged.push(JSON.stringify([message, fields]));
      deps.ports.logger = { debug: capture, info: capture, warn: capture, error: capture };
      const result = await runJob(deps, {
        jobId: delivered,
        batch: { batchJobId: 'batch-seed', attempt: 1 },
      });
      expect(result.outcome).toBe('COMPLETED');

      // GET /api/mvp/status/:jobId: get({ Key: { jobId } }).
      const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: { jobId } }));
      expect(Item).toMatchObject({
        jobId,
        userId: 'user_seed',
        productId: 'product_seed',
        businessName: 'EventHub',
        status: 'COMPLETED',
        currentStep: 'COMPLETED',
        progress: 100,
        timestamps: {
          createdAt: '2026-03-04T09:59:00.000Z',
          estimatedCompletion: expect.any(String), // the runner's own estimate replaces FounderDash's
          completedAt: expect.any(String),
        },
        resources: {
          batchJobId: 'batch-seed',
          githubRepo: { url: 'https://github.com/founderdash/eventhub-mvp' },
        },
        urls: {
          codeRepository: 'https://github.com/founderdash/eventhub-mvp',
          staging: 'https://eventhub-git-main-founderdash.vercel.app',
          production: 'https://eventhub.vercel.app',
        },
        errors: [],
      });
      expect(Item?.executionLogs).toEqual(
        expect.arrayContaining([expect.objectContaining({ step: 'DEPLOYING' })]),
      );
      // The database URL rode on the event only: not logged, not stored.
      const history = await store.readHistory({ jobId });
      for (const text of [logged.join('\n'), JSON.stringify(Item), JSON.stringify(history)]) {
        expect(text).not.toContain(PASSWORD);
        expect(text).not.toContain('databaseUrl');
      }
    } finally {
      eventBridge.destroy();
      await events.close();
    }
  });

  it('adopts a document-shaped record with one conditional write, and only once', async () => {
    const tableName = await dynamo.newTable('seed');
    const client = dynamo.client();
    await client.send(new PutCommand({ TableName: tableName, Item: seedRecord('job_seed_2') }));
    const updates: string[] = [];
    const counting = {
      send: (
        command: { constructor: { name: string }; input: { UpdateExpression?: string } },
        options?: unknown,
      ) => {
        if (command.constructor.name === 'UpdateCommand')
          updates.push(String(command.input.UpdateExpression));
        return client.send(command as never, options as never);
      },
    };
    const store = createDynamoJobStore({ tableName }, { client: counting as never });
    const { job } = await store.get({ jobId: 'job_seed_2' });
    expect(job).toMatchObject({
      jobId: 'job_seed_2',
      version: 1,
      attempt: 0,
      template: 'landing',
      createdAt: '2026-03-04T09:59:00.000Z',
      lease: null,
      checkpoints: {},
      repairRounds: 0,
      cancelRequested: false,
    });
    expect(updates).toHaveLength(1);
    // A second reader (another process) finds it adopted and writes nothing.
    const other = createDynamoJobStore({ tableName }, { client: counting as never });
    expect((await other.get({ jobId: 'job_seed_2' })).job).toEqual(job);
    expect(updates).toHaveLength(1);
    // The record is now in the user's list (the index needs the top-level createdAt).
    expect((await store.listByUser({ userId: 'user_seed' })).jobs.map((j) => j.jobId)).toEqual([
      'job_seed_2',
    ]);
  });

  it('a runner taking the lease first adopts the record too', async () => {
    const tableName = await dynamo.newTable('seed');
    const client = dynamo.client();
    await client.send(new PutCommand({ TableName: tableName, Item: seedRecord('job_seed_3') }));
    const store = createDynamoJobStore({ tableName }, { client });
    const taken = await store.acquireLease({
      jobId: 'job_seed_3',
      owner: 'r',
      now: new Date(),
      ttlMs: 60_000,
    });
    expect(taken).toMatchObject({ acquired: true, job: { version: 2, lease: { owner: 'r' } } });
  });

  it('refuses a document-shaped record without the fields a job needs', async () => {
    const tableName = await dynamo.newTable('seed');
    const client = dynamo.client();
    const { userId: _userId, ...noUser } = seedRecord('job_seed_4');
    await client.send(new PutCommand({ TableName: tableName, Item: noUser }));
    const error = await createDynamoJobStore({ tableName }, { client })
      .get({ jobId: 'job_seed_4' })
      .catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('PERMANENT');
    expect((error as Error).message).toContain('userId');
    // Nothing was written to it.
    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: { jobId: 'job_seed_4' } }),
    );
    expect(Item).not.toHaveProperty('version');
  });
});
