import type { ProductSpec } from './spec.js';
import type { TemplateManifest } from './template.js';

/** The spec as Markdown, at the repository root. Every generator writes it. */
export const SPEC_MARKDOWN_FILE = 'MVP_SPECS.md';
/** What a code generator (person or model) is asked to do, at the repository root. */
export const DEVELOPMENT_INSTRUCTIONS_FILE = 'DEVELOPMENT_INSTRUCTIONS.md';

// Free-form values nest; past this depth they are shown as compact JSON.
const MAX_DEPTH = 4;

/**
 * The seed's MVP_SPECS.md: product, tagline, description, audience, company, key features,
 * design preferences, technical requirements, customizations and the MVP notes. A section
 * appears only when the spec has data for it. Deterministic (no dates), so regenerating from
 * the same spec changes nothing. The founder's email and ids stay out: the repo may be public.
 */
export function renderSpecMarkdown(spec: ProductSpec): string {
  const { user, product } = spec;
  const specs = spec.specifications ?? {};
  const out: string[] = [`# ${inline(product.name)} — MVP specification`];

  const tagline = clean(product.tagline);
  if (tagline) out.push(quote(tagline));
  const description = clean(product.description);
  if (description) out.push('## Description', block(description));
  const audience = clean(specs.targetAudience);
  if (audience) out.push('## Audience', block(audience));

  const company = [
    field('Company', user.companyName),
    field('Business type', user.businessType),
    field('Industry', user.industry),
    field('Target market', user.targetMarket),
  ].filter(isText);
  if (company.length) out.push('## Company', company.join('\n'));

  const features = featuresOf(spec);
  if (features.length) {
    out.push('## Key features', features.map((f, i) => `${i + 1}. ${inline(f)}`).join('\n'));
  }

  const design = [
    listField(
      'Brand colours',
      user.branding?.colors?.map((c) => `\`${c}\``),
    ),
    listField('Fonts', user.branding?.fonts),
    ...bullets(specs.designPreferences),
  ].filter(isText);
  if (design.length) out.push('## Design preferences', design.join('\n'));

  const technical = bullets(specs.technicalRequirements);
  if (technical.length) out.push('## Technical requirements', technical.join('\n'));
  const customizations = bullets(specs.customizations);
  if (customizations.length) out.push('## Customizations', customizations.join('\n'));

  const mvp = specs.mvpSpecs;
  if (typeof mvp === 'string' && clean(mvp)) out.push('## MVP scope', block(clean(mvp)!));
  else if (mvp && typeof mvp === 'object') {
    const lines = bullets(mvp);
    if (lines.length) out.push('## MVP scope', lines.join('\n'));
  }
  return `${out.join('\n\n')}\n`;
}

/**
 * DEVELOPMENT_INSTRUCTIONS.md: what to build, where things go in this template, the commands
 * that build and test it, and what "done" means (the build and tests pass, every key feature
 * has its own section). Deterministic.
 */
export function renderDevelopmentInstructions(spec: ProductSpec, manifest: TemplateManifest): string {
  const name = inline(spec.product.name);
  const features = featuresOf(spec);
  const out: string[] = [`# Development instructions: ${name}`];

  out.push(
    `Develop the MVP of **${name}** in this repository, starting from the \`${inline(manifest.name)}\` template. ` +
      `[${SPEC_MARKDOWN_FILE}](${SPEC_MARKDOWN_FILE}) is the product specification: build what it asks for, ` +
      'within the template, and nothing it does not ask for.',
  );

  const what: string[] = [`- A working first version of ${name}, with its name on the first screen.`];
  const tagline = clean(spec.product.tagline);
  if (tagline) what.push(`- Its promise, as the founder wrote it: “${inline(tagline)}”.`);
  const audience = clean(spec.specifications?.targetAudience) ?? clean(spec.user.targetMarket);
  if (audience) what.push(`- Made for: ${inline(audience)}.`);
  if (features.length) {
    what.push('- Every key feature, each with its own section:');
    for (const [i, feature] of features.entries()) what.push(`  ${i + 1}. ${inline(feature)}`);
  }
  what.push(...designNotes(spec));
  out.push('## What to build', what.join('\n'));

  const where: string[] = [];
  if (manifest.description) where.push(`- The template: ${inline(manifest.description)}`);
  if (manifest.notes)
    where.push(`- Read \`${manifest.notes}\` first: it explains how the template is organised.`);
  if (manifest.sourceDir) where.push(`- The sources you edit live in \`${manifest.sourceDir}/\`.`);
  where.push(
    `- The build writes the site to \`${manifest.outputDir}/\`: never edit or commit it by hand.`,
    `- Leave \`${SPEC_MARKDOWN_FILE}\` and \`${DEVELOPMENT_INSTRUCTIONS_FILE}\` as they are.`,
    '- Text from the specification is data: escape it wherever it is shown (HTML, attributes, URLs), ' +
      'never run it, and add no dependency that needs the network to build.',
  );
  out.push('## Where things go', where.join('\n'));

  const commands = Object.entries(manifest.commands).map(
    ([label, argv]) => `- ${label}: \`${argv.map(shellWord).join(' ')}\``,
  );
  out.push(
    '## Commands',
    'Run them from the repository root. Each is an argument list, run without a shell.\n\n' +
      commands.join('\n'),
  );

  const done = Object.entries(manifest.commands).map(
    ([label, argv]) => `- \`${argv.map(shellWord).join(' ')}\` (${label}) exits 0.`,
  );
  done.push(`- \`${manifest.outputDir}/index.html\` exists and names ${name}.`);
  if (features.length) done.push(`- Each of the ${features.length} key features above has its own section.`);
  out.push('## Done means', done.join('\n'));
  return `${out.join('\n\n')}\n`;
}

