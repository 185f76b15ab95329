// The builder's addDependency against a local npm registry (the stand-in serves fixture packages
// under one scope; pnpm is told that scope's registry): pinned exact versions, the lockfile
// updated, install scripts off, packages the registry lacks refused with the reason.
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TemplateManifest } from '@mvp-pipeline/core';
import { recordingReporter } from '@mvp-pipeline/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NpmRegistryStandIn, startNpmRegistryStandIn } from '../testing/npm-registry-stand-in.js';
import { createProcessBuilder, dependencyProblem } from './process-builder.js';

const MANIFEST: TemplateManifest = {
  name: 'deps',
  outputDir: 'dist',
  commands: { install: ['pnpm', 'install', '--frozen-lockfile', '--offline'], build: ['node', 'build.mjs'] },
};
const SLUG = (version: string) => ({
  name: '@mvp-fixture/slug',
  version,
  manifest: {
    main: 'index.js',
    scripts: {
      postinstall: 'node -e "require(`fs`).writeFileSync(`/tmp/mvp-fixture-postinstall-ran`, `1`)"',
    },
  },
  files: {
    'index.js': `module.exports = (s) => String(s).toLowerCase().replace(/[^a-z0-9]+/g, '-'); // ${version}\n`,
  },
});

let registry: NpmRegistryStandIn;
let root: string;

beforeAll(async () => {
  registry = await startNpmRegistryStandIn([SLUG('1.0.0'), SLUG('1.2.0'), SLUG('2.0.0')]);
  root = await mkdtemp(path.join(os.tmpdir(), 'mvp-add-dep-'));
  await rm('/tmp/mvp-fixture-postinstall-ran', { force: true });
});
afterAll(async () => {
  await registry.close();
  await rm(root, { recursive: true, force: true });
});

async function workspace(name: string) {
  const dir = path.join(root, name);
  await import('node:fs/promises').then((fs) => fs.mkdir(dir));
  await writeFile(
    path.join(dir, 'package.json'),
    JSON.stringify({ name, private: true, dependencies: {} }, null, 2),
  );
  await writeFile(path.join(dir, 'pnpm-lock.yaml'), "lockfileVersion: '9.0'\n\nimporters:\n\n  .: {}\n");
  return { jobId: name, dir };
}

const builder = () =>
  createProcessBuilder({
    cacheDir: path.join(root, 'cache'),
    timeoutMs: 120_000,
    registryArgs: [`--@mvp-fixture:registry=${registry.url}`],
  });

describe('addDependency', () => {
  it('pins the version a range resolves to, updates the lockfile and installs without scripts', async () => {
    const ws = await workspace('range');
    const added = await builder().addDependency!({
      workspace: ws,
      manifest: MANIFEST,
      name: '@mvp-fixture/slug',
      version: '^1.0.0',
      report: recordingReporter(),
    });
    expect(added).toMatchObject({ ok: true, version: '1.2.0' });
    const pkg = JSON.parse(await readFile(path.join(ws.dir, 'package.json'), 'utf8'));
    expect(pkg.dependencies).toEqual({ '@mvp-fixture/slug': '1.2.0' });
    expect(await readFile(path.join(ws.dir, 'pnpm-lock.yaml'), 'utf8')).toContain('@mvp-fixture/slug@1.2.0');
    const installed = await readFile(path.join(ws.dir, 'node_modules/@mvp-fixture/slug/index.js'), 'utf8');
    expect(installed).toContain('// 1.2.0');
    await expect(access('/tmp/mvp-fixture-postinstall-ran')).rejects.toThrow();
  });

  it('takes the latest when no version is given', async () => {
    const ws = await workspace('latest');
    const added = await builder().addDependency!({
      workspace: ws,
      manifest: MANIFEST,
      name: '@mvp-fixture/slug',
      report: recordingReporter(),
    });
    expect(added).toMatchObject({ ok: true, version: '2.0.0' });
  });

  it('refuses a package the registry does not have, saying so, and changes nothing', async () => {
    const ws = await workspace('missing');
    const before = await readFile(path.join(ws.dir, 'package.json'), 'utf8');
    const added = await builder().addDependency!({
      workspace: ws,
      manifest: MANIFEST,
      name: '@mvp-fixture/no-such-package',
      report: recordingReporter(),
    });
    expect(added.ok).toBe(false);
    expect(added.version).toBeUndefined();
    expect(added.output).toMatch(/could not be added: .*(404|not in the npm registry|not found)/i);
    expect(await readFile(path.join(ws.dir, 'package.json'), 'utf8')).toBe(before);
  });

  it('refuses a version the registry does not have', async () => {
    const ws = await workspace('no-version');
    const added = await builder().addDependency!({
      workspace: ws,
      manifest: MANIFEST,
      name: '@mvp-fixture/slug',
      version: '9.9.9',
      report: recordingReporter(),
    });
    expect(added.ok).toBe(false);
    expect(added.output).toMatch(/No matching version|9\.9\.9/i);
  });

  it.each([
    ['a URL', 'https://example.com/x.tgz', undefined],
    ['a git spec', 'github:someone/thing', undefined],
    ['a path', '../outside', undefined],
    ['an option', '--global', undefined],
    ['a version with shell syntax', 'ms', '1.0.0; rm -rf /'],
  ])('refuses %s before asking the registry', (_what, name, version) => {
    expect(dependencyProblem(name, version)).toBeDefined();
  });

  it('accepts plain and scoped names with versions and ranges', () => {
    expect(dependencyProblem('date-fns', '4.1.0')).toBeUndefined();
    expect(dependencyProblem('@scope/name', '^1.2.0')).toBeUndefined();
    expect(dependencyProblem('zod', undefined)).toBeUndefined();
  });
});
