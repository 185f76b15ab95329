import { readFile } from 'node:fs/promises';
import {
  NotFoundError,
  type ProductSpec,
  parseProductSpec,
  type SpecSource,
  ValidationError,
} from '@mvp-pipeline/core';

/** A SpecSource over specs registered from JSON files (the ../shared/specs shape). */
export interface JsonSpecSource extends SpecSource {
  /** Validates and registers a spec; returns it. */
  register(spec: unknown, origin?: string): ProductSpec;
  /** Reads, validates and registers a spec file. A missing file or broken JSON is a ValidationError naming the file. */
  registerFile(path: string): Promise<ProductSpec>;
}

export function createJsonSpecSource(): JsonSpecSource {
  const specs = new Map<string, ProductSpec>();
  // Keyed by owner and product together: a spec is only ever found for the user who owns it.
  const key = (userId: string, productId: string) => JSON.stringify([userId, productId]);
  const source: JsonSpecSource = {
    specificationVersion: 'v1',
    async getSpec({ userId, productId }) {
      const spec = specs.get(key(userId, productId));
      if (!spec) throw new NotFoundError(`No product ${productId} for user ${userId}`);
      return { spec: structuredClone(spec) };
    },
    register(input, origin = 'spec') {
      const spec = parseProductSpec(input, origin);
      specs.set(key(spec.user.id, spec.product.id), spec);
      return spec;
    },
    async registerFile(path) {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        const reason =
          (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
        throw new ValidationError(`spec file ${path}`, [{ path: '', message: reason }]);
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (error) {
        throw new ValidationError(`spec file ${path}`, [
          { path: '', message: `is not valid JSON (${(error as Error).message})` },
        ]);
      }
      return source.register(json, `spec file ${path}`);
    },
  };
  return source;
}
