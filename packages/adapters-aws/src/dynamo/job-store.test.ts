import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type JobStore, PipelineError } from '@mvp-pipeline/core';
import { jobStoreContract, rejectionCode, sampleJob } from '@mvp-pipeline/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DUMMY_CREDENTIALS, type LocalDynamo, startDynalite } from '../testing/dynalite.js';
import { createDynamoDocumentClient } from './context.js';
import { itemSize } from './item.js';
import { createDynamoJobStore } from './job-store.js';
import { runnerTableNameFor } from './table.js';

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo?.close();
});

jobStoreContract({ describe, it, expect, beforeEach, afterEach }, 'DynamoDB (dynalite)', async () => {
  const tableName = await dynamo.newTable();
  return { store: createDynamoJobStore({ tableName }, { client: dynamo.client() }) };
});

const T0 = new Date(Date.UTC(2026, 0, 1));
const line = (message: string, at = T0) => ({
  at: at.toISOString(),
  step: 'QUEUED' as const,
  level: 'info' as const,
  message,
});

describe('DynamoDB job store', () => {
  let tableName: string;
  let store: JobStore;
  beforeEach(async () => {
    tableName = await dynamo.newTable();
    store = createDynamoJobStore({ tableName }, { client: dynamo.client() });
  });
  const rawRecord = async (jobId: string) =>
    (await dynamo.client().send(new GetCommand({ TableName: tableName, Key: { jobId } }))).Item;
  // Runner state and history live in the runner table (JOBS_TABLE_SCHEMA), keyed by jobId and sk.
  const runnerTable = () => runnerTableNameFor(tableName);

  it('stores the seed’s fields as plain attributes, with top-level userId and createdAt for the index', async () => {
    const { job } = await store.create({ job: sampleJob({ userId: 'u-shape' }) });
    await store.update({
      jobId: job.jobId,
      expectedVersion: job.version,
      patch: {
        set: { status: 'IN_PROGRESS', currentStep: 'FETCHING_DATA', urls: { staging: 'https://s.example' } },
        appendLogs: [line('one'), line('two'), line('three'), line('four')],
      },
    });
    const item = await rawRecord(job.jobId);
    expect(item).toMatchObject({
      jobId: job.jobId,
      userId: 'u-shape',
      createdAt: job.createdAt,
      productId: job.productId,
      businessName: 'EventHub',
      status: 'IN_PROGRESS',
      currentStep: 'FETCHING_DATA',
      progress: 10,
      timestamps: { createdAt: job.createdAt },
      urls: { staging: 'https://s.example' },
      errors: [],
      version: 2,
    });
    // The record keeps the newest three lines; the history keeps all four.
    expect((item!.executionLogs as { message: string }[]).map((l) => l.message)).toEqual([
      'two',
      'three',
      'four',
    ]);
    expect(item).not.toHaveProperty('checkpoints');
    expect(item).not.toHaveProperty('usage');
    expect(item).not.toHaveProperty('lease');
    expect((await store.readHistory({ jobId: job.jobId })).logs.map((l) => l.message)).toEqual([
      'one',
      'two',
      'three',
      'four',
    ]);
  });

  it('writes the history beside the record, one item per write, in version order', async () => {
    let { job } = await store.create({ job: sampleJob() });
    for (const message of ['a', 'b']) {
      ({ job } = await store.update({
        jobId: job.jobId,
        expectedVersion: job.version,
        patch: { appendLogs: [line(message)] },
      }));
    }
    const { Items = [] } = await dynamo.client().send(
      new QueryCommand({
        TableName: runnerTable(),
        KeyConditionExpression: 'jobId = :j',
        ExpressionAttributeValues: { ':j': job.jobId },
      }),
    );
    expect(await rawRecord(job.jobId)).toMatchObject({ jobId: job.jobId, version: 3 });
    expect(Items.map((i) => i.sk)).toEqual(['LOG#0000000002#000', 'LOG#0000000003#000']);
  });

  it('shortens long messages on the record and keeps them whole in the history', async () => {
    const { job } = await store.create({ job: sampleJob() });
    const long = 'x'.repeat(1000);
    const { job: next } = await store.update({
      jobId: job.jobId,
      expectedVersion: job.version,
      patch: { appendLogs: [line(long)] },
    });
    expect(next.executionLogs[0]?.message).toHaveLength(300);
    expect((await store.readHistory({ jobId: job.jobId })).logs[0]?.message).toBe(long);
  });

  it('updates a record another store instance wrote (it reads first) and detects its conflicts', async () => {
    const other = createDynamoJobStore({ tableName }, { client: dynamo.client() });
    const { job } = await store.create({ job: sampleJob() });
    const { job: v2 } = await other.update({
      jobId: job.jobId,
      expectedVersion: job.version,
      patch: { set: { cancelRequested: true }, appendLogs: [line('cancel requested')] },
    });
    expect(v2.version).toBe(job.version + 1);
    // `store` still remembers version 1: its write must fail, not overwrite.
    const stale = store.update({
      jobId: job.jobId,
      expectedVersion: job.version,
      patch: { set: { attempt: 3 } },
    });
    const error = await stale.catch((e: unknown) => e);
    expect(PipelineError.isInstance(error) && error.code).toBe('VERSION_CONFLICT');
    expect((error as { actualVersion?: number }).actualVersion).toBe(v2.version);
    const { job: v3 } = await store.update({
      jobId: job.jobId,
      expectedVersion: v2.version,
      patch: { set: { attempt: 3 }, appendLogs: [line('resumed')] },
    });
    expect(v3).toMatchObject({ cancelRequested: true, attempt: 3, version: 3 });
    expect(v3.executionLogs.map((l) => l.message)).toEqual(['cancel requested', 'resumed']);
  });

  it('conditions a status change on the status it read', async () => {
    const { job } = await store.create({ job: sampleJob() });
    const { job: running } = await store.update({
      jobId: job.jobId,
      expectedVersion: job.version,
      patch: { set: { status: 'IN_PROGRESS', currentStep: 'FETCHING_DATA' } },
    });
    expect(running.status).toBe('IN_PROGRESS');
    expect((await rawRecord(job.jobId))?.status).toBe('IN_PROGRESS');
  });

  it('clears the lease attribute on release and keeps the record readable', async () => {
    const { job } = await store.create({ job: sampleJob() });
    const taken = await store.acquireLease({ jobId: job.jobId, owner: 'a', now: T0, ttlMs: 1000 });
    expect((await rawRecord(job.jobId))?.lease).toEqual({
      owner: 'a',
      expiresAt: '2026-01-01T00:00:01.000Z',
    });
    expect(taken.job.version).toBe(job.version + 1);
    const released = await store.releaseLease({ jobId: job.jobId, owner: 'a' });
    expect(released.job?.lease).toBeNull();
    expect(released.job?.version).toBe(job.version + 2);
    expect(await rawRecord(job.jobId)).not.toHaveProperty('lease');
    expect((await store.releaseLease({ jobId: 'nope', owner: 'a' })).job).toBeUndefined();
    expect(await rejectionCode(store.acquireLease({ jobId: 'nope', owner: 'a', now: T0, ttlMs: 1 }))).toBe(
      'NOT_FOUND',
    );
    expect(await rejectionCode(store.renewLease({ jobId: 'nope', owner: 'a', now: T0, ttlMs: 1 }))).toBe(
      'NOT_FOUND',
    );
  });

  const items = async (jobId: string) =>
    (
      await dynamo.client().send(
        new QueryCommand({
          TableName: runnerTable(),
          KeyConditionExpression: 'jobId = :j',
          ExpressionAttributeValues: { ':j': jobId },
          ConsistentRead: true,
        }),
      )
    ).Items ?? [];
  const checkpoint = (specHash: string) => ({ FETCHING_DATA: { specHash, businessName: 'EventHub' } });

  it('keeps checkpoints and usage beside the record, alternating two slots the record points at', async () => {
    let { job } = await store.create({ job: sampleJob() });
    expect((await items(job.jobId)).map((i) => i.sk)).toEqual([]); // a new job has no state
    expect(await rawRecord(job.jobId)).toBeDefined();
    const slots: unknown[] = [];
    for (const hash of ['a', 'b', 'c']) {
      ({ job } = await store.update({
        jobId: job.jobId,
        expectedVersion: job.version,
        patch: { set: { checkpoints: checkpoint(hash) } },
      }));
      const record = await rawRecord(job.jobId);
      slots.push([record?.stateSlot, record?.stateVersion]);
    }
    expect(slots).toEqual([
      [0, 2],
      [1, 3],
      [0, 4],
    ]);
    // A write that leaves checkpoints and usage alone writes no state and keeps the pointer.
    ({ job } = await store.update({
      jobId: job.jobId,
      expectedVersion: job.version,
      patch: { set: { attempt: 2 } },
    }));
    const all = [await rawRecord(job.jobId), ...(await items(job.jobId))];
    expect(all.map((i) => [i?.sk ?? 'JOB', i?.version])).toEqual([
      ['JOB', 5],
      ['JOB#STATE#0', 4],
      ['JOB#STATE#1', 3],
    ]);
    expect(all[0]).toMatchObject({ stateSlot: 0, stateVersion: 4 });
    const fresh = createDynamoJobStore({ tableName }, { client: dynamo.client() });
    expect((await fresh.get({ jobId: job.jobId })).job).toEqual(job);
    expect(job.checkpoints).toEqual(checkpoint('c'));
  });

  it('a stale writer cannot overwrite the state the record points at', async () => {
    const stale = createDynamoJobStore({ tableName }, { client: dynamo.client() });
    const { job } = await store.create({ job: sampleJob() });
    await stale.get({ jobId: job.jobId }); // remembers version 1
    const { job: v2 } = await store.update({
      jobId: job.jobId,
      expectedVersion: 1,
      patch: { set: { checkpoints: checkpoint('winner') } },
    });
    const lost = await stale
      .update({ jobId: job.jobId, expectedVersion: 1, patch: { set: { checkpoints: checkpoint('stale') } } })
      .catch((e: unknown) => e);
    expect(PipelineError.isInstance(lost) && lost.code).toBe('VERSION_CONFLICT');
    const fresh = createDynamoJobStore({ tableName }, { client: dynamo.client() });
    expect((await fresh.get({ jobId: job.jobId })).job).toEqual(v2);
  });

  it('a write that fails after its state write leaves the record and its state as they were', async () => {
    const slow = createDynamoJobStore({ tableName }, { client: dynamo.client() });
    let { job } = await store.create({ job: sampleJob() });
    ({ job } = await store.update({
      jobId: job.jobId,
      expectedVersion: job.version,
      patch: { set: { checkpoints: checkpoint('kept') } },
    }));
    await slow.get({ jobId: job.jobId });
    // Another write moves the record on without touching the state…
    ({ job } = await store.update({
      jobId: job.jobId,
      expectedVersion: job.version,
      patch: { set: { attempt: 1 } },
    }));
    // …so the slow writer's state lands in the free slot, and then its record write fails.
    const lost = await slow
      .update({ jobId: job.jobId, expectedVersion: 2, patch: { set: { checkpoints: checkpoint('orphan') } } })
      .catch((e: unknown) => e);
    expect(PipelineError.isInstance(lost) && lost.code).toBe('VERSION_CONFLICT');
    expect((await items(job.jobId)).map((i) => i.sk)).toContain('JOB#STATE#1');
    const fresh = createDynamoJobStore({ tableName }, { client: dynamo.client() });
    expect((await fresh.get({ jobId: job.jobId })).job).toEqual(job);
    // The next state write takes that slot over.
    const { job: next } = await store.update({
      jobId: job.jobId,
      expectedVersion: job.version,
      patch: { set: { checkpoints: checkpoint('next') } },
    });
    expect((await fresh.get({ jobId: job.jobId })).job).toEqual(next);
  });

  it('creates a job with state once: a second create conflicts, a retry after a failed create succeeds', async () => {
    const withState = { ...sampleJob(), checkpoints: checkpoint('first') };
    const { job } = await store.create({ job: withState });
    const again = await store
      .create({ job: { ...withState, checkpoints: checkpoint('second') } })
      .catch((e: unknown) => e);
    expect(PipelineError.isInstance(again) && again.code).toBe('VERSION_CONFLICT');
    expect((await store.get({ jobId: job.jobId })).job?.checkpoints).toEqual(checkpoint('first'));

    // A create that wrote its state and then failed left the state item alone: a retry goes through.
    const retried = { ...sampleJob(), checkpoints: checkpoint('retried') };
    await dynamo.client().send(
      new PutCommand({
        TableName: runnerTable(),
        Item: { jobId: retried.jobId, sk: 'JOB#STATE#0', version: 1 },
      }),
    );
    await store.create({ job: retried });
    const fresh = createDynamoJobStore({ tableName }, { client: dynamo.client() });
    expect((await fresh.get({ jobId: retried.jobId })).job?.checkpoints).toEqual(checkpoint('retried'));
  });

  it('retries an update whose record write failed after its state write (a transient error)', async () => {
    let failNextUpdate = true;
    const real = dynamo.client();
    const flaky = {
      send: (command: { constructor: { name: string } }, options?: unknown) => {
        if (command.constructor.name === 'UpdateCommand' && failNextUpdate) {
          failNextUpdate = false;
          return Promise.reject(
            Object.assign(new Error('slow down'), {
              name: 'ProvisionedThroughputExceededException',
              $fault: 'client',
              $metadata: { httpStatusCode: 400 },
            }),
          );
        }
        return real.send(command as never, options as never);
      },
    };
    const flakyStore = createDynamoJobStore({ tableName }, { client: flaky as never });
    const { job } = await flakyStore.create({ job: sampleJob() });
    const patch = { set: { checkpoints: checkpoint('retried') } };
    const first = await flakyStore
      .update({ jobId: job.jobId, expectedVersion: job.version, patch })
      .catch((e: unknown) => e);
    expect(PipelineError.isInstance(first) && first.code).toBe('TRANSIENT');
    const { job: next } = await flakyStore.update({ jobId: job.jobId, expectedVersion: job.version, patch });
    const fresh = createDynamoJobStore({ tableName }, { client: dynamo.client() });
    expect((await fresh.get({ jobId: job.jobId })).job).toEqual(next);
    expect(next.checkpoints).toEqual(checkpoint('retried'));
  });

  it('names a record whose state item is missing instead of inventing empty checkpoints', async () => {
    const { job } = await store.create({ job: sampleJob() });
    await store.update({
      jobId: job.jobId,
      expectedVersion: job.version,
      patch: { set: { checkpoints: checkpoint('x') } },
    });
    await dynamo
      .client()
      .send(new DeleteCommand({ TableName: runnerTable(), Key: { jobId: job.jobId, sk: 'JOB#STATE#0' } }));
    const fresh = createDynamoJobStore({ tableName }, { client: dynamo.client() });
    const error = await fresh.get({ jobId: job.jobId }).catch((e: unknown) => e);
    expect(PipelineError.isInstance(error) && error.code).toBe('PERMANENT');
    expect((error as Error).message).toContain('JOB#STATE#0, version 2');
  });

  const damages = {
    'its state item deleted': async (jobId: string) => {
      await dynamo
        .client()
        .send(new DeleteCommand({ TableName: runnerTable(), Key: { jobId, sk: 'JOB#STATE#0' } }));
      return 'JOB#STATE#0, version 2) is missing';
    },
    'its state item overwritten with garbage': async (jobId: string) => {
      const packed = Uint8Array.from([1, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x13]);
      await dynamo.client().send(
        new PutCommand({
          TableName: runnerTable(),
          Item: { jobId, sk: 'JOB#STATE#0', version: 2, packed },
        }),
      );
      return 'JOB#STATE#0, version 2) cannot be unpacked';
    },
    'its record item corrupt': async (jobId: string) => {
      const record = await rawRecord(jobId);
      await dynamo.client().send(
        new PutCommand({
          TableName: tableName,
          Item: { ...record, status: 'EXPLODED', executionLogs: 'x' },
        }),
      );
      return 'its record item is damaged: status';
    },
  };
  for (const [damage, harm] of Object.entries(damages)) {
    it(`lists the other jobs, with a warning naming it, when one job has ${damage}`, async () => {
      const warnings: { message: string; fields?: Record<string, unknown> }[] = [];
      const logger = {
        warn: (message: string, fields?: Record<string, unknown>) => warnings.push({ message, fields }),
      };
      const { job: healthy } = await store.create({ job: sampleJob({ userId: 'u-damage' }) });
      const { job: created } = await store.create({ job: sampleJob({ userId: 'u-damage' }) });
      await store.update({
        jobId: created.jobId,
        expectedVersion: created.version,
        patch: { set: { checkpoints: checkpoint('x') } },
      });
      const named = await harm(created.jobId);
      const fresh = createDynamoJobStore({ tableName }, { client: dynamo.client(), logger });
      const now = new Date(Date.UTC(2026, 5, 1));
      expect((await fresh.listRunnable({ now })).jobs.map((j) => j.jobId)).toEqual([healthy.jobId]);
      expect((await fresh.listByUser({ userId: 'u-damage' })).jobs.map((j) => j.jobId)).toEqual([
        healthy.jobId,
      ]);
      expect(warnings).toHaveLength(2);
      for (const warning of warnings) {
        expect(warning.fields?.jobId).toBe(created.jobId);
        expect(String(warning.fields?.reason)).toContain(named);
      }
      // Read directly, the damaged job still fails, naming the item.
      const error = await fresh.get({ jobId: created.jobId }).catch((e: unknown) => e);
      expect(PipelineError.isInstance(error) && error.code).toBe('PERMANENT');
      expect((error as Error).message).toContain(created.jobId);
      expect((error as Error).message).toContain(named);
    });
  }

  it('keeps the record under its byte budget: fewer recent lines, then shorter messages; the history keeps all', async () => {
    const { job } = await store.create({ job: sampleJob() });
    const url = `https://${'long-subdomain-'.repeat(3)}example.vercel.app`;
    const lines = Array.from({ length: 3 }, (_, i) => line(`step ${i}: ${url} answers`));
    const { job: next } = await store.update({
      jobId: job.jobId,
      expectedVersion: job.version,
      patch: {
        set: { urls: { staging: url, production: url, codeRepository: url } },
        appendLogs: lines,
        appendErrors: [
          {
            at: T0.toISOString(),
            step: 'DEPLOYING',
            code: 'PERMANENT',
            message: `x${'y'.repeat(290)}`,
            retryable: false,
            attempt: 1,
          },
        ],
      },
    });
    expect(itemSize((await rawRecord(job.jobId))!)).toBeLessThanOrEqual(1000);
    expect(next.executionLogs).toHaveLength(1);
    expect(next.executionLogs[0]?.message).toContain('step 2');
    expect(next.errors).toHaveLength(1);
    expect(next.errors[0]?.message).toHaveLength(100); // shortened: one line and one error were not enough
    const history = await store.readHistory({ jobId: job.jobId });
    expect(history.logs).toEqual(lines);
    expect(history.errors[0]?.message).toHaveLength(291);
  });

  it('rejects a cursor from another user or one it did not hand out', async () => {
    for (let i = 0; i < 3; i++) await store.create({ job: sampleJob({ userId: 'pager' }) });
    const { nextCursor } = await store.listByUser({ userId: 'pager', limit: 2 });
    expect(nextCursor).toBeTruthy();
    expect(await rejectionCode(store.listByUser({ userId: 'other', cursor: nextCursor! }))).toBe(
      'VALIDATION',
    );
    expect(await rejectionCode(store.listByUser({ userId: 'pager', cursor: 'bogus' }))).toBe('VALIDATION');
    expect(await rejectionCode(store.listByUser({ userId: 'pager', limit: 0 }))).toBe('VALIDATION');
  });

  it('answers NOT_FOUND for the history of an unknown job', async () => {
    expect(await rejectionCode(store.readHistory({ jobId: 'nope' }))).toBe('NOT_FOUND');
  });

  it('finds its endpoint, region and credentials in the environment (AWS_ENDPOINT_URL_DYNAMODB)', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
    });
    try {
      const fromEnv = createDynamoJobStore({ tableName }, { client: createDynamoDocumentClient() });
      const { job } = await fromEnv.create({ job: sampleJob() });
      expect((await store.get({ jobId: job.jobId })).job).toEqual(job);
    } finally {
      process.env = saved;
    }
  });

  it('maps a missing table to a permanent error that names it', async () => {
    const missing = createDynamoJobStore({ tableName: 'no-such-table' }, { client: dynamo.client() });
    const error = await missing.get({ jobId: 'x' }).catch((e: unknown) => e);
    expect(PipelineError.isInstance(error) && error.code).toBe('PERMANENT');
    expect((error as Error).message).toMatch(/no-such-table.*ResourceNotFoundException/);
  });

  it('maps an unreachable endpoint to a transient error', async () => {
    const client = createDynamoDocumentClient({
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      credentials: DUMMY_CREDENTIALS,
      maxAttempts: 1,
    });
    const error = await createDynamoJobStore({ tableName }, { client })
      .get({ jobId: 'x' })
      .catch((e: unknown) => e);
    expect(PipelineError.isInstance(error) && error.code).toBe('TRANSIENT');
  });

  it('refuses settings it cannot honour', () => {
    expect(() => createDynamoJobStore({ tableName: '' }, { client: dynamo.client() })).toThrow(/tableName/);
    expect(() => createDynamoJobStore({ tableName, recentLogLimit: 0 }, { client: dynamo.client() })).toThrow(
      /recentLogLimit/,
    );
  });
});

