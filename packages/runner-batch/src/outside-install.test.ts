// The packages as an outsider gets them: packs every library package (scripts/pack.mjs), copies
// examples/outside into a temporary folder outside the workspace, installs the tarballs there
// with npm, type-checks that project against the installed types, and runs a job there with the
// project's own Deployer on the `landing` template.
// Offline: third-party packages come from a registry on 127.0.0.1 that serves only what this
// workspace has installed (testing/local-registry.ts); npm's proxy points at a closed port, so
// any other fetch fails the install.
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRegistry, startLocalRegistry } from './testing/local-registry.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const LIBRARIES = [
  'core',
  'workspace',
  'adapters-local',
  'adapters-aws',
  'adapters-postgres',
  'adapters-github',
  'adapters-claude',
  'adapters-vercel',
  'adapters-neon',
  'runner-batch',
];
const enabled = Boolean(process.env['CI'] || process.env['MVP_SLOW_TESTS']);
if (!enabled)
  console.warn(
    '\n!!! outside-install test SKIPPED (slow: packs, installs with npm, runs a job): set MVP_SLOW_TESTS=1 to run it; CI runs it.\n',
  );

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The environment without what the workspace's own npm/pnpm run put there (registry, cache, prefix). */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(npm_|pnpm_|NODE_OPTIONS$|VITEST|MVP_)/i.test(name)),
  );
  return { ...env, ...extra };
}

describe.skipIf(!enabled)('the packages installed outside the workspace', () => {
  let scratch: string;
  let project: string;
  let registry: LocalRegistry;
  let npmEnv: NodeJS.ProcessEnv;
  const tarballs = new Map<string, string>();

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'mvp-outside-'));
    const { packAll } = (await import(join(root, 'scripts/pack.mjs'))) as {
      packAll(options: { out: string; build: boolean }): Map<string, string>;
    };
    for (const [name, file] of packAll({ out: join(scratch, 'tarballs'), build: true }))
      tarballs.set(name, file);
    registry = await startLocalRegistry({
      roots: LIBRARIES.map((dir) => join(root, 'packages', dir)),
      own: (name) => name.startsWith('@mvp-pipeline/'),
      also: { from: root, names: ['@types/node'] },
      // Tarballs of installed packages do not change: kept between runs.
      cacheDir: join(tmpdir(), 'mvp-outside-registry-cache'),
    });
    project = join(scratch, 'project');
    await cp(join(root, 'examples/outside'), project, {
      recursive: true,
      filter: (path) => !/\/(node_modules|\.mvp)(\/|$)/.test(path.slice(root.length)),
    });
    const manifest = JSON.parse(await readFile(join(project, 'package.json'), 'utf8'));
    for (const name of Object.keys(manifest.dependencies)) {
      const file = tarballs.get(name);
      if (!file) throw new Error(`examples/outside depends on ${name}, which scripts/pack.mjs does not pack`);
      manifest.dependencies[name] = `file:${file}`;
    }
    await writeFile(join(project, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    npmEnv = cleanEnv({
      npm_config_registry: registry.url,
      npm_config_cache: join(scratch, 'npm-cache'),
      // Anything but the local registry goes to a closed port: the install fails if it needs the network.
      npm_config_proxy: 'http://127.0.0.1:9',
      npm_config_https_proxy: 'http://127.0.0.1:9',
      npm_config_noproxy: '127.0.0.1',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
      npm_config_fetch_retries: '0',
      npm_config_userconfig: join(scratch, 'npmrc'),
    });
  }, 240_000);

  afterAll(async () => {
    await registry?.close();
    // MVP_KEEP_OUTSIDE=1 keeps the project, its install and the data dir to look at.
    if (scratch && !process.env['MVP_KEEP_OUTSIDE']) await rm(scratch, { recursive: true, force: true });
    else if (scratch) console.warn(`outside project kept in ${scratch}`);
  });

  it('packs every library package with its build, types, README, a version and pinned workspace deps', () => {
    expect([...tarballs.keys()].sort()).toEqual(LIBRARIES.map((dir) => `@mvp-pipeline/${dir}`).sort());
  });

  it('installs them with npm from tarballs and the local registry only, without bin warnings', async () => {
    const install = await run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: project,
      env: npmEnv,
    });
    expect(install.code, `npm install failed:\n${install.stderr}\n${install.stdout}`).toBe(0);
    expect(`${install.stdout}${install.stderr}`).not.toMatch(/Failed to create bin/i);
    // npm found every package it needs among the workspace's own: it asks the registry for ours
    // too (then takes the tarballs), and for optional peers (pg-native), and goes on without them.
    const unserved = registry.missing.filter(
      (name) => !name.startsWith('@mvp-pipeline/') && !registry.optional.has(name),
    );
    expect(unserved).toEqual([]);
    expect(registry.served.length).toBeGreaterThan(0);
    expect(await readdir(join(project, 'node_modules/@mvp-pipeline'))).toEqual(
      expect.arrayContaining(LIBRARIES),
    );
    // The CLI bin is linked and runs from the installed package.
    const help = await run(join(project, 'node_modules/.bin/mvp'), ['--help'], { cwd: project, env: npmEnv });
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain('mvp run');
  }, 240_000);

  it('type-checks the outside project against the installed types', async () => {
    const check = await run(
      process.execPath,
      [join(root, 'node_modules/typescript/bin/tsc'), '-p', project],
      {
        cwd: project,
        env: npmEnv,
      },
    );
    expect(check.code, `tsc failed:\n${check.stdout}${check.stderr}`).toBe(0);
  }, 120_000);

  it('runs a job there to COMPLETED with the project’s own Deployer', async () => {
    const job = await run(process.execPath, ['src/main.js', join(root, 'examples/eventhub.json')], {
      cwd: project,
      env: cleanEnv({ MVP_DATA_DIR: join(scratch, 'data') }),
    });
    const line = job.stdout.trim().split('\n').at(-1) ?? '';
    expect(job.code, `the job failed:\n${job.stdout}\n${job.stderr}`).toBe(0);
    const result = JSON.parse(line);
    expect(result).toMatchObject({ status: 'COMPLETED', pageStatus: 200, namesProduct: true });
    expect(result.contentType).toMatch(/^text\/html/);
    expect(result.productionUrl.startsWith(`${result.hostUrl}/s/eventhub-`)).toBe(true);
    // The pipeline's own static deployer was not used: nothing was published under sites/.
    expect(await readdir(join(scratch, 'data'))).not.toContain('sites');
  }, 180_000);
});
