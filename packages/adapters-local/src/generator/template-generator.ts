import { readFile } from 'node:fs/promises';
import {
  type CodeGenerator,
  DEVELOPMENT_INSTRUCTIONS_FILE,
  type GenerateResult,
  PermanentError,
  PipelineError,
  type ProductSpec,
  renderDevelopmentInstructions,
  renderSpecMarkdown,
  SPEC_MARKDOWN_FILE,
} from '@mvp-pipeline/core';
import { resolveInside, writeFileInside } from '@mvp-pipeline/workspace';
import { errnoCode, fsError } from '../disk/files.js';

/** The content file the template generator fills, inside the manifest's `sourceDir`. */
export const SITE_CONTENT_FILE = 'site.json';

/** The name this generator reports in results and on the job record. */
export const TEMPLATE_GENERATOR_NAME = 'template';

/**
 * The offline code generator, and the fallback when AI is unavailable: it writes the spec into
 * the template's content file (`<sourceDir>/site.json`) and writes MVP_SPECS.md and
 * DEVELOPMENT_INSTRUCTIONS.md at the workspace root. Its output depends on the spec and the
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
      const files: ReadonlyArray<readonly [string, string]> = [
        [`${manifest.sourceDir}/${SITE_CONTENT_FILE}`, `${JSON.stringify(publicContent(spec), null, 2)}\n`],
        [SPEC_MARKDOWN_FILE, renderSpecMarkdown(spec)],
        [DEVELOPMENT_INSTRUCTIONS_FILE, renderDevelopmentInstructions(spec, manifest)],
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
      return {
        generator: TEMPLATE_GENERATOR_NAME,
        summary: summaryOf(spec, manifest.name, repair?.round),
        filesChanged,
      };
    },
  };
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
