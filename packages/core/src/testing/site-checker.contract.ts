import type { SiteChecker } from '../ports/site-checker.port.js';
import { type Harness, type TestApi, withHarness } from './test-api.js';

export interface SiteCheckerHarness extends Harness {
  checker: SiteChecker;
  /** A URL the checker can load that serves `html` (or answers 404 when html is undefined). */
  serve(html: string | undefined): Promise<string>;
}

export function siteCheckerContract(
  t: TestApi,
  name: string,
  create: () => Promise<SiteCheckerHarness> | SiteCheckerHarness,
): void {
  const { describe, it, expect } = t;
  describe(`SiteChecker contract: ${name}`, () => {
    withHarness(t, create, (use) => {
      it('passes a page that names the product', async () => {
        const { checker, serve } = use();
        const url = await serve('<!doctype html><title>EventHub</title><h1>EventHub</h1>');
        const result = await checker.check({ url, expectText: 'EventHub' });
        expect(result.problems).toEqual([]);
        expect(result.ok).toBe(true);
      });

      it('fails a page that does not name the product', async () => {
        const { checker, serve } = use();
        const url = await serve('<!doctype html><title>Welcome</title><h1>Hello world</h1>');
        const result = await checker.check({ url, expectText: 'EventHub' });
        expect(result.ok).toBe(false);
        expect(result.problems.join(' ')).toMatch(/EventHub/);
      });

      it('fails a URL that does not answer with a page', async () => {
        const { checker, serve } = use();
        const url = await serve(undefined);
        const result = await checker.check({ url, expectText: 'EventHub' });
        expect(result.ok).toBe(false);
      });
    });
  });
}
