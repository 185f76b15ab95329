import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PipelineError, ValidationError } from '../errors.js';
import { shortHash, slugify } from './naming.js';
import { parseProductSpec } from './spec.js';

const example = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../../examples/${name}`, import.meta.url), 'utf8'));

function issuesOf(input: unknown): string[] {
  try {
    parseProductSpec(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    expect(PipelineError.isInstance(error)).toBe(true);
    return (error as ValidationError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected a validation error');
}

describe('product spec validation', () => {
  it.each(['eventhub.json', 'greenleaf.json', 'minimal.json'])('accepts the example %s', (name) => {
    const spec = parseProductSpec(example(name));
    expect(spec.product.name.length).toBeGreaterThan(0);
  });

  it('reports every problem at once, each naming its field', () => {
    const problems = issuesOf({
      user: { id: '', email: 'not-an-email', branding: { colors: ['red'] } },
      product: { name: 42 },
      specifications: { keyFeatures: ['ok', 7] },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'user.id: must not be empty',
        'user.email: must be an email address',
        'user.branding.colors[0]: must be a hex colour like #4F46E5',
        'product.id: is required',
        'product.name: must be a string, got a number',
        'specifications.keyFeatures[1]: must be a string, got a number',
      ]),
    );
  });

  it('names a missing section', () => {
    expect(issuesOf({ user: { id: 'u', email: 'a@b.co' } })).toEqual(['product: is required']);
    expect(issuesOf(null)).toEqual([': must be an object, got null']);
  });

  it('rejects control characters and oversized text', () => {
    expect(
      issuesOf({ user: { id: 'u', email: 'a@b.co' }, product: { id: 'p', name: 'Bad\u0007Name' } }),
    ).toEqual(['product.name: must not contain control characters']);
    const huge = 'x'.repeat(20_001);
    expect(
      issuesOf({ user: { id: 'u', email: 'a@b.co' }, product: { id: 'p', name: 'N', description: huge } })[0],
    ).toMatch(/product.description: must be at most 20000 characters/);
  });

  it('keeps markup and shell syntax as plain text (escaping is the renderer’s job)', () => {
    const spec = parseProductSpec({
      user: { id: 'u', email: 'a@b.co' },
      product: { id: 'p', name: '<script>alert(1)</script> $(rm -rf /)' },
    });
    expect(spec.product.name).toBe('<script>alert(1)</script> $(rm -rf /)');
  });

  it('rejects ids that are not plain identifiers', () => {
    expect(
      issuesOf({ user: { id: '../etc', email: 'a@b.co' }, product: { id: "p' OR 1=1", name: 'N' } }),
    ).toHaveLength(2);
  });
});

describe('slugify', () => {
  it.each([
    ['EventHub', 'eventhub'],
    ['GreenLeaf Plant Care', 'greenleaf-plant-care'],
    ['Café Übermensch!', 'cafe-ubermensch'],
    ['  --Hello__World--  ', 'hello-world'],
    ['<script>alert(1)</script>', 'script-alert-1-script'],
  ])('%s → %s', (name, slug) => {
    expect(slugify(name)).toBe(slug);
  });

  it('never returns an empty or unstable slug', () => {
    expect(slugify('日本のアプリ')).toBe(`app-${shortHash('日本のアプリ')}`);
    expect(slugify('!!!')).toMatch(/^app-[0-9a-f]{8}$/);
    expect(slugify('x'.repeat(100))).toHaveLength(40);
    expect(slugify('a-'.repeat(30), 10)).not.toMatch(/-$/);
  });
});

describe('free-form sections', () => {
  it('are bounded like the text fields', () => {
    const huge = { notes: 'x'.repeat(20_001) };
    const problems = issuesOf({
      user: { id: 'u', email: 'a@b.co' },
      product: { id: 'p', name: 'N' },
      specifications: { customizations: huge, mvpSpecs: huge },
    });
    expect(problems).toEqual([
      'specifications.customizations: must be at most 20000 characters as JSON',
      expect.stringMatching(/^specifications.mvpSpecs: /),
    ]);
  });
});
