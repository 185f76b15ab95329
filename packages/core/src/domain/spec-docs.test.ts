import { describe, expect, it } from 'vitest';
import { sampleSpec } from '../testing/fixtures.js';
import type { ProductSpec } from './spec.js';
import { parseProductSpec } from './spec.js';
import { renderDevelopmentInstructions, renderSpecMarkdown } from './spec-docs.js';
import type { TemplateManifest } from './template.js';

const manifest: TemplateManifest = {
  name: 'landing',
  description: 'A static landing page built with Node alone.',
  outputDir: 'dist',
  commands: { build: ['node', 'build.mjs'], test: ['node', 'test.mjs'] },
  notes: 'TEMPLATE_NOTES.md',
  sourceDir: 'src',
};

const minimal: ProductSpec = parseProductSpec({
  user: { id: 'u1', email: 'solo@example.com' },
  product: { id: 'p1', name: 'Solo' },
});

const full: ProductSpec = parseProductSpec({
  user: {
    id: 'user_12345',
    email: 'ada@example.com',
    name: 'Ada Okafor',
    companyName: 'EventHub Labs',
    industry: 'Events',
    branding: { colors: ['#4F46E5'], fonts: ['Inter'] },
  },
  product: {
    id: 'product_67890',
    name: 'EventHub',
    tagline: 'Run your meetup without the spreadsheet',
    description: 'Publish an event page.\n\nCheck attendees in.',
  },
  specifications: {
    targetAudience: 'Meetup organisers',
    keyFeatures: ['Event page with RSVP', 'Waitlist when full'],
    technicalRequirements: { framework: 'static', limits: { events: 1, pages: [1, 2] } },
    designPreferences: { style: 'clean', darkMode: true },
    customizations: {},
    mvpSpecs: 'Keep it to one event per page.',
  },
});

describe('renderSpecMarkdown', () => {
  it('renders every section the spec has data for', () => {
    const md = renderSpecMarkdown(full);
    expect(md).toMatch(/^# EventHub — MVP specification\n/);
    expect(md).toContain('> Run your meetup without the spreadsheet');
    expect(md).toContain('## Description\n\nPublish an event page.\n\nCheck attendees in.');
    expect(md).toContain('## Audience\n\nMeetup organisers');
    expect(md).toContain('- Company: EventHub Labs');
    expect(md).toContain('## Key features\n\n1. Event page with RSVP\n2. Waitlist when full');
    expect(md).toContain('- Brand colours: `#4F46E5`');
    expect(md).toContain('- darkMode: true');
    expect(md).toContain('- framework: static\n- limits:\n  - events: 1\n  - pages: 1, 2');
    expect(md).toContain('## MVP scope\n\nKeep it to one event per page.');
  });

  it('leaves out sections without data, and the founder’s email', () => {
    const md = renderSpecMarkdown(minimal);
    expect(md).toBe('# Solo — MVP specification\n');
    expect(renderSpecMarkdown(full)).not.toMatch(/Customizations|ada@example\.com|user_12345/);
  });

  it('keeps spec text from opening HTML tags and headings from breaking lines', () => {
    const hostile = parseProductSpec({
      user: { id: 'u1', email: 'x@example.com' },
      product: {
        id: 'p1',
        name: 'Evil <script>alert(1)</script>',
        tagline: '"><img src=x onerror=alert(1)>',
      },
      specifications: {
        keyFeatures: ['line one\n# not a heading'],
        customizations: { '<b>': '$(rm -rf /)' },
      },
    });
    const md = renderSpecMarkdown(hostile);
    expect(md).not.toMatch(/<[a-z]/i);
    expect(md).toContain('Evil &lt;script>alert(1)&lt;/script>');
    expect(md).toContain('1. line one # not a heading');
    expect(md).toContain('- &lt;b>: $(rm -rf /)');
  });

  it('is deterministic and copes with unicode and very long text', () => {
    const spec = parseProductSpec({
      user: { id: 'u1', email: 'x@example.com' },
      product: { id: 'p1', name: 'Café 東京 🚀', description: 'ж'.repeat(20_000) },
    });
    const md = renderSpecMarkdown(spec);
    expect(md).toContain('# Café 東京 🚀');
    expect(md.length).toBeGreaterThan(20_000);
    expect(renderSpecMarkdown(spec)).toBe(md);
  });
});

describe('renderDevelopmentInstructions', () => {
  it('says what to build, where, the commands and what done means', () => {
    const md = renderDevelopmentInstructions(full, manifest);
    expect(md).toMatch(/^# Development instructions: EventHub\n/);
    expect(md).toContain('`landing` template');
    expect(md).toContain('  1. Event page with RSVP\n  2. Waitlist when full');
    expect(md).toContain('Read `TEMPLATE_NOTES.md` first');
    expect(md).toContain('`src/`');
    expect(md).toContain('- build: `node build.mjs`\n- test: `node test.mjs`');
    expect(md).toContain('- `node build.mjs` (build) exits 0.\n- `node test.mjs` (test) exits 0.');
    expect(md).toContain('`dist/index.html` exists and names EventHub');
    expect(md).toContain('Each of the 2 key features above has its own section.');
    expect(md).toContain('- A dark theme.');
  });

  it('works for a minimal spec and a minimal manifest', () => {
    const md = renderDevelopmentInstructions(minimal, {
      name: 'bare',
      outputDir: 'out',
      commands: { build: ['npm', 'run', 'build --prod'] },
    });
    expect(md).toContain("- build: `npm run 'build --prod'`");
    expect(md).toContain('`out/index.html` exists and names Solo.');
    expect(md).not.toMatch(/key features|TEMPLATE_NOTES/);
  });

  it('matches the sample spec used by the contract suites', () => {
    expect(renderDevelopmentInstructions(sampleSpec(), manifest)).toContain('Waitlist when full');
  });
});
