import { stableHash } from '../domain/naming.js';
import { parseProductSpec } from '../domain/spec.js';
import { PermanentError, toPipelineError } from '../errors.js';
import type { PipelineDeps } from './deps.js';
import type { JobSession } from './job-session.js';

/**
 * A resumed job runs on the spec it checkpointed. Its source is read once, to notice (and log)
 * a spec edited while the job was interrupted; a record from before specs were checkpointed
 * takes the source's spec when it is the one the job started with.
 */
export async function compareSpec(
  deps: PipelineDeps,
  session: JobSession,
  signal: AbortSignal,
): Promise<void> {
  const fetched = session.job.checkpoints.FETCHING_DATA;
  if (!fetched) return;
  const step = session.job.currentStep;
  let current: ReturnType<typeof parseProductSpec>;
  try {
    const { spec } = await deps.ports.specs.getSpec({
      userId: session.job.userId,
      productId: session.job.productId,
      signal: signal,
    });
    current = parseProductSpec(spec, `spec of product ${session.job.productId}`);
  } catch (thrown) {
    if (!fetched.spec) throw thrown;
    const error = toPipelineError(thrown, step);
    session.log(
      step,
      `Could not compare the spec with its source (${error.message}); building the spec the job started with`,
      'warn',
    );
    return;
  }
  const hash = stableHash(current);
  if (hash === fetched.specHash) {
    if (!fetched.spec) {
      await session.write((job) => ({
        set: { checkpoints: { ...job.checkpoints, FETCHING_DATA: { ...fetched, spec: current } } },
      }));
    }
    return;
  }
  if (!fetched.spec)
    throw new PermanentError(
      `The spec of product ${session.job.productId} changed since the job read it, and the job kept no copy`,
      { step },
    );
  session.log(
    step,
    `The spec of ${fetched.businessName} changed in its source since the job read it (${hash.slice(0, 12)}, was ${fetched.specHash.slice(0, 12)}); the job builds the spec it started with`,
    'warn',
  );
}
