import type { TemplateSource } from '../ports/template-source.port.js';
import type { FilesAccess } from './files-access.js';
import { type Harness, rejectionCode, type TestApi, withHarness } from './test-api.js';

export interface TemplateSourceHarness extends Harness {
  source: TemplateSource;
  files: FilesAccess;
  /** A template the source can serve. */
  template: string;
}

export function templateSourceContract(
  t: TestApi,
  name: string,
  create: () => Promise<TemplateSourceHarness> | TemplateSourceHarness,
): void {
  const { describe, it, expect } = t;
  describe(`TemplateSource contract: ${name}`, () => {
    withHarness(t, create, (use) => {
      it('copies the template into the workspace with a manifest that declares a build', async () => {
        const { source, files, template } = use();
        const workspace = await files.newWorkspace();
        const { manifest, ref } = await source.fetchTemplate({ template, workspace });
        expect(manifest.commands.build?.length).toBeGreaterThan(0);
        expect(ref).toMatch(/\S/);
        const listed = await files.list(workspace);
        expect(listed).toContain('mvp.template.json');
        expect(listed.some((p) => p.startsWith('.git/'))).toBe(false);
        expect((await source.readManifest({ workspace })).manifest).toEqual(manifest);
      });

      it('answers NOT_FOUND for an unknown template', async () => {
        const { source, files } = use();
        const workspace = await files.newWorkspace();
        expect(await rejectionCode(source.fetchTemplate({ template: 'no-such-template', workspace }))).toBe(
          'NOT_FOUND',
        );
      });
    });
  });
}
