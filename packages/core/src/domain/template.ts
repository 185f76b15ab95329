import { z } from 'zod';
import { ValidationError } from '../errors.js';
import { type ProductSpec, toFieldIssues } from './spec.js';

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
  /**
   * The app model file (`app.model.json`): the template generator writes the model there, the
   * `generate` command turns it into code, and the journey check is derived from it. Without it
   * the template builds a landing page only.
   */
  model: relativePath.optional(),
  /**
   * A folder the build keeps between jobs of the same template and lockfile (e.g. `.next/cache`):
   * restored before `build`, saved after a passing one.
   */
  buildCache: relativePath.optional(),
  /** Files the template generator fills from the spec. */
  sourceDir: relativePath.optional(),
  /** What the template is built with, e.g. `static` or `nextjs`. */
  framework: z
    .string()
    .regex(/^[a-z][a-z0-9-]*$/)
    .optional(),
  /**
   * Files (or folders, ending in `/`) a code generator must not change: the auth, the database
   * layer, the migration runner. Paths relative to the workspace.
   */
  protectedFiles: z.array(relativePath).max(200).optional(),
  /** How the built app is started by `commands.start`: the port variable and a path that answers when ready. */
  start: z
    .object({
      portEnv: z.string().regex(/^[A-Z][A-Z0-9_]*$/),
      readyPath: z.string().regex(/^\/[^\s]*$/, 'must be a path starting with /'),
    })
    .optional(),
  /**
   * Plain settings the deployed app runs with (`DATABASE_POOL_MAX`: `"5"`), set on the deployment
   * target's environment. Not for secrets: a deployer sets `DATABASE_URL`, `APP_URL` and
   * `SESSION_SECRET` itself.
   */
  env: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/), z.string().max(4096)).optional(),
  /**
   * Folders of other templates copied into this one (`templates/<template>/<from>` → `<to>`), so
   * two templates share one source: the app's home page is the landing template's rendering.
   */
  include: z
    .array(
      z.object({
        template: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
        from: relativePath,
        to: relativePath,
      }),
    )
    .max(10)
    .optional(),
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

/** `technicalRequirements.framework` values that ask for a static page, and for an app. */
const STATIC_FRAMEWORKS = new Set(['static', 'html', 'landing', 'landing-page', 'none']);
const APP_FRAMEWORKS = new Set(['nextjs', 'next', 'next.js', 'react', 'app']);

/**
 * The template a spec asks for through `specifications.technicalRequirements.framework`:
 * `landing` for a static page, `app` for a Next.js app, undefined when it names neither (the
 * request's or the configured default then decides).
 */
export function templateForSpec(spec: ProductSpec): 'landing' | 'app' | undefined {
  const framework = spec.specifications?.technicalRequirements?.['framework'];
  if (typeof framework !== 'string') return undefined;
  const name = framework.trim().toLowerCase();
  if (STATIC_FRAMEWORKS.has(name)) return 'landing';
  if (APP_FRAMEWORKS.has(name)) return 'app';
  return undefined;
}

/** The `protectedFiles` entry covering `relative` (a path, or a folder ending in `/`), if any. */
export function protectingRule(rules: readonly string[], relative: string): string | undefined {
  return rules.find((rule) => {
    const clean = rule.replace(/^\.\//, '');
    return clean.endsWith('/') ? relative.startsWith(clean) || `${relative}/` === clean : relative === clean;
  });
}
