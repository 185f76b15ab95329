import { createReadStream } from 'node:fs';
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { siteNameFor } from '@mvp-pipeline/core';
import { deployerContract, memoryCheckpoint, recordingReporter } from '@mvp-pipeline/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStaticDeployer, type StaticDeployer, staticDeploymentId } from './static-deployer.js';

// The types the local site server (runner-batch's `serve`) sends.
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
};

/** Serves `root` over HTTP on 127.0.0.1, as the local site server will (folders answer with index.html). */
async function serveStatic(root: string): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const server: Server = createServer(async (req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = path.join(root, path.normalize(pathname).replace(/^(\.\.[/\\])+/, ''));
    const info = await stat(file).catch(() => undefined);
    const target = info?.isDirectory() ? path.join(file, 'index.html') : file;
    if (!(await stat(target).catch(() => undefined))?.isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[path.extname(target)] ?? 'application/octet-stream',
    });
    createReadStream(target).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function harness(options: { http: boolean }) {
  const root = await mkdtemp(path.join(tmpdir(), 'mvp-deploy-'));
  const server = options.http ? await serveStatic(root) : undefined;
  const deployer = createStaticDeployer({ root, ...(server ? { baseUrl: server.baseUrl } : {}) });
  let sites = 0;
  return {
    root,
    deployer,
    async site(files: Record<string, string>) {
      const dir = path.join(root, 'builds', String(++sites));
      for (const [name, content] of Object.entries(files)) {
        await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
        await writeFile(path.join(dir, name), content);
      }
      return dir;
    },
    // file:// URLs only: the suite loads http ones itself.
    readPage: (url: string) => readFile(fileURLToPath(url), 'utf8').catch(() => undefined),
    async fetchPage(url: string) {
      if (url.startsWith('file:')) return readFile(fileURLToPath(url), 'utf8').catch(() => undefined);
      const response = await fetch(url);
      return response.ok ? response.text() : undefined;
    },
    deploymentCount: async () => (await deployer.listDeployments()).length,
    async dispose() {
      await server?.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

const api = { describe, it, expect, beforeEach, afterEach };
deployerContract(api, 'static deployer (file URLs)', () => harness({ http: false }));
deployerContract(api, 'static deployer (behind an HTTP server)', () => harness({ http: true }));

describe('static deployer', () => {
  let h: Awaited<ReturnType<typeof harness>>;
  beforeEach(async () => {
    h = await harness({ http: false });
  });
  afterEach(() => h.dispose());

  const deploy = (
    deployer: StaticDeployer,
    jobId: string,
    commit: string,
    outputDir: string,
    projectName = 'eventhub',
  ) =>
    deployer.deploy({
      jobId,
      commit,
      siteName: siteNameFor(projectName, jobId),
      projectName,
      outputDir,
      checkpoint: memoryCheckpoint(),
      report: recordingReporter(),
    });

  it('lays sites out as <root>/sites/<deploymentId> with a production alias per project', async () => {
    const dir = await h.site({ 'index.html': '<h1>EventHub</h1>', 'assets/app.css': 'body{}' });
    const result = await deploy(h.deployer, 'job_1', 'abc1234', dir);
    expect(result.deploymentId).toBe(staticDeploymentId('job_1', 'abc1234'));
    expect(result.stagingUrl).toMatch(new RegExp(`/sites/${result.deploymentId}/index\\.html$`));
    expect(result.productionUrl).toMatch(/\/sites\/eventhub\/index\.html$/);
    expect(await readFile(path.join(h.root, 'sites', result.deploymentId, 'assets/app.css'), 'utf8')).toBe(
      'body{}',
    );
    expect((await lstat(path.join(h.root, 'sites', 'eventhub'))).isSymbolicLink()).toBe(true);
    expect(await readlink(path.join(h.root, 'sites', 'eventhub'))).toBe(result.deploymentId);
    expect(await h.deployer.listDeployments()).toMatchObject([
      { deploymentId: result.deploymentId, jobId: 'job_1', commit: 'abc1234', alias: 'eventhub', files: 2 },
    ]);
    // No temp folders are left behind.
    expect((await readdir(path.join(h.root, 'sites'))).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('gives another job’s project of the same name its own production alias', async () => {
    const mine = await deploy(h.deployer, 'job_a', 'aaaaaaa', await h.site({ 'index.html': 'A' }));
    const theirs = await deploy(h.deployer, 'job_b', 'bbbbbbb', await h.site({ 'index.html': 'B' }));
    expect(theirs.productionUrl).not.toBe(mine.productionUrl);
    expect(theirs.productionUrl).toMatch(/\/sites\/eventhub-[0-9a-f]{6}\/index\.html$/);
    expect(await h.fetchPage(mine.productionUrl)).toBe('A');
    expect(await h.fetchPage(theirs.productionUrl)).toBe('B');
  });

  it('removes a job’s deployments and alias only, freeing the alias; a second remove finds nothing', async () => {
    const mine = await deploy(h.deployer, 'job_a', 'aaaaaaa', await h.site({ 'index.html': 'A' }));
    await deploy(h.deployer, 'job_a', 'aaaaaa2', await h.site({ 'index.html': 'A2' }));
    const theirs = await deploy(h.deployer, 'job_b', 'bbbbbbb', await h.site({ 'index.html': 'B' }));
    const removed = await h.deployer.remove({ jobId: 'job_a' });
    expect([...removed.removed].sort()).toEqual(
      [
        'site eventhub',
        `deployment ${staticDeploymentId('job_a', 'aaaaaaa')}`,
        `deployment ${staticDeploymentId('job_a', 'aaaaaa2')}`,
      ].sort(),
    );
    expect(await h.fetchPage(mine.productionUrl)).toBeUndefined();
    expect(await h.fetchPage(theirs.productionUrl)).toBe('B');
    expect((await h.deployer.listDeployments()).map((d) => d.jobId)).toEqual(['job_b']);
    expect(await h.deployer.remove({ jobId: 'job_a' })).toEqual({ removed: [] });
    // The plain name is free: the next job to deploy the project gets it.
    const next = await deploy(h.deployer, 'job_c', 'ccccccc', await h.site({ 'index.html': 'C' }));
    expect(next.productionUrl).toBe(mine.productionUrl);
  });

  it('publishes the same (job, commit) once, even when two deploys race', async () => {
    const dir = await h.site({ 'index.html': '<h1>EventHub</h1>' });
    const [a, b] = await Promise.all([
      deploy(h.deployer, 'job_r', 'c0ffee', dir),
      deploy(h.deployer, 'job_r', 'c0ffee', dir),
    ]);
    expect(a).toEqual(b);
    expect(await h.deploymentCount()).toBe(1);
  });

  it('saves the deployment id in the step checkpoint', async () => {
    const checkpoint = memoryCheckpoint();
    const result = await h.deployer.deploy({
      jobId: 'job_c',
      commit: 'c0ffee',
      siteName: 'eventhub',
      projectName: 'eventhub',
      outputDir: await h.site({ 'index.html': 'x' }),
      checkpoint,
      report: recordingReporter(),
    });
    expect(checkpoint.data).toEqual({ deploymentId: result.deploymentId, alias: 'eventhub' });
  });

  it('publishes regular files only: a symlink in the build output stays behind', async () => {
    const secret = path.join(h.root, 'secret.txt');
    await writeFile(secret, 'do not publish');
    const dir = await h.site({ 'index.html': 'x' });
    await symlink(secret, path.join(dir, 'leak.txt'));
    const report = recordingReporter();
    const result = await h.deployer.deploy({
      jobId: 'job_s',
      commit: 'c0ffee',
      siteName: 'eventhub',
      projectName: 'eventhub',
      outputDir: dir,
      checkpoint: memoryCheckpoint(),
      report,
    });
    expect(await readdir(path.join(h.root, 'sites', result.deploymentId))).toEqual(['index.html']);
    expect(report.lines.join('\n')).toContain('Skipped leak.txt');
  });

  it('refuses build output without an index.html, and a project name that is not a slug becomes one', async () => {
    const empty = await h.site({ 'about.html': 'x' });
    await expect(deploy(h.deployer, 'job_e', 'c0ffee', empty)).rejects.toMatchObject({
      code: 'PERMANENT',
      message: expect.stringMatching(/no index\.html/),
    });
    const odd = await deploy(
      h.deployer,
      'job_o',
      'c0ffee',
      await h.site({ 'index.html': 'x' }),
      '../Évent Hub!',
    );
    expect(odd.productionUrl).toMatch(/\/sites\/event-hub\/index\.html$/);
  });

  it('stops when its signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    const run = h.deployer.deploy({
      jobId: 'job_x',
      commit: 'c0ffee',
      siteName: 'eventhub',
      projectName: 'eventhub',
      outputDir: await h.site({ 'index.html': 'x' }),
      checkpoint: memoryCheckpoint(),
      report: recordingReporter(),
      signal: controller.signal,
    });
    await expect(run).rejects.toThrow('stop');
    expect(await h.deploymentCount()).toBe(0);
  });

  it('refuses a base URL that is not http(s)', () => {
    expect(() => createStaticDeployer({ root: h.root, baseUrl: 'ftp://x' })).toThrow(
      /baseUrl: must be an http/,
    );
  });

  it('builds http URLs under the base URL', async () => {
    const deployer = createStaticDeployer({ root: h.root, baseUrl: 'http://127.0.0.1:4173/' });
    const result = await deploy(deployer, 'job_h', 'c0ffee', await h.site({ 'index.html': 'x' }));
    expect(result.stagingUrl).toBe(`http://127.0.0.1:4173/sites/${result.deploymentId}/`);
    expect(result.productionUrl).toBe('http://127.0.0.1:4173/sites/eventhub/');
  });
});
