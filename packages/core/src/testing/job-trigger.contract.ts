import type { JobRequest, JobTrigger } from '../ports/job-trigger.port.js';
import { type Harness, type TestApi, withHarness } from './test-api.js';

export interface JobTriggerHarness extends Harness {
  trigger: JobTrigger;
  /** The requests that reached the runner side, oldest first. */
  received(): Promise<JobRequest[]>;
}

export function jobTriggerContract(
  t: TestApi,
  name: string,
  create: () => Promise<JobTriggerHarness> | JobTriggerHarness,
): void {
  const { describe, it, expect } = t;
  describe(`JobTrigger contract: ${name}`, () => {
    withHarness(t, create, (use) => {
      it('delivers the request with ids only and returns an event id', async () => {
        const { trigger, received } = use();
        const request = { jobId: 'job_t1', userId: 'user_1', productId: 'product_1' };
        const { eventId } = await trigger.trigger({ request });
        expect(eventId).toMatch(/\S/);
        const got = await received();
        expect(got).toHaveLength(1);
        expect(got[0]).toEqual(request);
      });
    });
  });
}
