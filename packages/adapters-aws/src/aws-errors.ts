import { createRedactor, PermanentError, type Redactor, TransientError } from '@mvp-pipeline/core';

/** What an AWS SDK v3 error looks like from the outside (service errors and network errors alike). */
interface AwsErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $retryable?: { throttling?: boolean };
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

/** Error names that mean "too many requests right now" across DynamoDB, SNS, EventBridge, Secrets Manager. */
const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'Throttled',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'KMSThrottlingException',
  'TransactionConflictException',
  'RequestThrottled',
  'SlowDown',
]);

/** Socket-level failures: the request may not have reached the service at all. */
const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** The error's vendor name (`ValidationException`, `Throttled`, `ECONNREFUSED`…). */
export function awsErrorName(error: unknown): string {
  const e = (error ?? {}) as AwsErrorShape;
  return e.name && e.name !== 'Error' ? e.name : (e.code ?? 'Error');
}

export interface AwsErrorContext {
  /** e.g. `DynamoDB UpdateItem on table jobs`. */
  operation: string;
  redact?: Redactor;
  /** The caller's signal: an abort is passed through as its reason, not classified. */
  signal?: AbortSignal | undefined;
}

const defaultRedact = createRedactor();

/**
 * Maps an SDK error onto the core's vocabulary: throttling, 5xx and network failures are
 * TransientError (the SDK has already retried them); everything else the service refused
 * (validation, access denied, a missing resource) is PermanentError. Messages are redacted.
 */
export function toPipelineAwsError(error: unknown, context: AwsErrorContext): unknown {
  if (context.signal?.aborted) return context.signal.reason;
  const e = (error ?? {}) as AwsErrorShape & { cause?: { code?: string } };
  const name = awsErrorName(error);
  const status = e.$metadata?.httpStatusCode;
  const redact = context.redact ?? defaultRedact;
  const detail = redact(`${name}: ${e.message ?? String(error)}`);
  const message = `${context.operation} failed (${detail})`;
  const transient =
    THROTTLING.has(name) ||
    e.$retryable?.throttling === true ||
    e.$fault === 'server' ||
    (status !== undefined && status >= 500) ||
    status === 429 ||
    NETWORK.has(name) ||
    NETWORK.has(e.code ?? '') ||
    NETWORK.has(e.cause?.code ?? '') ||
    name === 'TimeoutError' ||
    name === 'RequestTimeout' ||
    name === 'AbortError';
  // The SDK error holds the raw HTTP exchange; the cause keeps only what explains the failure.
  const cause = Object.assign(new Error(detail), {
    name,
    httpStatusCode: status,
    requestId: e.$metadata?.requestId,
  });
  return transient ? new TransientError(message, { cause }) : new PermanentError(message, { cause });
}
