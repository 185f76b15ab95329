import { z } from 'zod';
import { deriveAppModel } from '../domain/app-recipes.js';
import { createJobRecord, type Job } from '../domain/job.js';
import { idSchema, toFieldIssues } from '../domain/spec.js';
import { templateForSpec } from '../domain/template.js';
import { transition } from '../domain/transition.js';
import { PipelineError, TransientError, toPipelineError, ValidationError } from '../errors.js';
import type { PipelineDeps } from './deps.js';

export const submitJobInputSchema = z.strictObject({
  userId: idSchema,
  productId: idSchema,
  template: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a template name (lowercase letters, digits, -)')
    .optional(),
});

export type SubmitJobInput = z.infer<typeof submitJobInputSchema> & {
  /** Aborts reading the spec (the client went away). */
  signal?: AbortSignal;
};

/**
 * Validates the request and the product's spec (an explicit app model in full), picks the
 * template (the request's, else the one the spec's framework asks for, else the default), creates the job record (PENDING, QUEUED) and
 * triggers a runner. A failed trigger marks the job FAILED, so no job looks queued that is not.
 */
export async function submitJob(deps: PipelineDeps, input: unknown): Promise<{ job: Job }> {
  const { store, specs, trigger, clock, ids, logger } = deps.ports;
  const { signal, request: fields } = withoutSignal(input);
  const parsed = submitJobInputSchema.safeParse(fields, { reportInput: true });
  if (!parsed.success) throw new ValidationError('job request', toFieldIssues(parsed.error.issues));
  const request = parsed.data;
  // No job starts from a spec that cannot be read or is invalid.
  const { spec } = await specs.getSpec({
    userId: request.userId,
    productId: request.productId,
    ...(signal ? { signal } : {}),
  });
  // A bad explicit app model stops here, before anything exists.
  if (spec.specifications?.app !== undefined) deriveAppModel(spec);
  const { job } = await store.create({
    job: createJobRecord({
      jobId: ids.jobId(),
      userId: request.userId,
      productId: request.productId,
      businessName: spec.product.name,
      template: request.template ?? templateForSpec(spec) ?? deps.settings.defaultTemplate,
      now: clock.now(),
    }),
  });
  try {
    await trigger.trigger({ request: { jobId: job.jobId, userId: job.userId, productId: job.productId } });
  } catch (thrown) {
    const error = toPipelineError(thrown, 'QUEUED');
    const message = `Could not queue job ${job.jobId}: ${deps.settings.redact(error.message)}`;
    const now = clock.now();
    const at = now.toISOString();
    const entry = {
      at,
      step: 'QUEUED' as const,
      code: error.code,
      message,
      retryable: error.retryable,
      attempt: 0,
    };
    const failed = transition(
      job,
      { type: 'fail', error: entry },
      { now, maxRepairRounds: deps.settings.maxRepairRounds },
    );
    if (!failed.ok) throw failed.error;
    await store.update({
      jobId: job.jobId,
      expectedVersion: job.version,
      patch: {
        set: failed.set,
        appendErrors: [entry],
        appendLogs: [{ at, step: 'QUEUED', level: 'error', message }],
      },
    });
    throw PipelineError.isInstance(thrown) && !thrown.retryable
      ? error
      : new TransientError(message, { step: 'QUEUED', cause: thrown });
  }
  logger.info('Job queued', { jobId: job.jobId, userId: job.userId, productId: job.productId });
  return { job };
}

/** The request's fields and the optional `signal` that rides along with them (it is not validated as a field). */
function withoutSignal(input: unknown): { request: unknown; signal?: AbortSignal } {
  if (typeof input !== 'object' || input === null || !('signal' in input)) return { request: input };
  const { signal, ...request } = input as { signal?: unknown };
  return signal instanceof AbortSignal ? { request, signal } : { request: input };
}
