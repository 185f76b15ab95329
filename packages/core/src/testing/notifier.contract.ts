import { CancelledError } from '../errors.js';
import type { JobNotification, Notifier } from '../ports/notifier.port.js';
import { FAULT_EXPECTATIONS, type FaultInjector, settle, vocabularyProblem, within } from './faults.js';
import { type Harness, type TestApi, withHarness } from './test-api.js';

export interface NotifierHarness extends Harness {
  notifier: Notifier;
  /** What reached the other side, oldest first. */
  delivered(): Promise<JobNotification[]>;
  /** Capability `network`: every request the notifier sends fails as told until `clear()`. */
  faults?: FaultInjector;
}

/** What the suite may ask of the notifier, where notifiers honestly differ. */
export interface NotifierCapabilities {
  /** It sends over a network (a webhook, SNS): the harness provides `faults`. */
  network?: boolean;
  /** It drops a notification whose idempotency key it delivered before (a file, a FIFO topic). */
  deduplicates?: boolean;
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
  capabilities: NotifierCapabilities = {},
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

      it('rejects with the signal’s reason when aborted before it starts, and delivers nothing', async () => {
        const { notifier, delivered } = use();
        const controller = new AbortController();
        const reason = new CancelledError('Cancelled by the contract suite');
        controller.abort(reason);
        const outcome = await settle(
          notifier.notify({
            notification: sampleNotification(),
            idempotencyKey: 'job_n1:COMPLETED',
            signal: controller.signal,
          }),
        );
        expect(
          outcome.kind === 'resolved' ? 'resolved' : outcome.error,
          'an aborted signal must reject with signal.reason (the core aborts with its own error)',
        ).toBe(reason);
        expect(await delivered(), 'nothing may be delivered after the signal aborted').toHaveLength(0);
      });

      if (capabilities.deduplicates)
        it('delivers a notification once when it is sent again with the same idempotency key', async () => {
          const { notifier, delivered } = use();
          const notification = sampleNotification();
          await notifier.notify({ notification, idempotencyKey: 'job_n1:COMPLETED' });
          await notifier.notify({ notification, idempotencyKey: 'job_n1:COMPLETED' });
          expect(
            await delivered(),
            'a retried notify with the same idempotency key must not deliver twice',
          ).toHaveLength(1);
        });

      if (capabilities.network) {
        const faults = () => {
          const injector = use().faults;
          if (!injector) throw new Error('The harness declares `network` but has no `faults` to inject');
          return injector;
        };
        for (const [fault, { code, fix }] of Object.entries(FAULT_EXPECTATIONS)) {
          it(`maps ${fault} to ${code}`, async () => {
            await faults().inject(fault as keyof typeof FAULT_EXPECTATIONS);
            const outcome = await settle(
              within(
                use().notifier.notify({
                  notification: sampleNotification(),
                  idempotencyKey: `job_n1:${fault}`,
                }),
                60_000,
                `notify under ${fault}`,
              ),
            );
            await faults().clear();
            const problem = vocabularyProblem(outcome, code, fix);
            expect(problem, problem).toBeUndefined();
          });
        }

        it('stops a request that hangs when the signal aborts, rejecting with its reason', async () => {
          await faults().inject('hang');
          const controller = new AbortController();
          const reason = new CancelledError('Cancelled by the contract suite');
          const running = settle(
            use().notifier.notify({
              notification: sampleNotification(),
              idempotencyKey: 'job_n1:COMPLETED',
              signal: controller.signal,
            }),
          );
          setTimeout(() => controller.abort(reason), 50);
          try {
            const outcome = await within(running, 5_000, 'a notify aborted while its request hung');
            expect(
              outcome.kind === 'resolved' ? 'resolved' : outcome.error,
              'an abort during a request must reject with signal.reason: pass the signal to every request and wait',
            ).toBe(reason);
          } finally {
            await faults().clear();
          }
        });

        it('delivers on a retry after a failed call', async () => {
          const { notifier, delivered } = use();
          await faults().inject('server-error');
          await settle(
            notifier.notify({ notification: sampleNotification(), idempotencyKey: 'job_n1:COMPLETED' }),
          );
          await faults().clear();
          await notifier.notify({ notification: sampleNotification(), idempotencyKey: 'job_n1:COMPLETED' });
          expect((await delivered()).at(-1), 'the retry must deliver the notification').toMatchObject({
            jobId: 'job_n1',
            status: 'COMPLETED',
          });
        });
      }
    });
  });
}
