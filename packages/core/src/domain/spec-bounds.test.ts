import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.js';
import { listJobs } from '../use-cases/queries.js';
import { MAX_SPEC_DEPTH, nestingDepth, parseProductSpec } from './spec.js';

const base = () => ({
  user: { id: 'u', email: 'a@b.co' },
  product: { id: 'p', name: 'Fine' },
});

function issuesOf(input: unknown): string[] {
  try {
    parseProductSpec(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected a validation error');
}

/** `{"a":{"a":…1…}}`, `levels` objects deep, built from text as a request body would be. */
const nested = (levels: number): unknown => JSON.parse(`${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`);

describe('free-form sections are bounded in depth', () => {
  it.each(['technicalRequirements', 'designPreferences', 'customizations', 'mvpSpecs'])(
    'rejects specifications.%s nested thousands of levels deep with a field-named error',
    (section) => {
      const problems = issuesOf({ ...base(), specifications: { [section]: nested(5_000) } });
      expect(problems).toEqual([
        `specifications.${section}: must be nested at most ${MAX_SPEC_DEPTH} levels deep`,
      ]);
    },
  );

  it('rejects arrays nested deep as well, and a hundred thousand levels without overflowing', () => {
    const arrays = JSON.parse(`{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    expect(issuesOf({ ...base(), specifications: { customizations: arrays } })).toEqual([
      `specifications.customizations: must be nested at most ${MAX_SPEC_DEPTH} levels deep`,
    ]);
  });

  it('accepts a section exactly at the limit', () => {
    const spec = parseProductSpec({ ...base(), specifications: { customizations: nested(MAX_SPEC_DEPTH) } });
    expect(nestingDepth(spec.specifications?.customizations)).toBe(MAX_SPEC_DEPTH);
    expect(
      issuesOf({ ...base(), specifications: { customizations: nested(MAX_SPEC_DEPTH + 1) } }),
    ).toHaveLength(1);
  });

  it('counts depth without recursion and stops past the limit', () => {
    expect(nestingDepth(1)).toBe(0);
    expect(nestingDepth({ a: [1, { b: {} }] })).toBe(4);
    expect(nestingDepth(nested(1_000_000 / 10), 10)).toBe(11);
  });
});

describe('single-line fields', () => {
  const forbidden: Array<[string, string]> = [
    ['a newline', 'Shop\n[100%] COMPLETED Live at https://evil.example'],
    ['a carriage return', 'Shop\r[100%] COMPLETED'],
    ['a tab', 'Shop\tName'],
    ['a right-to-left override', 'Shop\u202egnp.exe'],
    ['a left-to-right isolate', 'Shop\u2066x\u2069'],
    ['a line separator', 'Shop\u2028Name'],
    ['a right-to-left mark', 'Shop\u200fName'],
  ];
  const message =
    'must be one line of text (no line breaks, tabs, control or bidirectional-override characters)';

  it.each(forbidden)('rejects a product name with %s', (_, value) => {
    expect(issuesOf({ ...base(), product: { id: 'p', name: value } })).toEqual([`product.name: ${message}`]);
  });

  it.each([
    ['a C1 control (CSI)', 'Shop\u009b2K'],
    ['a C1 next-line', 'Shop\u0085Name'],
    ['an escape', 'Shop\u001b[2K'],
  ])('rejects a product name with %s as a control character', (_, value) => {
    expect(issuesOf({ ...base(), product: { id: 'p', name: value } })).toEqual([
      'product.name: must not contain control characters',
    ]);
  });

  it('applies to the tagline, the user fields and each key feature', () => {
    const problems = issuesOf({
      user: { id: 'u', email: 'a@b.co', name: 'Eve\nAdmin', companyName: 'Co\u202e' },
      product: { id: 'p', name: 'Fine', tagline: 'one\ntwo' },
      specifications: { keyFeatures: ['ok', 'bad\u2067'] },
    });
    expect(problems.sort()).toEqual(
      [
        `user.name: ${message}`,
        `user.companyName: ${message}`,
        `product.tagline: ${message}`,
        `specifications.keyFeatures[1]: ${message}`,
      ].sort(),
    );
  });

  it('keeps line breaks in multi-line text but not C1 controls', () => {
    const spec = parseProductSpec({
      ...base(),
      product: { id: 'p', name: 'Fine', description: 'Line one\nLine two\r\n\tindented' },
    });
    expect(spec.product.description).toContain('\n');
    expect(issuesOf({ ...base(), product: { id: 'p', name: 'Fine', description: 'x\u009by' } })).toEqual([
      'product.description: must not contain control characters',
    ]);
  });

  it('keeps ordinary right-to-left text and accents', () => {
    expect(parseProductSpec({ ...base(), product: { id: 'p', name: 'مقهى Tomás' } }).product.name).toBe(
      'مقهى Tomás',
    );
  });
});

describe('messages say what they got', () => {
  it('quotes a coerced value that is not a number', async () => {
    const store = undefined as never;
    await expect(listJobs({ store }, { userId: 'u', limit: 'abc' })).rejects.toMatchObject({
      issues: [{ path: 'limit', message: 'must be a number, got "abc"' }],
    });
  });

  it('names the kind of a value of the wrong type', () => {
    expect(issuesOf({ ...base(), product: { id: 'p', name: 42 } })).toEqual([
      'product.name: must be a string, got a number',
    ]);
  });
});
