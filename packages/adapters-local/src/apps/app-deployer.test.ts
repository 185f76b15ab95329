import { chmod, link, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type DatabaseProvisioner, siteNameFor, type TemplateManifest } from '@mvp-pipeline/core';
import { memoryCheckpoint, recordingReporter } from '@mvp-pipeline/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFakeServerApp } from '../testing/fake-server-app.js';
import { createLocalAppDeployer, type LocalAppDeployer } from './app-deployer.js';
import { createAppHost } from './app-host.js';
import { readSites } from './sites.js';

// The local app deployer and host on the fake node:http app (no Next build), with a database
// provisioner stand-in whose "database" is a folder named in the URL (the fake app keeps its
// state there), so redeploys and restarts keep it as a real database would.

let root: string;
let dbs: string;
const provisioned: string[] = [];
const databases: DatabaseProvisioner = {
  specificationVersion: 'v1',
  async provision({ jobId, purpose }) {
    const state = path.join(dbs, `${jobId}-${purpose}`);
    const created = !(await stat(state).catch(() => undefined));
    await mkdir(state, { recursive: true });
    await chmod(state, 0o777); // the app runs under a uid of its own
    provisioned.push(`${jobId}/${purpose}`);
    const database = `db_${jobId}`;
    return {
      resource: {
        provider: 'fake',
        purpose,
        database,
        role: database,
        host: '127.0.0.1:5432',
        secretRef: 'none',
      },
      connectionUrl: `postgresql://${database}:pw-${jobId}-s3cret@127.0.0.1:5432/${database}?state=${encodeURIComponent(state)}`,
      created,
    };
  },
  async describe() {
    return { resource: undefined };
  },
  async release() {
    return { removed: false };
  },
};

// Ports of their own per run, away from the default range and from other test files.
const first = 20_000 + Math.floor(Math.random() * 9_000);
const portRange = { first, last: first + 30 };
const deployers: LocalAppDeployer[] = [];
const deployerOf = (settings: Partial<Parameters<typeof createLocalAppDeployer>[0]> = {}) => {
  const deployer = createLocalAppDeployer({
    root,
    databases,
    portRange,
    startTimeoutMs: 10_000,
    ...settings,
  });
  deployers.push(deployer);
  return deployer;
};

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

let builds = 0;
async function build(
  options: Parameters<typeof writeFakeServerApp>[1] = {},
): Promise<{ dir: string; manifest: TemplateManifest }> {
  const dir = path.join(root, 'builds', String(builds++));
  const manifest = await writeFakeServerApp(dir, options);
  return { dir, manifest };
}

async function deploy(
  deployer: LocalAppDeployer,
  jobId: string,
  commit: string,
  built: { dir: string; manifest: TemplateManifest },
  projectName = 'notes',
) {
  const report = recordingReporter();
  const result = await deployer.deploy({
    jobId,
    commit,
    siteName: siteNameFor(projectName, jobId),
    projectName,
    outputDir: built.dir,
    manifest: built.manifest,
    checkpoint: memoryCheckpoint(),
    report,
  });
  return { result, report };
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'mvp-app-deployer-'));
  dbs = path.join(root, 'dbs');
  await mkdir(dbs);
  await chmod(root, 0o711);
  await chmod(dbs, 0o711);
});
afterAll(async () => {
  for (const deployer of deployers) await deployer.close();
  await rm(root, { recursive: true, force: true });
});

