import type { StepUsage } from '../domain/job.js';
import type { TemplateManifest } from '../domain/template.js';
import type { CodeGenerator, ProgressReporter } from '../ports/code-generator.port.js';
import type { Workspace } from '../ports/workspace.port.js';
import type { FilesAccess } from './files-access.js';
import { sampleSpec } from './fixtures.js';
import { type Harness, type TestApi, withHarness } from './test-api.js';

export interface CodeGeneratorHarness extends Harness {
  generator: CodeGenerator;
  files: FilesAccess;
  /** A workspace holding a template, ready to generate into. */
  prepare(): Promise<{ workspace: Workspace; manifest: TemplateManifest }>;
}

/** A reporter that keeps what it was told. */
export function recordingReporter(): ProgressReporter & { lines: string[]; usages: Partial<StepUsage>[] } {
  const lines: string[] = [];
  const usages: Partial<StepUsage>[] = [];
  return {
    lines,
    usages,
    log: (message) => void lines.push(message),
    usage: (delta) => void usages.push(delta),
  };
}

export function codeGeneratorContract(
  t: TestApi,
  name: string,
  create: () => Promise<CodeGeneratorHarness> | CodeGeneratorHarness,
): void {
  const { describe, it, expect } = t;
  describe(`CodeGenerator contract: ${name}`, () => {
    withHarness(t, create, (use) => {
      it('develops the spec into the workspace and says what it changed', async () => {
        const { generator, files, prepare } = use();
        const { workspace, manifest } = await prepare();
        const before = new Map<string, string | undefined>();
        for (const path of await files.list(workspace)) before.set(path, await files.read(workspace, path));
        const report = recordingReporter();
        const result = await generator.generate({
          jobId: workspace.jobId,
          spec: sampleSpec(),
          workspace,
          manifest,
          report,
        });
        expect(result.generator).toMatch(/\S/);
        expect(result.summary).toMatch(/\S/);
        expect(result.filesChanged.length).toBeGreaterThan(0);
        for (const path of result.filesChanged) {
          const now = await files.read(workspace, path);
          expect(now !== before.get(path), `${path} is reported changed`).toBe(true);
        }
      });

      it('stops when its signal aborts', async () => {
        const { generator, prepare } = use();
        const { workspace, manifest } = await prepare();
        const controller = new AbortController();
        controller.abort(new Error('stop'));
        const run = generator.generate({
          jobId: workspace.jobId,
          spec: sampleSpec(),
          workspace,
          manifest,
          report: recordingReporter(),
          signal: controller.signal,
        });
        await expect(run).rejects.toBeDefined();
      });
    });
  });
}
