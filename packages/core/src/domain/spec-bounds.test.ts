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
  it.each(['technicalRequirements', 'designPreferences', 'customizations', 'mvpSpecs', 'app'])(
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
  const nameOf = (name: string) => parseProductSpec({ ...base(), product: { id: 'p', name } }).product.name;

  it.each([
    [
      'a newline',
      'Shop\n[100%] COMPLETED Live at https://evil.example',
      'Shop [100%] COMPLETED Live at https://evil.example',
    ],
    ['a carriage return', 'Shop\r[100%] COMPLETED', 'Shop [100%] COMPLETED'],
    ['CR LF and tabs', 'Shop\r\n\t\tName\n', 'Shop Name'],
    ['a line separator', 'Shop\u2028Name', 'Shop Name'],
  ])('turn %s into one space', (_, value, expected) => {
    expect(nameOf(value)).toBe(expected);
  });

  it.each([
    ['a right-to-left override', 'Shop\u202egnp.exe', 'Shopgnp.exe'],
    ['left-to-right isolates', 'Shop\u2066x\u2069', 'Shopx'],
    ['a right-to-left mark', 'Shop\u200fName', 'ShopName'],
    ['an Arabic letter mark', 'Shop\u061cName', 'ShopName'],
  ])('drop %s', (_, value, expected) => {
    expect(nameOf(value)).toBe(expected);
  });

  it.each([
    ['a C1 control (CSI)', 'Shop\u009b2K'],
    ['a C1 next-line', 'Shop\u0085Name'],
    ['an escape', 'Shop\u001b[2K'],
    ['a bell', 'Shop\u0007'],
  ])('reject %s, naming the field', (_, value) => {
    expect(issuesOf({ ...base(), product: { id: 'p', name: value } })).toEqual([
      'product.name: must not contain control characters',
    ]);
  });

  it('apply to the tagline, the user fields and each key feature', () => {
    const spec = parseProductSpec({
      user: { id: 'u', email: 'a@b.co', name: 'Eve\nAdmin', companyName: 'Co\u202eoC' },
      product: { id: 'p', name: 'Fine', tagline: 'one\ntwo' },
      specifications: { keyFeatures: ['ok', 'bad\u2067 one\nline'] },
    });
    expect(spec.user.name).toBe('Eve Admin');
    expect(spec.user.companyName).toBe('CooC');
    expect(spec.product.tagline).toBe('one two');
    expect(spec.specifications?.keyFeatures).toEqual(['ok', 'bad one line']);
  });

  it('leave nothing that breaks or reorders a line in any single-line field', () => {
    const hostile =
      'a\n\r\t\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061cz';
    const spec = parseProductSpec({
      user: {
        id: 'u',
        email: 'a@b.co',
        name: hostile,
        companyName: hostile,
        businessType: hostile,
        industry: hostile,
      },
      product: { id: 'p', name: hostile, tagline: hostile },
      specifications: { keyFeatures: [hostile] },
    });
    const fields = [
      spec.user.name,
      spec.user.companyName,
      spec.user.businessType,
      spec.user.industry,
      spec.product.name,
      spec.product.tagline,
      ...(spec.specifications?.keyFeatures ?? []),
    ];
    for (const field of fields) expect(field).toBe('a z');
  });

  it('a blank name is still empty once its tabs and newlines are spaces', () => {
    expect(issuesOf({ ...base(), product: { id: 'p', name: ' \t\n ' } })).toEqual([
      'product.name: must not be empty',
    ]);
  });

  it('multi-line text keeps its line breaks, but not C1 controls', () => {
    const spec = parseProductSpec({
      ...base(),
      product: { id: 'p', name: 'Fine', description: 'Line one\nLine two\r\n\tindented' },
    });
    expect(spec.product.description).toBe('Line one\nLine two\r\n\tindented');
    expect(issuesOf({ ...base(), product: { id: 'p', name: 'Fine', description: 'x\u009by' } })).toEqual([
      'product.description: must not contain control characters',
    ]);
  });

  it('ordinary right-to-left text and accents are kept', () => {
    expect(nameOf('مقهى Tomás')).toBe('مقهى Tomás');
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
    expect(issuesOf({ ...base(), specifications: 'text' })).toEqual([
      'specifications: must be an object, got a string',
    ]);
  });
});
