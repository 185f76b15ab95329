import type { TemplateManifest } from '../domain/template.js';
import type { Builder } from '../ports/builder.port.js';
import type { Workspace } from '../ports/workspace.port.js';
import { recordingReporter } from './code-generator.contract.js';
import type { FilesAccess } from './files-access.js';
import { type Harness, type TestApi, withHarness } from './test-api.js';

export interface BuilderHarness extends Harness {
  builder: Builder;
  files: FilesAccess;
  /** A workspace whose build passes. */
  buildable(): Promise<{ workspace: Workspace; manifest: TemplateManifest }>;
  /** Changes the workspace so that its build fails. */
  breakBuild(workspace: Workspace): Promise<void>;
  /** Whether the built output holds this file (path relative to the output directory). */
  outputHas(outputDir: string, path: string): Promise<boolean>;
}

export function builderContract(
  t: TestApi,
  name: string,
  create: () => Promise<BuilderHarness> | BuilderHarness,
): void {
  const { describe, it, expect } = t;
  describe(`Builder contract: ${name}`, () => {
    withHarness(t, create, (use) => {
      it('builds a site with an index.html', async () => {
        const { builder, buildable, outputHas } = use();
        const { workspace, manifest } = await buildable();
        const result = await builder.build({ workspace, manifest, report: recordingReporter() });
        expect(result.ok).toBe(true);
        if (result.ok) {
          expect(result.checks).toContain('build');
          expect(await outputHas(result.outputDir, 'index.html')).toBe(true);
        }
      });

      it('reports a failing build as a result with its output', async () => {
        const { builder, buildable, breakBuild } = use();
        const { workspace, manifest } = await buildable();
        await breakBuild(workspace);
        const result = await builder.build({ workspace, manifest, report: recordingReporter() });
        expect(result.ok).toBe(false);
        if (!result.ok) {
          expect(result.summary).toMatch(/\S/);
          expect(result.output).toMatch(/\S/);
        }
      });
    });
  });
}
