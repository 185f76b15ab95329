import { z } from 'zod';
import type { Job } from '../domain/job.js';
import { idSchema, toFieldIssues } from '../domain/spec.js';
import { NotFoundError, ValidationError } from '../errors.js';
import type { PipelinePorts } from './deps.js';

/** What the queries need: the store. */
export interface QueryDeps {
  ports: Pick<PipelinePorts, 'store'>;
}

/** The job record. NotFoundError when there is none. */
export async function getJob(deps: QueryDeps, input: { jobId: string }): Promise<Job> {
  const { jobId } = input;
  const { job } = await deps.ports.store.get({ jobId });
  if (!job) throw new NotFoundError(`No job with id ${jobId}`);
  return job;
}

export const listJobsInputSchema = z.strictObject({
  userId: idSchema,
  limit: z.coerce.number().int().min(1).max(100).optional(),
  cursor: z.string().min(1).max(2048).optional(),
});

/** A user's jobs, newest first, a page at a time. */
export async function listJobs(
  deps: QueryDeps,
  input: unknown,
): Promise<{ jobs: Job[]; nextCursor?: string }> {
  const parsed = listJobsInputSchema.safeParse(input, { reportInput: true });
  if (!parsed.success)
    throw new ValidationError('job list request', toFieldIssues(parsed.error.issues, input));
  const { userId, limit, cursor } = parsed.data;
  return deps.ports.store.listByUser({ userId, limit: limit ?? 20, ...(cursor ? { cursor } : {}) });
}
