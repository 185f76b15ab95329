import { createHash } from 'node:crypto';
import {
  copyFile,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  realpath,
  stat,
  symlink,
} from 'node:fs/promises';
import path from 'node:path';
import {
  NotFoundError,
  parseTemplateManifest,
  type Redactor,
  TEMPLATE_MANIFEST_FILE,
  type TemplateManifest,
  type TemplateSource,
  ValidationError,
} from '@mvp-pipeline/core';
import { resolveInside } from '@mvp-pipeline/workspace';
import { asPipelineError } from './errors.js';

export interface LocalTemplateSourceSettings {
  /** The directory holding one folder per template, e.g. the repository's `templates/`. */
  root: string;
  /** The process's redactor, for error messages. Default: one that knows only the token shapes. */
  redact?: Redactor;
}

/** A template name: one plain path segment. */
const TEMPLATE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Never copied out of a template: VCS metadata and installed dependencies. */
const SKIPPED = new Set(['.git', 'node_modules']);

/** Throws ValidationError unless `template` is a plain template name (no separators, no `..`). */
export function assertTemplateName(template: string): void {
  if (typeof template !== 'string' || !TEMPLATE_NAME.test(template) || template.includes('..')) {
    throw new ValidationError('template name', [
      { path: JSON.stringify(String(template)), message: 'must be letters, digits, . _ - (one folder name)' },
    ]);
  }
}

/** Reads and validates a manifest; `label` names its owner in messages (a template, a workspace). */
async function parseManifestFile(file: string, label: string): Promise<TemplateManifest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NotFoundError(`${label} has no ${TEMPLATE_MANIFEST_FILE}`);
    }
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`template manifest of ${label}`, [
      { path: TEMPLATE_MANIFEST_FILE, message: `is not JSON (${(error as Error).message})` },
    ]);
  }
  return parseTemplateManifest(json, label);
}

interface Entry {
  rel: string;
  kind: 'file' | 'link';
}

/** The files of a template, sorted: no .git, no node_modules, no build output, no special files. */
async function templateEntries(templateDir: string, outputDir: string): Promise<Entry[]> {
  const skipPath = path.posix.normalize(outputDir.replace(/\\/g, '/')).replace(/\/+$/, '');
  const realTemplate = await realpath(templateDir);
  const out: Entry[] = [];
  const walk = async (absolute: string, prefix: string): Promise<void> => {
    const entries = await readdir(absolute, { withFileTypes: true });
    for (const entry of entries) {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      const full = path.join(absolute, entry.name);
      if (entry.isDirectory()) {
        if (SKIPPED.has(entry.name) || rel === skipPath) continue;
        await walk(full, rel);
      } else if (entry.isFile()) {
        out.push({ rel, kind: 'file' });
      } else if (entry.isSymbolicLink()) {
        // A link that leads out of the template would carry that path into every job's repo.
        const target = await realpath(full).catch(() => undefined);
        const inside = target !== undefined && !path.relative(realTemplate, target).startsWith('..');
        if (!inside) {
          throw new ValidationError('template', [
            { path: rel, message: 'is a symlink leading outside the template' },
          ]);
        }
        out.push({ rel, kind: 'link' });
      }
    }
  };
  await walk(templateDir, '');
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/**
 * Templates from a local folder: `<root>/<template>/` with its `mvp.template.json`. Copies every
 * file except `.git`, `node_modules` and the manifest's `outputDir`; file modes and in-template
 * symlinks are kept. A manifest's `include` entries copy folders of other templates in too
 * (`<root>/<template>/<from>` → `<to>`), so templates share one source instead of two copies. `ref` is `sha256:<16 hex>`, a digest of the copied paths, modes and contents.
 * Errors: ValidationError for a bad template name or manifest, NotFoundError for an unknown template.
 */
export function createLocalTemplateSource(settings: LocalTemplateSourceSettings): TemplateSource {
  const root = path.resolve(settings.root);
  return {
    specificationVersion: 'v1',
    async fetchTemplate({ template, workspace, signal }) {
      signal?.throwIfAborted();
      assertTemplateName(template);
      const templateDir = path.join(root, template);
      const isDir = await stat(templateDir).then(
        (s) => s.isDirectory(),
        () => false,
      );
      if (!isDir) throw new NotFoundError(`Template "${template}" not found in ${root}`);
      try {
        const manifest = await parseManifestFile(
          path.join(templateDir, TEMPLATE_MANIFEST_FILE),
          `template "${template}"`,
        );
        // The template's own files, then each folder it includes from another template.
        const sources: Array<{ dir: string; rel: string; to: string; kind: Entry['kind'] }> = [];
        for (const entry of await templateEntries(templateDir, manifest.outputDir)) {
          sources.push({ dir: templateDir, rel: entry.rel, to: entry.rel, kind: entry.kind });
        }
        for (const include of manifest.include ?? []) {
          assertTemplateName(include.template);
          const includedDir = await resolveInside(path.join(root, include.template), include.from);
          const isIncludedDir = await stat(includedDir).then(
            (s) => s.isDirectory(),
            () => false,
          );
          if (!isIncludedDir) {
            throw new NotFoundError(
              `Template "${template}" includes ${include.template}/${include.from}, which is not a folder in ${root}`,
            );
          }
          for (const entry of await templateEntries(includedDir, '')) {
            const to = `${include.to.replace(/\/+$/, '')}/${entry.rel}`;
            sources.push({ dir: includedDir, rel: entry.rel, to, kind: entry.kind });
          }
        }
        const digest = createHash('sha256');
        for (const { dir, rel: fromRel, to: rel, kind } of sources) {
          signal?.throwIfAborted();
          const from = path.join(dir, fromRel);
          const to = await resolveInside(workspace.dir, rel);
          await mkdir(path.dirname(to), { recursive: true });
          if (kind === 'link') {
            const target = await readlink(from);
            await symlink(target, to);
            digest.update(`link\0${rel}\0${target}\0`);
          } else {
            await copyFile(from, to);
            const { mode } = await lstat(from);
            digest.update(`file\0${rel}\0${mode & 0o111 ? 'x' : '-'}\0`);
            digest.update(await readFile(from));
            digest.update('\0');
          }
        }
        return { manifest, ref: `sha256:${digest.digest('hex').slice(0, 16)}` };
      } catch (error) {
        throw asPipelineError(`Cannot copy the template "${template}"`, error, settings.redact);
      }
    },
    async readManifest({ workspace, signal }) {
      signal?.throwIfAborted();
      const file = await resolveInside(workspace.dir, TEMPLATE_MANIFEST_FILE);
      try {
        return { manifest: await parseManifestFile(file, `the workspace of job ${workspace.jobId}`) };
      } catch (error) {
        throw asPipelineError(
          `Cannot read ${TEMPLATE_MANIFEST_FILE} of the workspace`,
          error,
          settings.redact,
        );
      }
    },
  };
}
