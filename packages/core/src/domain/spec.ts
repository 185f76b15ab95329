import { z } from 'zod';
import { type FieldIssue, ValidationError } from '../errors.js';

// Control characters other than tab, newline and carriage return have no place in a spec:
// C0, DEL and C1 (U+009B is a terminal's CSI, as ESC [ is).
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
// A single-line field (a name, a tagline, a feature) is normalised, not rejected: line breaks
// and tabs (a name pasted with its newline, a feature wrapped over lines) become one space, and
// bidirectional-text controls (embeddings, overrides, isolates, marks), which reorder what a
// terminal or a page shows and are invisible in the text itself, are removed. The founder's
// words read the same; nothing in them can start a new line or reverse one. The controls with
// no use in text at all (ESC, BEL, the C1 range) are rejected above, with the field named.
const LINE_BREAKS = /[\t\n\r\u2028\u2029]+/g;
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const text = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !CONTROL.test(s), 'must not contain control characters');
const line = (max: number) =>
  text(max).transform((s) => s.replace(BIDI_CONTROLS, '').replace(LINE_BREAKS, ' '));
const name = (max: number) =>
  line(max)
    .transform((s) => s.trim())
    .refine((s) => s.length > 0, 'must not be empty');
export const idSchema = z
  .string()
  .trim()
  .min(1, { error: 'must not be empty', abort: true })
  .max(128, 'must be at most 128 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:@-]*$/, 'must be letters, digits, and _ . : @ - only');
const FREE_FORM_MAX = 20_000;
/**
 * How deeply a free-form section may nest (objects and arrays). JSON.parse reads any depth, but
 * JSON.stringify, structuredClone and every recursive walk (redaction, rendering) overflow the
 * stack a few thousand levels down: a deeper section is rejected before any of them sees it.
 */
export const MAX_SPEC_DEPTH = 32;

/** How deeply `value` nests, counted without recursion; stops counting past `limit`. */
export function nestingDepth(value: unknown, limit = MAX_SPEC_DEPTH): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    const here = depth + 1;
    if (here > deepest) deepest = here;
    if (deepest > limit) return deepest;
    for (const child of Object.values(item)) stack.push([child, here]);
  }
  return deepest;
}

// Free-form sections reach the generator's prompt whole: bound them like the text fields, and
// check the depth first (measuring the size serialises the value).
const boundedObject = (maxChars: number) =>
  z.record(z.string(), z.unknown()).superRefine((value, context) => {
    if (nestingDepth(value) > MAX_SPEC_DEPTH) {
      context.addIssue({ code: 'custom', message: `must be nested at most ${MAX_SPEC_DEPTH} levels deep` });
    } else if (JSON.stringify(value).length > maxChars) {
      context.addIssue({ code: 'custom', message: `must be at most ${maxChars} characters as JSON` });
    }
  });
const freeForm = boundedObject(FREE_FORM_MAX);
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
const appModelInput = boundedObject(APP_MODEL_MAX);

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
    tagline: line(300).optional(),
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

/**
 * Zod's issues as field-named messages a person can act on. Given the `input` that was parsed,
 * a message says what it got even where the schema coerced it first (`limit=abc`: must be a
 * number, got "abc").
 */
export function toFieldIssues(issues: readonly z.core.$ZodIssue[], input?: unknown): FieldIssue[] {
  return issues.map((issue) => ({
    path: formatPath(issue.path),
    message: issueMessage(issue, input === undefined ? issue.input : valueAt(input, issue.path)),
  }));
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function issueMessage(issue: z.core.$ZodIssue, given: unknown): string {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined && given === undefined) return 'is required';
    return `must be ${article(issue.expected)}, got ${describeValue(given ?? issue.input, issue.input)}`;
  }
  if (issue.code === 'invalid_union') {
    // A branch of the right type that failed on its own terms says more than "text or an object".
    const fitting = issue.errors.find(
      (branch) => branch.length > 0 && branch.every((i) => i.code !== 'invalid_type'),
    );
    return fitting?.[0]?.message ?? 'must be text or an object';
  }
  return issue.message;
}

const article = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);
/**
 * What a value was, for a message: its kind, or the text itself (quoted, shortened, escaped)
 * when the schema coerced text it could not use (`limit=abc`).
 */
function describeValue(value: unknown, parsed: unknown): string {
  if (typeof value !== 'string' || typeof parsed === 'string') return kindOf(value);
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return JSON.stringify(shown).replace(
    /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

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
  if (!result.success) throw new ValidationError(subject, toFieldIssues(result.error.issues, input));
  return result.data;
}
