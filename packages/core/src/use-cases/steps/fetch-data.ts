import { deriveAppModel } from '../../domain/app-recipes.js';
import { stableHash } from '../../domain/naming.js';
import { parseProductSpec } from '../../domain/spec.js';
import { ValidationError } from '../../errors.js';
import type { StepContext, StepResult } from './context.js';

/**
 * The largest spec, as JSON, a job checkpoints (and so the largest it runs). The checkpoints
 * live in the record's runner state (on DynamoDB a compressed item beside the record, 400 KB at
 * most), so the spec is capped rather than stored elsewhere: 64 KiB of JSON leaves the other
 * checkpoints ample room even uncompressed.
 */
export const MAX_CHECKPOINTED_SPEC_BYTES = 64 * 1024;

/** FETCHING_DATA: reads and validates the spec once, and checkpoints it for every later step. */
export async function fetchData(ctx: StepContext): Promise<StepResult<'FETCHING_DATA'>> {
  const { job, signal } = ctx;
  const { spec: raw } = await ctx.deps.ports.specs.getSpec({
    userId: job.userId,
    productId: job.productId,
    signal,
  });
  const spec = parseProductSpec(raw, `spec of product ${job.productId}`);
  const bytes = new TextEncoder().encode(JSON.stringify(spec)).length;
  if (bytes > MAX_CHECKPOINTED_SPEC_BYTES) {
    throw new ValidationError(`spec of product ${job.productId}`, [
      { path: '', message: `must be at most ${MAX_CHECKPOINTED_SPEC_BYTES} bytes as JSON, got ${bytes}` },
    ]);
  }
  // A record written elsewhere (FounderDash) reaches here unchecked: a bad app model fails now.
  if (spec.specifications?.app !== undefined) deriveAppModel(spec);
  return {
    outputs: { specHash: stableHash(spec), businessName: spec.product.name, spec },
    fields: () => ({ businessName: spec.product.name }),
    message: `Read the spec of ${spec.product.name}`,
  };
}
