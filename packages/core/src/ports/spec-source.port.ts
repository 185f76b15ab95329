import type { ProductSpec } from '../domain/spec.js';

/**
 * Reads a product spec. A spec is found only for the (userId, productId) pair that owns it:
 * another user's product is NotFoundError, exactly like a missing one.
 *
 * Errors: NotFoundError, ValidationError (the stored spec is malformed; the message names the
 * product and the field), TransientError (the source is unreachable for now).
 */
export interface SpecSource {
  readonly specificationVersion: 'v1';
  getSpec(options: {
    userId: string;
    productId: string;
    signal?: AbortSignal;
  }): Promise<{ spec: ProductSpec }>;
}
