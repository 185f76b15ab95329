/** What starts a runner for a job. Carries ids only: never a spec, a URL with credentials or a token. */
export interface JobRequest {
  jobId: string;
  userId: string;
  productId: string;
}

/**
 * Asks for a runner (an EventBridge event, an in-process queue). Delivery may be at least
 * once: runners tolerate duplicates through the lease.
 */
export interface JobTrigger {
  readonly specificationVersion: 'v1';
  trigger(options: { request: JobRequest; signal?: AbortSignal }): Promise<{ eventId: string }>;
}
