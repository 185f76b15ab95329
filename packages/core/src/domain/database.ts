import { z } from 'zod';
import { ValidationError } from '../errors.js';
import { shortHash } from './naming.js';
import { idSchema, toFieldIssues } from './spec.js';

/**
 * What a database is for: `app` is the MVP's own database (kept for the life of the job's app);
 * `check` is a throwaway one the journey check runs the built app against.
 */
export type DatabasePurpose = 'app' | 'check';

export const DATABASE_PURPOSES: readonly DatabasePurpose[] = ['app', 'check'];

const requestSchema = z.object({
  jobId: idSchema,
  purpose: z.enum(['app', 'check']),
});

/**
 * The names a job's database and role get: `mvp_<job>_<hash>_<purpose>`, lowercase letters,
 * digits and `_` (a valid unquoted PostgreSQL identifier, ≤ 63 bytes). The hash keeps two job
 * ids that read the same after lowercasing apart. Every adapter uses it, so a database is
 * found again from the job id alone. Throws ValidationError for a bad job id or purpose.
 */
export function databaseName(jobId: string, purpose: DatabasePurpose): string {
  const parsed = requestSchema.safeParse({ jobId, purpose });
  if (!parsed.success) throw new ValidationError('database request', toFieldIssues(parsed.error.issues));
  const readable = parsed.data.jobId
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 32);
  return `mvp_${readable}_${shortHash(parsed.data.jobId)}_${parsed.data.purpose}`;
}