describe('createLocalAppDeployer', () => {
  it('publishes, migrates, serves the app on a port of the job, and keeps that port across redeploys', async () => {
    const deployer = deployerOf();
    const { result, report } = await deploy(
      deployer,
      'job_a',
      'c1'.repeat(20),
      await build({ deployment: 'v1' }),
    );
    expect(result.productionUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(result.stagingUrl).toBe(result.productionUrl);
    const port = Number(new URL(result.productionUrl).port);
    expect(port).toBeGreaterThanOrEqual(portRange.first);
    expect(port).toBeLessThanOrEqual(portRange.last);
    const home = await fetch(result.productionUrl);
    expect(home.status).toBe(200);
    // The app knows its public URL.
    expect(await home.text()).toContain(`app ${result.productionUrl.replace(/\/$/, '')}`);
    expect(await readFile(path.join(dbs, 'job_a-app', 'migrated'), 'utf8')).toBe('1');
    expect(report.lines.join('\n')).not.toContain('s3cret');
    const [site] = await readSites(root);
    expect(site).toMatchObject({ jobId: 'job_a', slug: 'notes', port, deploymentId: result.deploymentId });

    // The same commit again: the same deployment, nothing copied, migrate run again (idempotent).
    const again = await deploy(deployer, 'job_a', 'c1'.repeat(20), await build({ deployment: 'v1' }));
    expect(again.result).toEqual(result);
    expect(again.report.lines.some((l) => l.includes('nothing to copy'))).toBe(true);
    expect(await readFile(path.join(dbs, 'job_a-app', 'migrated'), 'utf8')).toBe('2');

    // A new commit: a new deployment on the same port, the old app replaced.
    const next = await deploy(deployer, 'job_a', 'c2'.repeat(20), await build({ deployment: 'v2' }));
    expect(next.result.deploymentId).not.toBe(result.deploymentId);
    expect(next.result.productionUrl).toBe(result.productionUrl);
    const health = (await (await fetch(`${result.productionUrl}api/health`)).json()) as {
      deployment: string;
    };
    expect(health.deployment).toBe('v2');
  }, 60_000);

  it('gives another job of the same project name a port and a slug of its own', async () => {
    const deployer = deployerOf();
    const a = (await readSites(root)).find((s) => s.jobId === 'job_a');
    const { result } = await deploy(deployer, 'job_b', 'c3'.repeat(20), await build());
    const sites = await readSites(root);
    const b = sites.find((s) => s.jobId === 'job_b');
    expect(b?.slug).toMatch(/^notes-[0-9a-f]{6}$/);
    expect(b?.port).not.toBe(a?.port);
    expect(result.productionUrl).toBe(`http://127.0.0.1:${b?.port}/`);
    expect((await fetch(result.productionUrl)).status).toBe(200);
  }, 60_000);

  it('removes a job’s site: its app stops, its port and slug are free, another job’s site keeps serving', async () => {
    const deployer = deployerOf();
    const { result } = await deploy(deployer, 'job_rm', 'c9'.repeat(20), await build(), 'gone');
    const { result: other } = await deploy(deployer, 'job_stay', 'c8'.repeat(20), await build(), 'stays');
    const port = Number(new URL(result.productionUrl).port);
    expect(await listening(port)).toBe(true);
    const removed = await deployer.remove({ jobId: 'job_rm' });
    expect(removed.removed).toEqual([
      `site gone (${result.productionUrl})`,
      `deployment ${result.deploymentId}`,
    ]);
    expect(await listening(port)).toBe(false);
    expect(await stat(path.join(root, 'apps', result.deploymentId)).catch(() => undefined)).toBeUndefined();
    expect((await readSites(root)).some((s) => s.jobId === 'job_rm')).toBe(false);
    expect((await fetch(other.productionUrl)).status).toBe(200);
    expect(await deployer.remove({ jobId: 'job_rm' })).toEqual({ removed: [] });
  }, 60_000);

  it('issues an owner link with the production URL, and none once the app has an owner', async () => {
    const deployer = deployerOf();
    const [site] = (await readSites(root)).filter((s) => s.jobId === 'job_a');
    const { url: link } = await deployer.issueOwnerClaim({ jobId: 'job_a' });
    expect(link).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${site?.port}/claim/[0-9a-f]{32}$`));
    const token = link?.split('/').pop();
    const claimed = await fetch(`http://127.0.0.1:${site?.port}/api/auth/claim`, {
      method: 'POST',
      body: JSON.stringify({ token }),
    });
    expect(claimed.status).toBe(200);
    expect(await deployer.issueOwnerClaim({ jobId: 'job_a' })).toEqual({});
    await expect(deployer.issueOwnerClaim({ jobId: 'job_nobody' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  }, 60_000);

  it('hard-links shared files, keeps links inside the app, and leaves out .git and the rest', async () => {
    const built = await build();
    const store = path.join(root, 'store-file.js');
    await writeFile(store, 'module.exports = 1;\n');
    await mkdir(path.join(built.dir, 'node_modules', 'dep'), { recursive: true });
    await link(store, path.join(built.dir, 'node_modules', 'dep', 'index.js'));
    await symlink('dep', path.join(built.dir, 'node_modules', 'alias'));
    await symlink('/etc/passwd', path.join(built.dir, 'passwd'));
    await mkdir(path.join(built.dir, '.git'));
    await writeFile(path.join(built.dir, '.git', 'config'), '[core]\n');
    const { result, report } = await deploy(
      deployerOf({ serve: false }),
      'job_files',
      'c4'.repeat(20),
      built,
    );
    const dir = path.join(root, 'apps', result.deploymentId);
    expect((await stat(path.join(dir, 'node_modules', 'dep', 'index.js'))).ino).toBe((await stat(store)).ino);
    expect(await readFile(path.join(dir, 'node_modules', 'alias', 'index.js'), 'utf8')).toContain(
      'module.exports',
    );
    await expect(stat(path.join(dir, 'passwd'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(path.join(dir, '.git'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(report.lines.some((l) => l.includes('Skipped 1 entries'))).toBe(true);
  }, 60_000);

  it('fails permanently for a failing migration, an app that does not start, or a static site', async () => {
    const deployer = deployerOf();
    const broken = await build();
    await writeFile(
      path.join(broken.dir, 'migrate.js'),
      'console.error("syntax error at or near x"); process.exit(1)',
    );
    await expect(deploy(deployer, 'job_m', 'c5'.repeat(20), broken)).rejects.toMatchObject({
      code: 'PERMANENT',
      message: expect.stringContaining('syntax error at or near x'),
    });
    await expect(
      deploy(deployer, 'job_crash', 'c6'.repeat(20), await build({ crash: true })),
    ).rejects.toMatchObject({
      code: 'PERMANENT',
      message: expect.stringContaining('does not start'),
    });
    const site = await build();
    const { start: _start, ...staticManifest } = site.manifest;
    await expect(
      deploy(deployer, 'job_s', 'c7'.repeat(20), { dir: site.dir, manifest: staticManifest }),
    ).rejects.toMatchObject({ code: 'PERMANENT' });
  }, 60_000);
});

describe('createAppHost', () => {
  it('starts an app on the first connection, stops it when idle, and again on demand', async () => {
    const { result } = await deploy(deployerOf({ serve: false }), 'job_h', 'c8'.repeat(20), await build());
    const port = Number(new URL(result.productionUrl).port);
    expect(await listening(port)).toBe(false);
    const lines: string[] = [];
    const host = createAppHost({
      root,
      databases,
      idleMs: 700,
      reloadMs: 0,
      startTimeoutMs: 10_000,
      log: (line) => lines.push(line),
    });
    try {
      await host.refresh();
      const hosted = () => host.state().find((s) => s.jobId === 'job_h');
      expect(hosted()).toMatchObject({ port, connections: 0 });
      expect(hosted()?.running).toBeUndefined();

      // Concurrent first connections share one start.
      const first = await Promise.all([1, 2, 3, 4].map(() => fetch(result.productionUrl)));
      expect(first.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      expect(await first[0]!.text()).toContain('Notes');
      expect(lines.filter((l) => l.startsWith('Starting notes')).length).toBe(1);
      const internal = hosted()?.running?.internalPort;
      expect(internal).toBeGreaterThan(0);
      expect(internal).not.toBe(port);

      // Idle: the app stops (its port closes); the public port still listens.
      const deadline = Date.now() + 10_000;
      while (hosted()?.running && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(hosted()?.running).toBeUndefined();
      expect(await listening(internal!)).toBe(false);
      expect(await listening(port)).toBe(true);

      expect((await fetch(result.productionUrl)).status).toBe(200);
      expect(hosted()?.running).toBeDefined();
      const again = hosted()?.running?.internalPort;
      await host.close();
      expect(await listening(again!)).toBe(false);
    } finally {
      await host.close();
    }
    expect(await listening(port)).toBe(false);
    expect(lines.join('\n')).not.toContain('s3cret');
  }, 60_000);

  it('picks up a new deployment from sites.json and answers 503 while an app cannot start', async () => {
    const deployer = deployerOf({ serve: false });
    const { result } = await deploy(deployer, 'job_r', 'c9'.repeat(20), await build({ deployment: 'r1' }));
    const host = createAppHost({ root, databases, idleMs: 60_000, reloadMs: 100, startTimeoutMs: 5_000 });
    try {
      await host.refresh();
      const health = async () =>
        ((await (await fetch(`${result.productionUrl}api/health`)).json()) as { deployment: string })
          .deployment;
      expect(await health()).toBe('r1');
      await deploy(deployer, 'job_r', 'ca'.repeat(20), await build({ deployment: 'r2' }));
      const deadline = Date.now() + 10_000;
      let seen = await health();
      while (seen !== 'r2' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        seen = await health();
      }
      expect(seen).toBe('r2');

      await deploy(deployer, 'job_r', 'cb'.repeat(20), await build({ crash: true })).catch(() => undefined);
      await host.refresh();
      const broken = await fetch(result.productionUrl);
      expect(broken.status).toBe(503);
    } finally {
      await host.close();
    }
  }, 60_000);
});
