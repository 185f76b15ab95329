import { EventBridgeClient, PutEventsCommand, type PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import {
  createRedactor,
  type JobRequest,
  type JobTrigger,
  PermanentError,
  PipelineError,
  type Redactor,
  retry,
  TransientError,
  ValidationError,
} from '@mvp-pipeline/core';
import { toPipelineAwsError } from '../aws-errors.js';

export interface EventBridgeTriggerSettings {
  /** The event bus (EVENTBRIDGE_BUS_NAME): its name or ARN. */
  busName: string;
  /** The event's Source (default `founderdash.web`, what the rule matches). */
  source?: string;
  /** The event's DetailType (default `MVP Development Request`). */
  detailType?: string;
  /** PutEvents calls for an entry EventBridge failed with a retryable code (default 3). */
  maxAttempts?: number;
  /** First backoff between those calls (default 200 ms), doubled each time, with full jitter. */
  baseDelayMs?: number;
}

export interface EventBridgeTriggerDeps {
  /** By default one from the environment (AWS_REGION, AWS_ENDPOINT_URL_EVENTBRIDGE…). */
  client?: EventBridgeClient;
  /** Waits between attempts; tests make it instant. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  redact?: Redactor;
}

/** The `detail` of a job event: ids only, never a spec, a URL with credentials or a token. */
export interface JobEventDetail {
  jobId: string;
  userId: string;
  productId: string;
}

/** Entry error codes EventBridge documents as retryable; every other code fails for good. */
const RETRYABLE_ENTRY_ERRORS = new Set(['ThrottlingException', 'InternalFailure']);

/**
 * A JobTrigger that puts one event per job on an EventBridge bus, for a rule to start a runner.
 *
 * PutEvents answers 200 even when it rejected the entry: a result entry with an ErrorCode is a
 * failure. Retryable ones (ThrottlingException, InternalFailure) are sent again with backoff up
 * to `maxAttempts` calls (under the core's retry runner, `retry`), then TransientError; any
 * other code is PermanentError at once. Errors of the call itself are mapped as usual and not
 * retried here: the SDK's own retries (its `maxAttempts`, standard mode) stay, because only the
 * SDK sees the throttling and 5xx answers of the call; `submitJob` does not retry a trigger.
 * Delivery to the rule's target is at least once: runners tolerate duplicates through the lease.
 */
export function createEventBridgeTrigger(
  settings: EventBridgeTriggerSettings,
  deps: EventBridgeTriggerDeps = {},
): JobTrigger {
  if (!settings.busName) {
    throw new ValidationError('EventBridge trigger settings', [{ path: 'busName', message: 'is required' }]);
  }
  const source = settings.source ?? 'founderdash.web';
  const detailType = settings.detailType ?? 'MVP Development Request';
  const maxAttempts = settings.maxAttempts ?? 3;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new ValidationError('EventBridge trigger settings', [
      { path: 'maxAttempts', message: 'must be an integer of at least 1' },
    ]);
  }
  const policy = { maxAttempts, baseDelayMs: settings.baseDelayMs ?? 200, maxDelayMs: 5_000 };
  const client = deps.client ?? new EventBridgeClient({});
  const redact = deps.redact ?? createRedactor();
  const random = deps.random ?? Math.random;
  const sleep = deps.sleep ?? defaultSleep;
  const operation = `EventBridge PutEvents to bus ${settings.busName}`;

  return {
    specificationVersion: 'v1',
    async trigger({ request, signal }) {
      const detail = jobEventDetail(request);
      let failure: PutEventsResultEntry | undefined;
      // Only an entry EventBridge rejected with a retryable code is sent again here; errors of the
      // call itself come back after the SDK's own retries (throttling, 5xx) and go up as they are.
      let rejected: TransientError | undefined;
      const putOnce = async () => {
        let entry: PutEventsResultEntry | undefined;
        try {
          const result = await client.send(
            new PutEventsCommand({
              Entries: [
                {
                  EventBusName: settings.busName,
                  Source: source,
                  DetailType: detailType,
                  Detail: JSON.stringify(detail),
                },
              ],
            }),
            signal ? { abortSignal: signal } : {},
          );
          entry = result.Entries?.[0];
          if (entry?.EventId && !entry.ErrorCode) return { eventId: entry.EventId };
        } catch (error) {
          throw toPipelineAwsError(error, { operation, redact, signal });
        }
        failure = entry ?? {
          ErrorCode: 'InternalFailure',
          ErrorMessage: 'the response held no result entry',
        };
        rejected = new TransientError(`${operation} rejected the entry (${failure.ErrorCode})`);
        if (!RETRYABLE_ENTRY_ERRORS.has(failure.ErrorCode ?? '')) return undefined;
        throw rejected;
      };
      try {
        const put = await retry(putOnce, {
          policy,
          random,
          sleep,
          signal,
          retryable: (error) => error === rejected,
        });
        if (put) return put;
      } catch (error) {
        // A rejected entry after the last try is reported below with its code; anything else goes up.
        if (!(rejected && PipelineError.isInstance(error) && error.message === rejected.message)) throw error;
      }
      const reason = redact(`${failure?.ErrorCode}: ${failure?.ErrorMessage ?? 'no message'}`);
      const retryable = RETRYABLE_ENTRY_ERRORS.has(failure?.ErrorCode ?? '');
      const message = `${operation} did not accept the event of job ${detail.jobId}${retryable ? ` after ${maxAttempts} tries` : ''} (${reason})`;
      throw retryable ? new TransientError(message) : new PermanentError(message);
    },
  };
}

/** The event detail of a request: exactly its three ids, each checked. */
export function jobEventDetail(request: JobRequest): JobEventDetail {
  const issues = (['jobId', 'userId', 'productId'] as const)
    .filter((field) => typeof request[field] !== 'string' || request[field].length === 0)
    .map((field) => ({ path: field, message: 'must be a non-empty string' }));
  if (issues.length > 0) throw new ValidationError('job request', issues);
  return { jobId: request.jobId, userId: request.userId, productId: request.productId };
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