describe('DynamoDB job store, against SDK errors DynamoDB sends and dynalite does not', () => {
  /** A document client whose `send` answers from a script (the SDK's own error classes). */
  const scripted = (answer: (input: Record<string, unknown>, name: string) => unknown) => {
    const calls: string[] = [];
    const client = {
      send: async (command: { input: Record<string, unknown>; constructor: { name: string } }) => {
        calls.push(command.constructor.name);
        const result = answer(command.input, command.constructor.name);
        if (result instanceof Error) throw result;
        return result;
      },
    };
    return { client: client as never, calls };
  };
  const sdkError = (name: string, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(`${name} happened`), {
      name,
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      ...extra,
    });

  it('reads the conflicting record off the exception (ALL_OLD) instead of reading again', async () => {
    const job = sampleJob();
    const storedV5 = {
      jobId: { S: job.jobId },
      version: { N: '5' },
      status: { S: 'PENDING' },
      currentStep: { S: 'QUEUED' },
      createdAt: { S: job.createdAt },
      userId: { S: job.userId },
    };
    const { client, calls } = scripted((_input, name) => {
      if (name === 'PutCommand') return {};
      return sdkError('ConditionalCheckFailedException', { Item: storedV5 });
    });
    const store = createDynamoJobStore({ tableName: 't' }, { client });
    await store.create({ job });
    const error = await store
      .update({ jobId: job.jobId, expectedVersion: job.version, patch: { set: { attempt: 1 } } })
      .catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('VERSION_CONFLICT');
    expect((error as { actualVersion?: number }).actualVersion).toBe(5);
    expect(calls).toEqual(['PutCommand', 'UpdateCommand']);
  });

  it('reads jobs and pages of a user’s jobs strongly consistent (a job written just before is on the page)', async () => {
    const job = sampleJob({ userId: 'u' });
    const batchInputs: Record<string, unknown>[] = [];
    const { client } = scripted((input, name) => {
      if (name === 'QueryCommand')
        return { Items: [{ jobId: job.jobId, userId: 'u', createdAt: job.createdAt }] };
      if (name === 'BatchGetCommand') {
        batchInputs.push(input);
        return { Responses: { t: [{ ...job }], 't-runner': [] } };
      }
      return {};
    });
    const store = createDynamoJobStore({ tableName: 't' }, { client });
    expect((await store.listByUser({ userId: 'u' })).jobs.map((j) => j.jobId)).toEqual([job.jobId]);
    await store.get({ jobId: job.jobId });
    expect(batchInputs.length).toBeGreaterThanOrEqual(2);
    for (const input of batchInputs) {
      for (const request of Object.values(
        input.RequestItems as Record<string, { ConsistentRead?: boolean }>,
      )) {
        expect(request.ConsistentRead).toBe(true);
      }
    }
  });

  it.each([
    ['ProvisionedThroughputExceededException', 'TRANSIENT'],
    ['ThrottlingException', 'TRANSIENT'],
    ['InternalServerError', 'TRANSIENT'],
    ['ValidationException', 'PERMANENT'],
    ['AccessDeniedException', 'PERMANENT'],
  ])('maps %s to %s', async (name, code) => {
    const fault =
      name === 'InternalServerError' ? { $fault: 'server', $metadata: { httpStatusCode: 500 } } : {};
    const { client } = scripted(() => sdkError(name, fault));
    const store = createDynamoJobStore({ tableName: 't' }, { client });
    const error = await store.get({ jobId: 'j' }).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe(code);
    expect((error as Error).message).toContain(name);
  });

  it('keeps secrets out of error messages', async () => {
    const { client } = scripted(() =>
      sdkError('AccessDeniedException', { message: 'User AKIA' + 'ABCDEFGHIJKLMNOP is not authorized' }),
    );
    const error = await createDynamoJobStore({ tableName: 't' }, { client })
      .get({ jobId: 'j' })
      .catch((e: unknown) => e);
    expect((error as Error).message).not.toContain('AKIA' + 'ABCDEFGHIJKLMNOP');
  });

  it('passes a caller’s abort through as its reason', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const { client } = scripted(() => {
      controller.abort(reason);
      return Object.assign(new Error('aborted'), { name: 'AbortError' });
    });
    const error = await createDynamoJobStore({ tableName: 't' }, { client })
      .get({ jobId: 'j', signal: controller.signal })
      .catch((e: unknown) => e);
    expect(error).toBe(reason);
  });
});
