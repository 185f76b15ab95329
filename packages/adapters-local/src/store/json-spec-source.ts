import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError, type ProductSpec, parseProductSpec, type SpecSource } from '@mvp-pipeline/core';
import { readSpecFile } from './spec-file.js';

/** A SpecSource over specs registered from JSON files (the shape of `examples/*.json`). */
export interface JsonSpecSource extends Required<SpecSource> {
  /** Validates and registers a spec; returns it. */
  register(spec: unknown, origin?: string): Promise<ProductSpec>;
  /** Reads, validates and registers a spec file. A missing file or broken JSON is a ValidationError naming the file. */
  registerFile(path: string): Promise<ProductSpec>;
  /** The users that have specs here. */
  users(): Promise<string[]>;
}

export interface JsonSpecSourceSettings {
  /**
   * Where registered specs are kept (`<dir>/<userId>/<productId>.json`), so a worker in another
   * process finds them. In memory only when omitted.
   */
  dir?: string;
}

/** Ids are validated by the spec schema; encoding keeps even odd ones inside the directory. */
const segment = (id: string) => encodeURIComponent(id).replace(/\./g, '%2E');

export function createJsonSpecSource(settings: JsonSpecSourceSettings = {}): JsonSpecSource {
  const specs = new Map<string, ProductSpec>();
  // Keyed by owner and product together: a spec is only ever found for the user who owns it.
  const key = (userId: string, productId: string) => JSON.stringify([userId, productId]);
  const pathOf = (dir: string, userId: string, productId: string) =>
    join(dir, segment(userId), `${segment(productId)}.json`);

  const source: JsonSpecSource = {
    specificationVersion: 'v1',
    async getSpec({ userId, productId, signal }) {
      signal?.throwIfAborted();
      let spec = specs.get(key(userId, productId));
      if (!spec && settings.dir) {
        const text = await readFile(pathOf(settings.dir, userId, productId), 'utf8').catch(() => undefined);
        if (text !== undefined) spec = parseProductSpec(JSON.parse(text), `spec of product ${productId}`);
      }
      // The stored spec must belong to the pair asked for, not just sit at its path.
      if (!spec || spec.user.id !== userId || spec.product.id !== productId) {
        throw new NotFoundError(`No product ${productId} for user ${userId}`);
      }
      return { spec: structuredClone(spec) };
    },
    async register(input, origin = 'spec') {
      const spec = parseProductSpec(input, origin);
      specs.set(key(spec.user.id, spec.product.id), spec);
      if (settings.dir) {
        const path = pathOf(settings.dir, spec.user.id, spec.product.id);
        await mkdir(join(path, '..'), { recursive: true });
        await writeFile(`${path}.tmp`, `${JSON.stringify(spec, null, 2)}\n`);
        await rename(`${path}.tmp`, path);
      }
      return spec;
    },
    async registerFile(path) {
      return source.register(await readSpecFile(path), `spec file ${path}`);
    },
    async registerSpec({ spec, origin }) {
      return { spec: await source.register(spec, origin) };
    },
    async listUsers() {
      return { userIds: await source.users() };
    },
    async users() {
      const known = new Set([...specs.values()].map((s) => s.user.id));
      if (settings.dir) {
        for (const name of await readdir(settings.dir).catch(() => [] as string[]))
          known.add(decodeURIComponent(name));
      }
      return [...known].sort();
    },
  };
  return source;
}
