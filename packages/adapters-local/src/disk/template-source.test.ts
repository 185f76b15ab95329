import { chmod, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { templateSourceContract } from '@mvp-pipeline/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diskFiles } from '../testing/disk-files.js';
import { createLocalTemplateSource } from './template-source.js';

const MANIFEST = {
  name: 'mini',
  description: 'A tiny site',
  outputDir: 'dist',
  commands: { build: ['node', 'build.mjs'] },
};

/** A small synthetic template with the things that must not be copied. */
async function writeTemplate(root: string, name = 'mini'): Promise<string> {
  const dir = path.join(root, name);
  const files: Record<string, string> = {
    'mvp.template.json': JSON.stringify(MANIFEST),
    'build.mjs':
      "import fs from 'node:fs'; fs.mkdirSync('dist', { recursive: true }); fs.writeFileSync('dist/index.html', '<h1>hi</h1>');\n",
    'src/content.json': '{"title":"Hi"}',
    '.gitignore': 'dist/\nnode_modules/\n',
    '.git/HEAD': 'ref: refs/heads/main\n',
    'node_modules/dep/index.js': 'x',
    'dist/index.html': 'stale build output',
    'scripts/run.sh': '#!/bin/sh\necho hi\n',
  };
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), content);
  }
  await chmod(path.join(dir, 'scripts/run.sh'), 0o755);
  await symlink('src/content.json', path.join(dir, 'content-link.json'));
  return dir;
}

templateSourceContract({ describe, it, expect, beforeEach, afterEach }, 'local folder', async () => {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'mvp-templates-'));
  await writeTemplate(path.join(tmp, 'templates'));
  return {
    source: createLocalTemplateSource({ root: path.join(tmp, 'templates') }),
    files: diskFiles(path.join(tmp, 'ws')),
    template: 'mini',
    dispose: () => rm(tmp, { recursive: true, force: true }),
  };
});

describe('local template source', () => {
  let tmp: string;
  let templates: string;
  const files = () => diskFiles(path.join(tmp, 'ws'));
  beforeEach(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mvp-templates-'));
    templates = path.join(tmp, 'templates');
    await writeTemplate(templates);
  });
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('copies every file but .git, node_modules and the build output, keeping modes and links', async () => {
    const source = createLocalTemplateSource({ root: templates });
    const workspace = await files().newWorkspace();
    const { manifest, ref } = await source.fetchTemplate({ template: 'mini', workspace });
    expect(manifest).toEqual(MANIFEST);
    expect(ref).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(await files().list(workspace)).toEqual([
      '.gitignore',
      'build.mjs',
      'content-link.json',
      'mvp.template.json',
      'scripts/run.sh',
      'src/content.json',
    ]);
    expect((await stat(path.join(workspace.dir, 'scripts/run.sh'))).mode & 0o111).not.toBe(0);
    expect(await files().read(workspace, 'content-link.json')).toBe('{"title":"Hi"}');
  });

  it('gives a ref that follows the content', async () => {
    const source = createLocalTemplateSource({ root: templates });
    const fetch = async () =>
      (await source.fetchTemplate({ template: 'mini', workspace: await files().newWorkspace() })).ref;
    const first = await fetch();
    expect(await fetch()).toBe(first);
    await writeFile(path.join(templates, 'mini', 'node_modules', 'dep', 'index.js'), 'ignored change');
    expect(await fetch()).toBe(first);
    await writeFile(path.join(templates, 'mini', 'src', 'content.json'), '{"title":"Changed"}');
    expect(await fetch()).not.toBe(first);
  });

  it('rejects template names that are paths', async () => {
    const source = createLocalTemplateSource({ root: templates });
    const workspace = await files().newWorkspace();
    for (const template of ['../templates/mini', 'mini/../mini', '/etc', '..', '.', 'a\0b', '', 'mini/src']) {
      await expect(source.fetchTemplate({ template, workspace })).rejects.toMatchObject({
        code: 'VALIDATION',
      });
    }
    expect(await files().list(workspace)).toEqual([]);
  });

  it('answers NOT_FOUND for a missing template or a folder without a manifest', async () => {
    const source = createLocalTemplateSource({ root: templates });
    await mkdir(path.join(templates, 'empty'));
    const workspace = await files().newWorkspace();
    await expect(source.fetchTemplate({ template: 'nope', workspace })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(source.fetchTemplate({ template: 'empty', workspace })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    const missingRoot = createLocalTemplateSource({ root: path.join(tmp, 'missing') });
    await expect(missingRoot.fetchTemplate({ template: 'mini', workspace })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('rejects a bad manifest with the field named, and a symlink out of the template', async () => {
    const source = createLocalTemplateSource({ root: templates });
    const bad = path.join(templates, 'bad');
    await mkdir(bad);
    await writeFile(
      path.join(bad, 'mvp.template.json'),
      JSON.stringify({ name: 'bad', outputDir: '../out', commands: {} }),
    );
    const error = await source
      .fetchTemplate({ template: 'bad', workspace: await files().newWorkspace() })
      .then(
        () => undefined,
        (e: unknown) => e as Error & { code: string },
      );
    expect(error).toMatchObject({ code: 'VALIDATION' });
    expect(error?.message).toMatch(/outputDir/);
    await writeFile(path.join(bad, 'mvp.template.json'), '{not json');
    await expect(
      source.fetchTemplate({ template: 'bad', workspace: await files().newWorkspace() }),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
    });

    await symlink('/etc/passwd', path.join(templates, 'mini', 'passwd'));
    const leaky = await source
      .fetchTemplate({ template: 'mini', workspace: await files().newWorkspace() })
      .then(
        () => undefined,
        (e: unknown) => e as Error & { code: string },
      );
    expect(leaky).toMatchObject({ code: 'VALIDATION' });
    expect(leaky?.message).toMatch(/passwd.*symlink/);
  });

  it('reads the manifest of a workspace, and NOT_FOUND without one', async () => {
    const source = createLocalTemplateSource({ root: templates });
    const workspace = await files().newWorkspace();
    await expect(source.readManifest({ workspace })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await files().write(workspace, 'mvp.template.json', JSON.stringify(MANIFEST));
    expect((await source.readManifest({ workspace })).manifest).toEqual(MANIFEST);
  });

  it('copies the folders a manifest includes from another template, and NOT_FOUND for a missing one', async () => {
    const app = path.join(templates, 'app');
    await mkdir(app, { recursive: true });
    const manifest = { ...MANIFEST, name: 'app', include: [{ template: 'mini', from: 'src', to: 'shared' }] };
    await writeFile(path.join(app, 'mvp.template.json'), JSON.stringify(manifest));
    await writeFile(path.join(app, 'page.mjs'), 'export {};\n');
    const source = createLocalTemplateSource({ root: templates });
    const workspace = await files().newWorkspace();
    const first = await source.fetchTemplate({ template: 'app', workspace });
    expect(await files().read(workspace, 'shared/content.json')).toBe('{"title":"Hi"}');
    expect(await files().read(workspace, 'page.mjs')).toBe('export {};\n');
    // The included files are part of the ref: changing them changes it.
    await writeFile(path.join(templates, 'mini', 'src', 'content.json'), '{"title":"Changed"}');
    const second = await source.fetchTemplate({ template: 'app', workspace: await files().newWorkspace() });
    expect(second.ref).not.toBe(first.ref);
    await writeFile(
      path.join(app, 'mvp.template.json'),
      JSON.stringify({ ...manifest, include: [{ template: 'mini', from: 'nope', to: 'shared' }] }),
    );
    await expect(
      source.fetchTemplate({ template: 'app', workspace: await files().newWorkspace() }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});
