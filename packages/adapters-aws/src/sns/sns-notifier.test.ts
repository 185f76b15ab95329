import { SNSClient } from '@aws-sdk/client-sns';
import type { JobNotification } from '@mvp-pipeline/core';
import { notifierContract, rejectionCode, sampleNotification } from '@mvp-pipeline/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOCAL_AWS, type SnsStandIn, startSnsStandIn } from '../testing/aws-stand-ins.js';
import { createSnsNotifier, type SnsJobMessage } from './sns-notifier.js';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:mvp-completions';
const FIFO_TOPIC = 'arn:aws:sns:us-east-1:123456789012:mvp-completions.fifo';

const clients: SNSClient[] = [];
const clientFor = (sns: SnsStandIn, maxAttempts = 3) => {
  const client = new SNSClient({ ...LOCAL_AWS, endpoint: sns.endpoint, maxAttempts });
  clients.push(client);
  return client;
};
const bodies = (sns: SnsStandIn) => sns.published.map((p) => JSON.parse(p.message) as SnsJobMessage);

notifierContract(
  { describe, it, expect, beforeEach, afterEach },
  'SNS (query protocol stand-in)',
  async () => {
    const sns = await startSnsStandIn([TOPIC]);
    return {
      notifier: createSnsNotifier({ topicArn: TOPIC }, { client: clientFor(sns) }),
      delivered: async () => bodies(sns) as JobNotification[],
      dispose: () => sns.close(),
    };
  },
);

