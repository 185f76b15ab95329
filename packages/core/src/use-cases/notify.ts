import { deliveryOf } from '../domain/delivery.js';
import { notificationDelivery } from '../domain/delivery-text.js';
import type { Job } from '../domain/job.js';
import { isTerminalStatus } from '../domain/steps.js';
import { DeadlineExceededError, PipelineError } from '../errors.js';
import type { JobNotification } from '../ports/notifier.port.js';
import { formatMs, retry } from '../retry.js';
import type { PipelineDeps } from './deps.js';
import type { JobSession } from './job-session.js';

/**
 * Sends the terminal notification unless the record says it was sent, under the retry policy.
 * One that can never go through is given up on (and recorded so); one that could not go through
 * yet stays unsent on the record for a later runner.
 */
export async function notifyOnce(deps: PipelineDeps, session: JobSession): Promise<void> {
  const job = session.job;
  if (!isTerminalStatus(job.status) || job.checkpoints.notified?.includes(job.status)) return;
  const { retry: policy, random, stepTimeoutMs } = deps.settings;
  // A notification gets a minute (or the deploy deadline, if shorter): a hung receiver must not hold the job.
  const timeout = Math.min(stepTimeoutMs.DEPLOYING, 60_000);
  const notification = { ...notificationOf(deps, job), ...(await ownerClaimOf(deps, session)) };
  try {
    await retry(
      ({ signal }) =>
        deps.ports.notifier.notify({ notification, idempotencyKey: `${job.jobId}:${job.status}`, signal }),
      {
        policy,
        random,
        sleep: (ms) => deps.ports.clock.sleep(ms),
        step: job.currentStep,
        deadline: {
          ms: timeout,
          error: () =>
            new DeadlineExceededError(`The notifier did not answer within ${formatMs(timeout)}`, {
              step: job.currentStep,
            }),
        },
      },
    );
  } catch (error) {
    if (!PipelineError.isInstance(error) || error.retryable) {
      // The job's outcome stands; the unsent notification stays on the record for a later runner.
      const message = PipelineError.isInstance(error) ? error.message : String(error);
      session.log(job.currentStep, `Could not send the ${job.status} notification: ${message}`, 'error');
      await session.flush();
      return;
    }
    // It will never go through: say so on the record and stop trying (a worker would loop).
    session.log(job.currentStep, `Gave up on the ${job.status} notification: ${error.message}`, 'error');
  }
  await session.write((latest) => ({
    set: {
      checkpoints: {
        ...latest.checkpoints,
        notified: [...(latest.checkpoints.notified ?? []), latest.status],
      },
    },
  }));
}

/** The notification of a job's end: its links, the last error of a failure, what a completed job delivers. */
/**
 * The owner link of a completed app, made once per notification (its retries send the same
 * one). Without one the notification still goes: the founder can ask for another.
 */
async function ownerClaimOf(deps: PipelineDeps, session: JobSession): Promise<{ ownerClaimUrl?: string }> {
  const { job } = session;
  const { deployer } = deps.ports;
  if (job.status !== 'COMPLETED' || deliveryOf(job)?.kind !== 'app' || !deployer.issueOwnerClaim) return {};
  try {
    const { url } = await deployer.issueOwnerClaim({ jobId: job.jobId });
    return url ? { ownerClaimUrl: url } : {};
  } catch (error) {
    const message = PipelineError.isInstance(error) ? error.message : String(error);
    session.log(
      job.currentStep,
      `The notification goes without an owner link: ${deps.settings.redact(message)}`,
      'warn',
    );
    return {};
  }
}

export function notificationOf(deps: PipelineDeps, job: Job): JobNotification {
  const redact = deps.settings.redact;
  const lastError = job.status === 'FAILED' ? job.errors.at(-1) : undefined;
  // Only a completed job delivers anything; older records have no delivery to tell.
  const delivery = job.status === 'COMPLETED' ? deliveryOf(job) : undefined;
  return {
    jobId: job.jobId,
    userId: job.userId,
    productId: job.productId,
    status: job.status,
    currentStep: job.currentStep,
    businessName: job.businessName,
    ...(job.urls.codeRepository ? { repoUrl: job.urls.codeRepository } : {}),
    ...(job.urls.staging ? { stagingUrl: job.urls.staging } : {}),
    ...(job.urls.production ? { productionUrl: job.urls.production } : {}),
    ...(lastError
      ? { error: { step: lastError.step, code: lastError.code, message: redact(lastError.message) } }
      : {}),
    ...(delivery ? { delivery: notificationDelivery(delivery) } : {}),
    at: deps.ports.clock.now().toISOString(),
  };
}
