import type { JobStatus, Step } from '../domain/steps.js';
import type { ErrorCode } from '../errors.js';

/** What a notification says: ids, status and links, never a secret. */
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
  error?: { step: Step; code: ErrorCode; message: string };
  at: string;
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
