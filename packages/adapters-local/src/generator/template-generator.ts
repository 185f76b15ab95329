import { readFile } from 'node:fs/promises';
import {
  type CodeGenerator,
  DEVELOPMENT_INSTRUCTIONS_FILE,
  deriveAppModel,
  type GenerateResult,
  PermanentError,
  PipelineError,
  type ProductSpec,
  type ProgressReporter,
  renderDevelopmentInstructions,
  renderSpecMarkdown,
  SPEC_MARKDOWN_FILE,
  type TemplateManifest,
} from '@mvp-pipeline/core';
import { digestFiles, resolveInside, runCommand, writeFileInside } from '@mvp-pipeline/workspace';
import { errnoCode, fsError } from '../disk/files.js';

/** The content file the template generator fills, inside the manifest's `sourceDir`. */
export const SITE_CONTENT_FILE = 'site.json';

/** The name this generator reports in results and on the job record. */
export const TEMPLATE_GENERATOR_NAME = 'template';

/**
 * The offline code generator, and the fallback when AI is unavailable: it writes the spec into
 * the template's content file (`<sourceDir>/site.json`) and writes MVP_SPECS.md and
 * DEVELOPMENT_INSTRUCTIONS.md at the workspace root; on a template with an app model (manifest
 * `model`) it also writes the model (the spec's `specifications.app`, else the feature recipes'
 * reading of the key features) and runs the template's `generate` command, reporting per key
 * feature what built it. Its output depends on the spec and the
 * manifest only, so a repair round rewrites the same files; `filesChanged` lists only files
 * whose content changed. Writes only inside `workspace.dir` (through symlinks neither).
 * Errors: PermanentError when the template declares no `sourceDir` or a file cannot be written,
 * ValidationError for a path that would leave the workspace, TransientError for a full disk;
 * an aborted signal rejects with its reason.
 */
export function createTemplateCodeGenerator(): CodeGenerator {
  return {
    specificationVersion: 'v1',
    async generate({ spec, workspace, manifest, repair, report, signal }): Promise<GenerateResult> {
      signal?.throwIfAborted();
      if (!manifest.sourceDir) {
        throw new PermanentError(
          `The "${manifest.name}" template declares no sourceDir in mvp.template.json: ` +
            'the template generator has nowhere to write the product content',
        );
      }
      if (repair) {
        const lastLine = repair.buildOutput.trim().split('\n').at(-1)?.slice(0, 200) ?? '';
        report.log(
          `Repair round ${repair.round}: the template generator rewrites its files from the spec` +
            (lastLine ? ` (the build said: ${lastLine})` : ''),
          'warn',
        );
      }
      // The app model: the spec's own, or the recipes' reading of its key features.
      const derived = manifest.model ? deriveAppModel(spec) : undefined;
      const files: ReadonlyArray<readonly [string, string]> = [
        [`${manifest.sourceDir}/${SITE_CONTENT_FILE}`, `${JSON.stringify(publicContent(spec), null, 2)}\n`],
        [SPEC_MARKDOWN_FILE, renderSpecMarkdown(spec)],
        [DEVELOPMENT_INSTRUCTIONS_FILE, renderDevelopmentInstructions(spec, manifest)],
        ...(manifest.model && derived
          ? [[manifest.model, `${JSON.stringify(derived.model, null, 2)}\n`] as const]
          : []),
      ];
      const filesChanged: string[] = [];
      for (const [relative, content] of files) {
        signal?.throwIfAborted();
        const target = await resolveInside(workspace.dir, relative);
        try {
          const before = await readFile(target, 'utf8').catch((error: unknown) => {
            if (errnoCode(error) === 'ENOENT') return undefined;
            throw error;
          });
          if (before === content) continue;
          // New file and rename, each directory opened without following symlinks.
          await writeFileInside(workspace.dir, relative, content);
        } catch (error) {
          throw PipelineError.isInstance(error) ? error : fsError(`write ${relative}`, error);
        }
        filesChanged.push(relative);
      }
      report.log(
        filesChanged.length
          ? `Wrote ${filesChanged.join(', ')}`
          : 'The files generated from the spec were already up to date',
      );
      if (derived) filesChanged.push(...(await runGenerate(workspace.dir, manifest, report, signal)));
      return {
        generator: TEMPLATE_GENERATOR_NAME,
        summary: summaryOf(spec, manifest.name, repair?.round),
        filesChanged,
        ...(derived ? { features: derived.features } : {}),
      };
    },
  };
}

/** How long the template's `generate` command may take. */
const GENERATE_TIMEOUT_MS = 2 * 60_000;

/**
 * Runs the template's `generate` command (the model into code), so the commit holds the code a
 * developer carries on with, not only the model. Returns the files it changed.
 */
async function runGenerate(
  dir: string,
  manifest: TemplateManifest,
  report: ProgressReporter,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const argv = manifest.commands['generate'];
  if (!argv) return [];
  const skip = [manifest.outputDir];
  const before = await digestFiles(dir, { skip });
  const result = await runCommand({
    argv,
    cwd: dir,
    timeoutMs: GENERATE_TIMEOUT_MS,
    ...(signal ? { signal } : {}),
  });
  if (result.exitCode !== 0) {
    throw new PermanentError(
      `The "${manifest.name}" template's generate command failed (${result.timedOut ? 'timed out' : `exit ${result.exitCode ?? result.signal}`}): ${result.output.trim().split('\n').slice(-5).join(' / ')}`,
    );
  }
  const last = result.output.trim().split('\n').at(-1);
  if (last) report.log(last.slice(0, 300));
  const after = await digestFiles(dir, { skip });
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((f) => before[f] !== after[f]);
}

/**
 * The spec as the site needs it. The founder's email, name and the record ids stay out: the
 * repository may be public.
 */
function publicContent(spec: ProductSpec): Record<string, unknown> {
  const { id: _userId, email: _email, name: _founder, ...user } = spec.user;
  const { id: _productId, ...product } = spec.product;
  return {
    product,
    user,
    ...(spec.specifications ? { specifications: spec.specifications } : {}),
  };
}

/** One line for the commit message: the product, the template, how many features. */
function summaryOf(spec: ProductSpec, template: string, repairRound: number | undefined): string {
  const oneLine = spec.product.name.replace(/\s+/g, ' ').trim();
  const chars = Array.from(oneLine);
  const name = chars.length > 60 ? `${chars.slice(0, 59).join('')}…` : oneLine;
  const count = spec.specifications?.keyFeatures?.length ?? 0;
  const features = count === 1 ? '1 key feature' : `${count} key features`;
  const verb = repairRound === undefined ? 'Build' : 'Rebuild';
  const suffix = repairRound === undefined ? '' : `, repair round ${repairRound}`;
  return `${verb} ${name} from its spec on the ${template} template (${features}${suffix})`;
}