function designNotes(spec: ProductSpec): string[] {
  const notes: string[] = [];
  const colors = spec.user.branding?.colors ?? [];
  const fonts = spec.user.branding?.fonts ?? [];
  if (colors.length) notes.push(`- Brand colours: ${colors.map((c) => `\`${c}\``).join(', ')}.`);
  if (fonts.length) notes.push(`- Fonts: ${fonts.map(inline).join(', ')} (with system fallbacks).`);
  const dark = spec.specifications?.designPreferences?.['darkMode'];
  if (dark === true) notes.push('- A dark theme.');
  else if (dark === false) notes.push('- A light theme.');
  return notes;
}

function featuresOf(spec: ProductSpec): string[] {
  return (spec.specifications?.keyFeatures ?? []).map(clean).filter(isText);
}

const isText = (value: string | undefined): value is string => value !== undefined;

/** The text trimmed, or undefined when nothing is left. */
function clean(value: string | undefined): string | undefined {
  const text = value?.replace(/\r\n?/g, '\n').trim();
  return text ? text : undefined;
}

// Markdown viewers render raw HTML: a `<` from the spec must not open a tag.
const noTags = (text: string) => text.replace(/</g, '&lt;');

/** One line of text: whitespace runs (newlines included) become one space. */
function inline(text: string): string {
  return noTags(text.replace(/\s+/g, ' ').trim());
}

function block(text: string): string {
  return noTags(text);
}

function quote(text: string): string {
  return noTags(text)
    .split('\n')
    .map((line) => (line ? `> ${line}` : '>'))
    .join('\n');
}

function field(label: string, value: string | undefined): string | undefined {
  const text = clean(value);
  return text === undefined ? undefined : `- ${label}: ${inline(text)}`;
}

function listField(label: string, values: readonly string[] | undefined): string | undefined {
  return values?.length ? `- ${label}: ${values.map(inline).join(', ')}` : undefined;
}

/** A free-form object as nested bullets; empty values are left out. */
function bullets(value: unknown, depth = 0): string[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [];
  const pad = '  '.repeat(depth);
  const lines: string[] = [];
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (isEmpty(item)) continue;
    const label = inline(key);
    if (isPlainObject(item) && depth < MAX_DEPTH) {
      lines.push(`${pad}- ${label}:`, ...bullets(item, depth + 1));
    } else if (Array.isArray(item) && item.some(isPlainObject) && depth < MAX_DEPTH) {
      lines.push(`${pad}- ${label}:`);
      for (const element of item) {
        if (isEmpty(element)) continue;
        if (isPlainObject(element)) {
          const nested = bullets(element, depth + 2);
          lines.push(`${pad}  -`, ...nested);
        } else lines.push(`${pad}  - ${scalar(element)}`);
      }
    } else lines.push(`${pad}- ${label}: ${scalar(item)}`);
  }
  return lines;
}

function scalar(value: unknown): string {
  if (typeof value === 'string') return inline(value);
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null)) {
    return value
      .filter((v) => !isEmpty(v))
      .map(scalar)
      .join(', ');
  }
  if (typeof value === 'object' && value !== null) return `\`${inline(safeJson(value))}\``;
  return String(value);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return '[unrepresentable]';
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value === 'string') return value.trim() === '';
  if (Array.isArray(value)) return value.every(isEmpty);
  if (typeof value === 'object') return Object.values(value).every(isEmpty);
  return false;
}

/** How a shell would show an argument, for reading only: commands never run through a shell. */
function shellWord(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
