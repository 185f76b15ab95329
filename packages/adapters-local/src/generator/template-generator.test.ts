import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseProductSpec } from '@mvp-pipeline/core';
import { codeGeneratorContract, recordingReporter, sampleSpec } from '@mvp-pipeline/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diskFiles } from '../testing/disk-files.js';
import { landingWorkspace } from '../testing/landing-workspace.js';
import { createTemplateCodeGenerator } from './template-generator.js';

codeGeneratorContract({ describe, it, expect, beforeEach, afterEach }, 'template generator', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'mvp-tgen-'));
  return {
    generator: createTemplateCodeGenerator(),
    files: diskFiles(root),
    prepare: () => landingWorkspace(root),
    dispose: () => rm(root, { recursive: true, force: true }),
  };
});

describe('template generator', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'mvp-tgen-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const generate = async (spec = sampleSpec(), repair?: { round: number; buildOutput: string }) => {
    const { workspace, manifest } = await landingWorkspace(root);
    const report = recordingReporter();
    const result = await createTemplateCodeGenerator().generate({
      jobId: workspace.jobId,
      spec,
      workspace,
      manifest,
      report,
      ...(repair ? { repair } : {}),
    });
    const read = (file: string) => readFile(path.join(workspace.dir, file), 'utf8');
    return { result, read, workspace, manifest, report };
  };

  it('writes the content file and both spec documents, and says so in one line', async () => {
    const { result, read } = await generate();
    expect(result.generator).toBe('template');
    expect(result.filesChanged).toEqual(['src/site.json', 'MVP_SPECS.md', 'DEVELOPMENT_INSTRUCTIONS.md']);
    expect(result.summary).toBe('Build EventHub from its spec on the landing template (2 key features)');
    const content = JSON.parse(await read('src/site.json'));
    expect(content.product).toEqual({
      name: 'EventHub',
      tagline: 'Run your meetup without the spreadsheet',
      description: 'Publish an event page, collect RSVPs, check attendees in.',
    });
    expect(content.specifications.keyFeatures).toEqual(['Event page with RSVP', 'Waitlist when full']);
    expect(await read('MVP_SPECS.md')).toContain('## Key features');
    expect(await read('DEVELOPMENT_INSTRUCTIONS.md')).toContain('`node build.mjs`');
  });

  it('keeps the founder’s email, name and the record ids out of the repository', async () => {
    const { read } = await generate();
    for (const file of ['src/site.json', 'MVP_SPECS.md', 'DEVELOPMENT_INSTRUCTIONS.md']) {
      const text = await read(file);
      expect(text).not.toContain('founder@example.com');
      expect(text).not.toContain('Ada Okafor');
      expect(text).not.toMatch(/user_1|product_1/);
    }
  });

  it('is deterministic: a repair round rewrites the same files and changes nothing', async () => {
    const { workspace, manifest } = await generate();
    const generator = createTemplateCodeGenerator();
    const report = recordingReporter();
    const again = await generator.generate({
      jobId: workspace.jobId,
      spec: sampleSpec(),
      workspace,
      manifest,
      report,
      repair: { round: 1, buildOutput: 'build: cannot read src/site.json' },
    });
    expect(again.filesChanged).toEqual([]);
    expect(again.summary).toContain('repair round 1');
    expect(report.lines.join('\n')).toContain('Repair round 1');
  });

  it('restores a content file that was broken, on a repair round', async () => {
    const { workspace, manifest, read } = await generate();
    const good = await read('src/site.json');
    await writeFile(path.join(workspace.dir, 'src/site.json'), '{ broken');
    const result = await createTemplateCodeGenerator().generate({
      jobId: workspace.jobId,
      spec: sampleSpec(),
      workspace,
      manifest,
      report: recordingReporter(),
      repair: { round: 1, buildOutput: 'Unexpected token' },
    });
    expect(result.filesChanged).toEqual(['src/site.json']);
    expect(await read('src/site.json')).toBe(good);
  });

  it('copes with unicode, very long text and empty lists', async () => {
    const spec = parseProductSpec({
      user: { id: 'u1', email: 'x@example.com', branding: { colors: [], fonts: [] } },
      product: {
        id: 'p1',
        name: 'Café 東京 — مكتبة 🚀 with a name that goes on and on and on for quite a while longer',
        description: 'ж'.repeat(20_000),
      },
      specifications: { keyFeatures: [], designPreferences: {}, customizations: {} },
    });
    const { result, read } = await generate(spec);
    expect(result.summary).not.toMatch(/\n/);
    expect(result.summary).toContain('Café 東京');
    expect(result.summary).toContain('(0 key features)');
    expect(JSON.parse(await read('src/site.json')).product.description).toHaveLength(20_000);
  });

  it('writes through no symlink that leads out of the workspace', async () => {
    const { workspace, manifest } = await landingWorkspace(root);
    const outside = path.join(root, 'outside');
    await mkdir(outside);
    await rm(path.join(workspace.dir, 'src'), { recursive: true });
    await symlink(outside, path.join(workspace.dir, 'src'));
    const run = createTemplateCodeGenerator().generate({
      jobId: workspace.jobId,
      spec: sampleSpec(),
      workspace,
      manifest,
      report: recordingReporter(),
    });
    await expect(run).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(readFile(path.join(outside, 'site.json'), 'utf8')).rejects.toThrow();
  });

  it('replaces a symlinked file instead of writing through it', async () => {
    const { workspace, manifest } = await landingWorkspace(root);
    const victim = path.join(workspace.dir, 'victim.txt');
    await writeFile(victim, 'keep me');
    await symlink(victim, path.join(workspace.dir, 'MVP_SPECS.md'));
    await createTemplateCodeGenerator().generate({
      jobId: workspace.jobId,
      spec: sampleSpec(),
      workspace,
      manifest,
      report: recordingReporter(),
    });
    expect(await readFile(victim, 'utf8')).toBe('keep me');
    expect(await readFile(path.join(workspace.dir, 'MVP_SPECS.md'), 'utf8')).toContain('# EventHub');
  });

  it('refuses a template that declares no sourceDir', async () => {
    const { workspace, manifest } = await landingWorkspace(root);
    const { sourceDir: _, ...bare } = manifest;
    const run = createTemplateCodeGenerator().generate({
      jobId: workspace.jobId,
      spec: sampleSpec(),
      workspace,
      manifest: bare,
      report: recordingReporter(),
    });
    await expect(run).rejects.toMatchObject({
      code: 'PERMANENT',
      message: expect.stringMatching(/sourceDir/),
    });
  });
});
