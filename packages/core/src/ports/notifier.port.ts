import type { FeatureOutcome } from '../domain/app-model.js';
import type { JourneyReport } from '../domain/delivery.js';
import type { JobStatus, Step } from '../domain/steps.js';
import type { ErrorCode } from '../errors.js';

/**
 * What a notification says: ids, status and links, and no secret but one: `ownerClaimUrl`, the
 * founder's own way into their app, which the end notification is there to deliver.
 */
export interface JobNotification {
  jobId: string;
  userId: string;
  productId: string;
  status: JobStatus;
  currentStep: Step;
  businessName: string;
  repoUrl?: string;
  stagingUrl?: string;
  productionUrl?: string;
  /**
   * For a completed app with accounts: a one-time, expiring link that makes whoever opens it the
   * app's owner. For the founder alone: a notifier sends it only to them, never to a log.
   */
  ownerClaimUrl?: string;
  error?: { step: Step; code: ErrorCode; message: string };
  /** What a COMPLETED job delivers, when its record says (records from before deliveries lack it). */
  delivery?: NotificationDelivery;
  at: string;
}

/**
 * What the founder gets: a working `app` or a `landing-page-only` site, and per key feature of
 * the spec what built it (`builtBy: null`: nothing did; the message says "not built").
 */
export interface NotificationDelivery {
  kind: 'app' | 'landing-page-only';
  features: Array<Pick<FeatureOutcome, 'feature' | 'builtBy' | 'recipe'>>;
  /** The journey check: how many journeys passed, and the names of those that failed. */
  journeys?: Pick<JourneyReport, 'mode' | 'ok'> & { passed: number; total: number; failed: string[] };
}

/**
 * Announces a job's end. `idempotencyKey` is `<jobId>:<status>`; a notifier that can
 * deduplicate (FIFO topics, webhooks with an idempotency header) passes it on, and one that
 * keeps what it sent (a file) delivers a key once. The core may call `notify` again with the same
 * key after a crash or a failed try: a second delivery must be harmless for the receiver.
 *
 * **Abort.** When `signal` aborts, stop (no request started, no wait continued) and reject with
 * `signal.reason` (the core's CancelledError, InterruptedError or DeadlineExceededError).
 *
 * **Errors.** Reject only with the core's errors, never a raw SDK or fetch error:
 * TransientError for connection refused or reset, timeouts and 5xx (after any retries of your
 * own; say how many in `tries`); RateLimitedError (with `retryAfterMs`) for a 429 whose wait you
 * do not sit out; PermanentError for other 4xx and redirects. Messages name the receiver's host,
 * never its URL, query or credentials, and never the `ownerClaimUrl`.
 */
export interface Notifier {
  readonly specificationVersion: 'v1';
  notify(options: {
    notification: JobNotification;
    idempotencyKey: string;
    signal?: AbortSignal;
  }): Promise<void>;
}
