import { z } from 'zod';
import { type FieldIssue, ValidationError } from '../errors.js';

// Control characters other than tab, newline and carriage return have no place in a spec.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const text = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !CONTROL.test(s), 'must not contain control characters');
const name = (max: number) =>
  text(max)
    .transform((s) => s.trim())
    .refine((s) => s.length > 0, 'must not be empty');
export const idSchema = z
  .string()
  .trim()
  .min(1, { error: 'must not be empty', abort: true })
  .max(128, 'must be at most 128 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:@-]*$/, 'must be letters, digits, and _ . : @ - only');
const FREE_FORM_MAX = 20_000;
// Free-form sections reach the generator's prompt whole: bound them like the text fields.
const freeForm = z
  .record(z.string(), z.unknown())
  .refine(
    (value) => JSON.stringify(value).length <= FREE_FORM_MAX,
    `must be at most ${FREE_FORM_MAX} characters as JSON`,
  );
const hexColor = z
  .string()
  .regex(/^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/, 'must be a hex colour like #4F46E5');
const fontName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(/^[\p{L}\p{N} _-]+$/u, 'must be a font family name (letters, digits, spaces, - and _)');

const APP_MODEL_MAX = 200_000;
// The app model's own schema checks it; here it is only bounded, so spec.ts stays independent of it.
const appModelInput = z
  .record(z.string(), z.unknown())
  .refine(
    (value) => JSON.stringify(value).length <= APP_MODEL_MAX,
    `must be at most ${APP_MODEL_MAX} characters as JSON`,
  );

export const productSpecSchema = z.object({
  user: z.object({
    id: idSchema,
    email: z.email('must be an email address').max(254, 'must be at most 254 characters'),
    name: name(200).optional(),
    companyName: name(200).optional(),
    businessType: name(200).optional(),
    industry: name(200).optional(),
    targetMarket: text(2_000).optional(),
    branding: z
      .object({
        colors: z.array(hexColor).max(10, 'must list at most 10 colours').optional(),
        fonts: z.array(fontName).max(5, 'must list at most 5 fonts').optional(),
      })
      .optional(),
  }),
  product: z.object({
    id: idSchema,
    name: name(120),
    tagline: text(300).optional(),
    description: text(20_000).optional(),
  }),
  specifications: z
    .object({
      targetAudience: text(2_000).optional(),
      keyFeatures: z.array(name(300)).max(30, 'must list at most 30 features').optional(),
      technicalRequirements: freeForm.optional(),
      designPreferences: freeForm.optional(),
      customizations: freeForm.optional(),
      mvpSpecs: z.union([text(50_000), freeForm]).optional(),
      /** An explicit app model (see `app-model.ts`); `deriveAppModel` validates it in full. */
      app: appModelInput.optional(),
    })
    .optional(),
});

/** A founder's product as the pipeline builds it: one user, one product, its MVP specification. */
export type ProductSpec = z.infer<typeof productSpecSchema>;

/** Zod's issues as field-named messages a person can act on. */
export function toFieldIssues(issues: readonly z.core.$ZodIssue[]): FieldIssue[] {
  return issues.map((issue) => ({ path: formatPath(issue.path), message: issueMessage(issue) }));
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    return issue.input === undefined
      ? 'is required'
      : `must be ${article(issue.expected)}, got ${kindOf(issue.input)}`;
  }
  if (issue.code === 'invalid_union') return 'must be text or an object';
  return issue.message;
}

const article = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return article(typeof value);
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => {
    if (typeof key === 'number') return `${out}[${key}]`;
    return out ? `${out}.${String(key)}` : String(key);
  }, '');
}

/** Validates an untrusted spec. Every problem is reported at once, each naming its field. */
export function parseProductSpec(input: unknown, subject = 'product spec'): ProductSpec {
  const result = productSpecSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw new ValidationError(subject, toFieldIssues(result.error.issues));
  return result.data;
}
