import type { ProductSpec } from '../domain/spec.js';

/**
 * Reads a product spec. A spec is found only for the (userId, productId) pair that owns it:
 * another user's product is NotFoundError, exactly like a missing one.
 *
 * Errors: NotFoundError, ValidationError (the stored spec is malformed; the message names the
 * product and the field), TransientError (the source is unreachable for now: connection refused,
 * timeouts, a server that is starting or failing over), PermanentError (bad credentials, a
 * missing table). Never a raw driver or `fs` error, and never a connection string in a message.
 * An aborted `signal` rejects with its reason.
 *
 * **Spec registry (optional capability).** A source that keeps specs of its own (the JSON source
 * of the embedded defaults) also implements `registerSpec` and `listUsers`; a source that reads
 * specs owned elsewhere (FounderDash's PostgreSQL) leaves both out. Everything that registers a
 * spec (`mvp run --spec FILE`, the dashboard's form, an embedder) goes through the SpecSource the
 * container resolved, so a rebound SpecSource is the one used everywhere; callers check
 * `source.registerSpec` and say plainly when the configured source has none.
 */
export interface SpecSource {
  readonly specificationVersion: 'v1';
  getSpec(options: {
    userId: string;
    productId: string;
    signal?: AbortSignal;
  }): Promise<{ spec: ProductSpec }>;
  /**
   * Validates `spec` (ValidationError naming `origin`, default "spec") and stores it, so that
   * `getSpec` finds it for its owner from then on, in this process and in any other that shares
   * the source. Idempotent: registering a spec again replaces the stored one. Returns the
   * validated spec.
   */
  registerSpec?(options: {
    spec: unknown;
    origin?: string;
    signal?: AbortSignal;
  }): Promise<{ spec: ProductSpec }>;
  /** The users that own specs here, sorted; empty when there are none. */
  listUsers?(options?: { signal?: AbortSignal }): Promise<{ userIds: string[] }>;
}
