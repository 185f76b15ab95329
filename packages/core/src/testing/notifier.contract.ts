import type { JobNotification, Notifier } from '../ports/notifier.port.js';
import { type Harness, type TestApi, withHarness } from './test-api.js';

export interface NotifierHarness extends Harness {
  notifier: Notifier;
  /** What reached the other side, oldest first. */
  delivered(): Promise<JobNotification[]>;
}

export function sampleNotification(overrides: Partial<JobNotification> = {}): JobNotification {
  return {
    jobId: 'job_n1',
    userId: 'user_1',
    productId: 'product_1',
    status: 'COMPLETED',
    currentStep: 'COMPLETED',
    businessName: 'EventHub',
    repoUrl: 'https://example.com/repo',
    productionUrl: 'https://eventhub.example.com',
    at: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

export function notifierContract(
  t: TestApi,
  name: string,
  create: () => Promise<NotifierHarness> | NotifierHarness,
): void {
  const { describe, it, expect } = t;
  describe(`Notifier contract: ${name}`, () => {
    withHarness(t, create, (use) => {
      it('delivers the notification with its ids, status and links', async () => {
        const { notifier, delivered } = use();
        const notification = sampleNotification();
        await notifier.notify({ notification, idempotencyKey: 'job_n1:COMPLETED' });
        const got = await delivered();
        expect(got).toHaveLength(1);
        expect(got[0]).toMatchObject({
          jobId: 'job_n1',
          status: 'COMPLETED',
          businessName: 'EventHub',
          productionUrl: 'https://eventhub.example.com',
        });
      });

      it('delivers what a completed job delivers, each key feature built or not', async () => {
        const { notifier, delivered } = use();
        const delivery = {
          kind: 'app' as const,
          features: [
            { feature: 'Event page with RSVP', builtBy: 'recipe' as const, recipe: 'rsvp' },
            { feature: 'Payments', builtBy: null },
          ],
          journeys: { mode: 'browser' as const, ok: true, passed: 3, total: 3, failed: [] },
        };
        await notifier.notify({
          notification: sampleNotification({ delivery }),
          idempotencyKey: 'job_n1:COMPLETED',
        });
        expect((await delivered()).at(-1)).toMatchObject({ status: 'COMPLETED', delivery });
      });

      it('delivers a failure with the step and error', async () => {
        const { notifier, delivered } = use();
        const notification = sampleNotification({
          status: 'FAILED',
          currentStep: 'BUILDING',
          error: { step: 'BUILDING', code: 'BUILD_FAILED', message: 'npm run build exited 1' },
        });
        await notifier.notify({ notification, idempotencyKey: 'job_n1:FAILED' });
        expect((await delivered()).at(-1)).toMatchObject({ status: 'FAILED', error: { step: 'BUILDING' } });
      });
    });
  });
}
