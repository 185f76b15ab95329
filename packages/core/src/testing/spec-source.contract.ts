import type { ProductSpec } from '../domain/spec.js';
import { CancelledError } from '../errors.js';
import type { SpecSource } from '../ports/spec-source.port.js';
import { settle } from './faults.js';
import { sampleSpec } from './fixtures.js';
import { type Harness, rejectionCode, type TestApi, withHarness } from './test-api.js';

export interface SpecSourceHarness extends Harness {
  source: SpecSource;
  /** Stores a spec the way the source's owner would (a file, database rows). */
  seed(spec: ProductSpec): Promise<void>;
}

export function specSourceContract(
  t: TestApi,
  name: string,
  create: () => Promise<SpecSourceHarness> | SpecSourceHarness,
): void {
  const { describe, it, expect } = t;
  describe(`SpecSource contract: ${name}`, () => {
    withHarness(t, create, (use) => {
      it('returns the spec of a product for the user who owns it', async () => {
        const { source, seed } = use();
        const spec = sampleSpec({
          userId: 'owner_1',
          productId: 'prod_1',
          name: 'Café Ünïcode — “Quotes” & <b>',
        });
        await seed(spec);
        const { spec: read } = await source.getSpec({ userId: 'owner_1', productId: 'prod_1' });
        expect(read.product.name).toBe(spec.product.name);
        expect(read.user.email).toBe(spec.user.email);
        expect(read.specifications?.keyFeatures).toEqual(spec.specifications?.keyFeatures);
        expect(read.user.branding?.colors).toEqual(spec.user.branding?.colors);
      });

      it('rejects with the signal’s reason when aborted', async () => {
        const { source, seed } = use();
        await seed(sampleSpec({ userId: 'owner_ab', productId: 'prod_ab' }));
        const controller = new AbortController();
        const reason = new CancelledError('Cancelled by the contract suite');
        controller.abort(reason);
        const outcome = await settle(
          source.getSpec({ userId: 'owner_ab', productId: 'prod_ab', signal: controller.signal }),
        );
        expect(
          outcome.kind === 'resolved' ? 'resolved' : outcome.error,
          'getSpec with an aborted signal must reject with signal.reason',
        ).toBe(reason);
      });

      it('copes with a spec that has only the required fields', async () => {
        const { source, seed } = use();
        await seed({
          user: { id: 'u_min', email: 'solo@example.com' },
          product: { id: 'p_min', name: 'Solo' },
        });
        const { spec } = await source.getSpec({ userId: 'u_min', productId: 'p_min' });
        expect(spec.product.name).toBe('Solo');
        expect(spec.specifications?.keyFeatures ?? []).toEqual([]);
      });

      it('does not find another user’s product, nor a missing one', async () => {
        const { source, seed } = use();
        await seed(sampleSpec({ userId: 'owner_2', productId: 'prod_2' }));
        expect(await rejectionCode(source.getSpec({ userId: 'intruder', productId: 'prod_2' }))).toBe(
          'NOT_FOUND',
        );
        expect(await rejectionCode(source.getSpec({ userId: 'owner_2', productId: 'prod_missing' }))).toBe(
          'NOT_FOUND',
        );
      });

      it('treats ids as data, never as query syntax', async () => {
        const { source, seed } = use();
        await seed(sampleSpec({ userId: 'owner_3', productId: 'prod_3' }));
        for (const evil of ["prod_3' OR '1'='1", '../prod_3', 'prod_3"; DROP TABLE products; --', '*']) {
          expect(await rejectionCode(source.getSpec({ userId: 'owner_3', productId: evil }))).toMatch(
            /NOT_FOUND|VALIDATION/,
          );
        }
        expect((await source.getSpec({ userId: 'owner_3', productId: 'prod_3' })).spec.product.id).toBe(
          'prod_3',
        );
      });
    });
  });
}
