import { ValidationError } from '@mvp-pipeline/core';
import { sampleSpec } from '@mvp-pipeline/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSpecs } from './load-specs.js';
import { createPgSpecSource } from './spec-source.js';
import { startTestDatabase, type TestDatabase } from './testing/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
}, 180_000);
afterAll(async () => {
  await db?.close();
});

describe('a spec row nested thousands of levels deep', () => {
  it('is a ValidationError naming the field and its column, not a stack overflow', async () => {
    await db.reset();
    await loadSpecs({
      pool: db.pool,
      specs: [sampleSpec({ userId: 'user_deep', productId: 'product_deep' })],
    });
    // Written by something other than the pipeline's loader, which validates.
    const levels = 3_000;
    const deep = `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
    await db.pool.query('UPDATE mvp_specifications SET customizations = $1::jsonb WHERE product_id = $2', [
      deep,
      'product_deep',
    ]);
    const source = createPgSpecSource({ connectionString: db.url });
    try {
      const error = await source.getSpec({ userId: 'user_deep', productId: 'product_deep' }).catch((e) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues).toEqual([
        {
          path: 'specifications.customizations',
          message: 'must be nested at most 32 levels deep (column mvp_specifications.customizations)',
        },
      ]);
    } finally {
      await source.close();
    }
  });
});
