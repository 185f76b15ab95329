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
 * deduplicate (FIFO topics, webhooks with an idempotency header) passes it on.
 */
export interface Notifier {
  readonly specificationVersion: 'v1';
  notify(options: {
    notification: JobNotification;
    idempotencyKey: string;
    signal?: AbortSignal;
  }): Promise<void>;
}