describe('SNS notifier', () => {
  let sns: SnsStandIn;
  beforeEach(async () => {
    sns = await startSnsStandIn([TOPIC, FIFO_TOPIC]);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await sns.close();
  });

  it('sends the seed’s fields in the body and status, jobId, userId as message attributes', async () => {
    const notifier = createSnsNotifier({ topicArn: TOPIC }, { client: clientFor(sns) });
    await notifier.notify({ notification: sampleNotification(), idempotencyKey: 'job_n1:COMPLETED' });
    const [sent] = sns.published;
    expect(JSON.parse(sent!.message)).toEqual({
      jobId: 'job_n1',
      userId: 'user_1',
      productId: 'product_1',
      status: 'COMPLETED',
      currentStep: 'COMPLETED',
      businessName: 'EventHub',
      repoUrl: 'https://example.com/repo',
      productionUrl: 'https://eventhub.example.com',
      at: '2026-01-01T00:00:00.000Z',
      idempotencyKey: 'job_n1:COMPLETED',
    });
    expect(sent!.attributes).toEqual({
      status: { DataType: 'String', StringValue: 'COMPLETED' },
      jobId: { DataType: 'String', StringValue: 'job_n1' },
      userId: { DataType: 'String', StringValue: 'user_1' },
    });
    expect(sent!.subject).toBe('MVP completed: EventHub');
    expect(sent!.groupId).toBeUndefined();
  });

  it('keeps the subject ASCII and redacts secrets in the message', async () => {
    const notifier = createSnsNotifier({ topicArn: TOPIC }, { client: clientFor(sns) });
    await notifier.notify({
      notification: sampleNotification({
        businessName: 'Café Ünïcode ☕',
        status: 'FAILED',
        error: {
          step: 'DEPLOYING',
          code: 'PERMANENT',
          message: 'token ghp_' + 'abcdefghijklmnopqrstuvwxyz0123 refused',
        },
      }),
      idempotencyKey: 'job_n1:FAILED',
    });
    expect(sns.published[0]!.subject).toBe('MVP failed: Cafe Unicode');
    expect(sns.published[0]!.message).not.toContain('ghp_' + 'abcdefghijklmnopqrstuvwxyz0123');
  });

  it('keeps the subject under 100 characters, as SNS requires', async () => {
    const notifier = createSnsNotifier({ topicArn: TOPIC }, { client: clientFor(sns) });
    await notifier.notify({
      notification: sampleNotification({ businessName: 'N'.repeat(120) }),
      idempotencyKey: 'job_n1:COMPLETED',
    });
    expect(sns.published[0]!.subject).toHaveLength(99);
  });

  it('says what a completed job delivers: in the subject when short of a working app, in words in the body', async () => {
    const notifier = createSnsNotifier({ topicArn: TOPIC }, { client: clientFor(sns) });
    const app = {
      kind: 'app' as const,
      features: [
        { feature: 'Event page with RSVP', builtBy: 'recipe' as const, recipe: 'rsvp' },
        { feature: 'Payments', builtBy: null },
      ],
    };
    const landing = {
      kind: 'landing-page-only' as const,
      features: [{ feature: 'Waitlist', builtBy: null }],
    };
    const built = { kind: 'app' as const, features: [{ feature: 'Check-in', builtBy: 'model' as const }] };
    for (const delivery of [app, landing, built]) {
      await notifier.notify({ notification: sampleNotification({ delivery }), idempotencyKey: 'k' });
    }
    await notifier.notify({
      notification: sampleNotification({ businessName: 'N'.repeat(120), delivery: landing }),
      idempotencyKey: 'k',
    });
    expect(sns.published.map((p) => p.subject)).toEqual([
      'MVP completed (1 of 2 features not built): EventHub',
      'MVP completed (landing page only): EventHub',
      'MVP completed: EventHub',
      `MVP completed (landing page only): ${'N'.repeat(99 - 'MVP completed (landing page only): '.length)}`,
    ]);
    const bodies = sns.published.map((p) => JSON.parse(p.message) as { delivery: unknown; summary: string });
    expect(bodies[0]!.delivery).toEqual(app);
    expect(bodies[0]!.summary).toBe(
      'A working app, 1 of 2 key features not built. Built: Event page with RSVP (recipe rsvp). Not built: Payments.',
    );
    expect(bodies[1]!.summary).toBe('A landing page only. Not built: Waitlist.');
    expect(bodies[2]!.summary).toBe('A working app. Built: Check-in (app model).');
  });

  it('announces COMPLETED and FAILED only, unless told otherwise', async () => {
    const notifier = createSnsNotifier({ topicArn: TOPIC }, { client: clientFor(sns) });
    await notifier.notify({
      notification: sampleNotification({ status: 'CANCELLED' }),
      idempotencyKey: 'k:CANCELLED',
    });
    expect(sns.published).toHaveLength(0);
    const all = createSnsNotifier({ topicArn: TOPIC, statuses: ['CANCELLED'] }, { client: clientFor(sns) });
    await all.notify({
      notification: sampleNotification({ status: 'CANCELLED' }),
      idempotencyKey: 'k:CANCELLED',
    });
    expect(sns.published).toHaveLength(1);
  });

  it('on a FIFO topic, groups by job and deduplicates by (job, status)', async () => {
    const notifier = createSnsNotifier({ topicArn: FIFO_TOPIC }, { client: clientFor(sns) });
    const notification = sampleNotification();
    await notifier.notify({ notification, idempotencyKey: 'job_n1:COMPLETED' });
    await notifier.notify({ notification, idempotencyKey: 'job_n1:COMPLETED' });
    expect(sns.requests).toHaveLength(2);
    expect(sns.published).toHaveLength(1);
    expect(sns.published[0]).toMatchObject({ groupId: 'job_n1', deduplicationId: 'job_n1:COMPLETED' });
  });

  it('retries throttling (429 Throttled) through the SDK and then delivers', async () => {
    sns.failNext({ status: 429, code: 'Throttled', message: 'Rate exceeded' });
    const notifier = createSnsNotifier({ topicArn: TOPIC }, { client: clientFor(sns, 2) });
    await notifier.notify({ notification: sampleNotification(), idempotencyKey: 'job_n1:COMPLETED' });
    expect(sns.requests).toHaveLength(2);
    expect(sns.published).toHaveLength(1);
  });

  it.each([
    [{ status: 429, code: 'Throttled', message: 'Rate exceeded' }, 'TRANSIENT'],
    [{ status: 500, code: 'InternalError', message: 'Internal Error' }, 'TRANSIENT'],
    [
      { status: 403, code: 'AuthorizationError', message: 'User is not authorized to perform SNS:Publish' },
      'PERMANENT',
    ],
    [{ status: 400, code: 'InvalidParameter', message: 'Invalid parameter: Message too long' }, 'PERMANENT'],
  ])('maps %o to %s', async (failure, code) => {
    sns.failNext(failure);
    const notifier = createSnsNotifier({ topicArn: TOPIC }, { client: clientFor(sns, 1) });
    const error = await notifier
      .notify({ notification: sampleNotification(), idempotencyKey: 'job_n1:COMPLETED' })
      .catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe(code);
    expect((error as Error).message).toContain(failure.code);
  });

  it('fails for good on a topic that does not exist', async () => {
    const notifier = createSnsNotifier(
      { topicArn: 'arn:aws:sns:us-east-1:123456789012:missing' },
      { client: clientFor(sns, 1) },
    );
    expect(
      await rejectionCode(notifier.notify({ notification: sampleNotification(), idempotencyKey: 'k' })),
    ).toBe('PERMANENT');
  });

  it('refuses a message over 256 KB before sending it', async () => {
    const notifier = createSnsNotifier({ topicArn: TOPIC }, { client: clientFor(sns, 1) });
    const notification = sampleNotification({
      status: 'FAILED',
      error: { step: 'BUILDING', code: 'BUILD_FAILED', message: 'x'.repeat(300 * 1024) },
    });
    expect(await rejectionCode(notifier.notify({ notification, idempotencyKey: 'k' }))).toBe('PERMANENT');
    expect(sns.requests).toHaveLength(0);
  });

  it('refuses a topic that is not an SNS ARN', () => {
    expect(() => createSnsNotifier({ topicArn: 'mvp-completions' }, { client: clientFor(sns) })).toThrow(
      /topicArn/,
    );
  });
});
