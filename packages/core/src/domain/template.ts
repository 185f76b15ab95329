import { z } from 'zod';
import { ValidationError } from '../errors.js';
import { toFieldIssues } from './spec.js';

const relativePath = z
  .string()
  .min(1, 'must not be empty')
  .refine(
    (p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'),
    'must be a path inside the template',
  );
const argv = z.array(z.string().min(1)).min(1, 'must name a program');

/** What a template declares in its `mvp.template.json`. */
export const templateManifestSchema = z.object({
  name: z.string().min(1),
  description: z.string().optional(),
  /** Where the build writes the site, relative to the workspace. */
  outputDir: relativePath,
  /** Named commands (argument arrays, run without a shell). `build` is required. */
  commands: z
    .record(z.string().regex(/^[a-z][a-z0-9-]*$/), argv)
    .refine((c) => 'build' in c, 'must declare build'),
  /** A file of notes for code generators (conventions, where things go). */
  notes: relativePath.optional(),
  /** Files the template generator fills from the spec. */
  sourceDir: relativePath.optional(),
});

export type TemplateManifest = z.infer<typeof templateManifestSchema>;

export const TEMPLATE_MANIFEST_FILE = 'mvp.template.json';

export function parseTemplateManifest(input: unknown, template: string): TemplateManifest {
  const result = templateManifestSchema.safeParse(input, { reportInput: true });
  if (!result.success) {
    throw new ValidationError(`template manifest of "${template}"`, toFieldIssues(result.error.issues));
  }
  return result.data;
}
