import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { JobRequest } from '@mvp-pipeline/core';
import { jobTriggerContract, rejectionCode } from '@mvp-pipeline/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type EventBridgeStandIn, LOCAL_AWS, startEventBridgeStandIn } from '../testing/aws-stand-ins.js';
import { createEventBridgeTrigger } from './eventbridge-trigger.js';

const BUS = 'mvp-pipeline';
const request = { jobId: 'job_t1', userId: 'user_1', productId: 'product_1' };
const clients: EventBridgeClient[] = [];
const clientFor = (events: EventBridgeStandIn, maxAttempts = 3) => {
  const client = new EventBridgeClient({ ...LOCAL_AWS, endpoint: events.endpoint, maxAttempts });
  clients.push(client);
  return client;
};
const instant = async () => undefined;

jobTriggerContract(
  { describe, it, expect, beforeEach, afterEach },
  'EventBridge (JSON 1.1 stand-in)',
  async () => {
    const events = await startEventBridgeStandIn([BUS]);
    return {
      trigger: createEventBridgeTrigger({ busName: BUS }, { client: clientFor(events) }),
      received: async () => events.events.map((e) => e.detail as JobRequest),
      dispose: () => events.close(),
    };
  },
);

describe('EventBridge trigger', () => {
  let events: EventBridgeStandIn;
  beforeEach(async () => {
    events = await startEventBridgeStandIn([BUS]);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await events.close();
  });

  it('puts one event with the rule’s source and detail type, carrying ids only', async () => {
    const trigger = createEventBridgeTrigger({ busName: BUS }, { client: clientFor(events) });
    const leaky = { ...request, databaseUrl: 'postgres://app:hunter2hunter2@db/prod' } as JobRequest;
    const { eventId } = await trigger.trigger({ request: leaky });
    expect(events.events).toEqual([
      {
        eventId,
        busName: BUS,
        source: 'founderdash.web',
        detailType: 'MVP Development Request',
        detail: request,
      },
    ]);
    expect(events.requests[0]!.headers['x-amz-target']).toBe('AWSEvents.PutEvents');
    expect(events.requests[0]!.body).not.toContain('hunter2');
  });

  it('sends an entry again when PutEvents answers 200 with FailedEntryCount > 0 and a retryable code', async () => {
    events.failNextEntries(
      { code: 'ThrottlingException', message: 'Rate exceeded' },
      { code: 'InternalFailure', message: 'Internal Service Failure' },
    );
    const trigger = createEventBridgeTrigger({ busName: BUS }, { client: clientFor(events), sleep: instant });
    const { eventId } = await trigger.trigger({ request });
    expect(events.requests).toHaveLength(3);
    expect(events.events.map((e) => e.eventId)).toEqual([eventId]);
  });

  it('reports an entry that still fails after the last try as transient, with its code', async () => {
    events.failNextEntries(
      ...Array.from({ length: 3 }, () => ({ code: 'ThrottlingException', message: 'Rate exceeded' })),
    );
    const trigger = createEventBridgeTrigger({ busName: BUS }, { client: clientFor(events), sleep: instant });
    const error = await trigger.trigger({ request }).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('TRANSIENT');
    expect((error as Error).message).toMatch(/job_t1 after 3 tries \(ThrottlingException: Rate exceeded\)/);
    expect(events.events).toHaveLength(0);
  });

  it('fails at once on an entry error that retrying cannot fix', async () => {
    const trigger = createEventBridgeTrigger(
      { busName: 'no-such-bus' },
      { client: clientFor(events), sleep: instant },
    );
    const error = await trigger.trigger({ request }).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('PERMANENT');
    expect((error as Error).message).toContain('InvalidArgument: Event bus no-such-bus does not exist.');
    expect(events.requests).toHaveLength(1);
  });

  it('lets the SDK retry a throttled call (400 ThrottlingException) and then succeeds', async () => {
    events.failNext({ status: 400, code: 'ThrottlingException', message: 'Rate exceeded' });
    const trigger = createEventBridgeTrigger({ busName: BUS }, { client: clientFor(events, 2) });
    await trigger.trigger({ request });
    expect(events.requests).toHaveLength(2);
    expect(events.events).toHaveLength(1);
  });

  it.each([
    [{ status: 400, code: 'ThrottlingException', message: 'Rate exceeded' }, 'TRANSIENT'],
    [{ status: 500, code: 'InternalException', message: 'Internal error' }, 'TRANSIENT'],
    [
      { status: 400, code: 'AccessDeniedException', message: 'not authorized to perform events:PutEvents' },
      'PERMANENT',
    ],
    [{ status: 400, code: 'ValidationException', message: 'Entries too long' }, 'PERMANENT'],
  ])('maps a failed call %o to %s', async (failure, code) => {
    events.failNext(failure);
    const trigger = createEventBridgeTrigger({ busName: BUS }, { client: clientFor(events, 1) });
    const error = await trigger.trigger({ request }).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe(code);
    expect((error as Error).message).toContain(failure.code);
  });

  it('refuses a request without its ids', async () => {
    const trigger = createEventBridgeTrigger({ busName: BUS }, { client: clientFor(events) });
    expect(await rejectionCode(trigger.trigger({ request: { ...request, userId: '' } }))).toBe('VALIDATION');
    expect(events.requests).toHaveLength(0);
  });
});
