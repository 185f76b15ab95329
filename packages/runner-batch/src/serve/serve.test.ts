import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ChromiumSession,
  createBrowserSiteChecker,
  createProcessBuilder,
  findChromium,
  launchChromium,
} from '@mvp-pipeline/adapters-local';
import { type Builder, type Job, type Logger, type SiteChecker, TOKENS } from '@mvp-pipeline/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { type RunningServer, type ServeOptions, startServer } from './server.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const SHOTS = join(root, 'test-output', 'screenshots');
const chromium = findChromium();
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

// Locally a missing browser skips these tests (loudly); in CI it fails them.
const browserDescribe = chromium || process.env['CI'] ? describe : describe.skip;
if (!chromium) {
  console.warn(
    `\n!!! Chromium not found (${process.env['CI'] ? 'CI: the mvp serve browser tests will FAIL' : 'mvp serve browser tests SKIPPED'}). Install Debian's chromium to run them.\n`,
  );
}

/** A Builder that waits while held, so a test sees a job stand at BUILDING. */
function gatedBuilder(inner: Builder) {
  let release: () => void = () => undefined;
  let held: Promise<void> = Promise.resolve();
  const builder: Builder = {
    specificationVersion: 'v1',
    async build(options) {
      await held;
      return inner.build(options);
    },
  };
  return {
    builder,
    hold() {
      held = new Promise((resolve) => {
        release = resolve;
      });
    },
    release: () => release(),
  };
}

async function serverIn(dataDir: string, options: Partial<ServeOptions> = {}): Promise<RunningServer> {
  return startServer({
    config: loadConfig({ MVP_DATA_DIR: dataDir, MVP_NOTIFIER: 'none', MVP_TEMPLATE: 'landing' }, dataDir),
    port: 0,
    logger: quiet,
    settings: { flushIntervalMs: 50 },
    ...options,
  });
}

const HOSTILE_NAME = `<img src=x onerror=alert(1)> Q&A "Live" <b>Bold</b>`;

browserDescribe('mvp serve in Chromium', () => {
  let dataDir: string;
  let server: RunningServer;
  let browser: ChromiumSession;
  const gate = gatedBuilder(createProcessBuilder({}));

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    dataDir = await mkdtemp(join(tmpdir(), 'mvp-serve-ui-'));
    const checker = createBrowserSiteChecker({ executablePath: chromium ?? '/usr/bin/chromium' });
    server = await serverIn(dataDir, {
      configure: (c) => {
        c.rebind<Builder>(TOKENS.Builder).toConstantValue(gate.builder);
        c.rebind<SiteChecker>(TOKENS.SiteChecker).toConstantValue(checker);
      },
    });
    browser = await launchChromium({
      executablePath: chromium ?? '/usr/bin/chromium',
      viewport: { width: 1280, height: 900 },
    });
  }, 120_000);
  afterAll(async () => {
    gate.release();
    await browser?.close();
    await server?.close();
    await rm(dataDir, { recursive: true, force: true, maxRetries: 3 });
  });

  /** A page that records what went wrong in it: console errors, uncaught errors, dialogs. */
  async function open(path: string, viewport?: { width: number; height: number }) {
    const page = await browser.context.newPage();
    if (viewport) await page.setViewportSize(viewport);
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    await page.goto(`${server.url}${path}`);
    return { page, problems };
  }

  const submitSpec = async (spec: unknown) => {
    const response = await fetch(`${server.url}/api/mvp/deploy`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ spec }),
    });
    expect(response.status).toBe(202);
    return ((await response.json()) as { jobId: string }).jobId;
  };

  it('submits from the page, shows the steps advance live without a reload, and opens the site', async () => {
    gate.hold();
    const { page, problems } = await open('/');
    await page.click('#example');
    // The landing template: this test follows the steps live, not the app build.
    await page.selectOption('#f-template', 'landing');
    await page.click('#submit');
    await page.waitForURL(/\/jobs\/job_/);
    const jobId = decodeURIComponent(new URL(page.url()).pathname.split('/')[2]!);
    await page.evaluate('window.__sameDocument = true');

    // The job stands at BUILDING while the builder is held: the page shows it without reloading.
    await page.locator('#steps li[data-step="BUILDING"].current').waitFor({ timeout: 60_000 });
    const states = await page
      .locator('#steps li')
      .evaluateAll((items) => items.map((li) => `${li.getAttribute('data-step')}:${li.className}`));
    expect(states).toEqual([
      'QUEUED:done',
      'FETCHING_DATA:done',
      'CREATING_REPO:done',
      'AI_DEVELOPMENT:done',
      'BUILDING:current',
      'DEPLOYING:todo',
      'COMPLETED:todo',
    ]);
    expect(await page.locator('#pct').textContent()).toBe('70%');
    expect(await page.locator('#conn').textContent()).toBe('Live updates');
    await page.screenshot({ path: join(SHOTS, 'dashboard-job-running-desktop.png'), fullPage: true });

    gate.release();
    await page.locator('#job-status.COMPLETED').waitFor({ timeout: 90_000 });
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    expect(await page.locator('#pct').textContent()).toBe('100%');
    expect(await page.locator('#steps li.done').count()).toBe(7);
    await expect
      .poll(() => page.locator('#log').textContent())
      .toMatch(/Live at http:\/\/127\.0\.0\.1:\d+\/sites\//);
    expect(await page.locator('#log').textContent()).toMatch(/answers \(chromium check\)/);
    await page.screenshot({ path: join(SHOTS, 'dashboard-job-done-desktop.png'), fullPage: true });

    // The record says the same, and its site link opens the published site.
    const job = (await (await fetch(`${server.url}/api/mvp/status/${jobId}`)).json()) as Job;
    expect(job.status).toBe('COMPLETED');
    expect(await page.locator('#site-link').getAttribute('href')).toBe(job.urls.production);
    const [site] = await Promise.all([page.waitForEvent('popup'), page.click('#site-link')]);
    await site.waitForLoadState('load');
    expect(site.url()).toBe(job.urls.production);
    expect(await site.locator('h1').textContent()).toBe('EventHub');
    await site.close();
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows the jobs list and a job clean on a desktop and a phone; writes screenshots', async () => {
    const spec = JSON.parse(await readFile(join(root, 'examples', 'eventhub.json'), 'utf8'));
    const jobId = await submitSpec(spec);
    const { page, problems } = await open('/');
    await page.locator(`#jobs li[data-job="${jobId}"]`).waitFor();
    await page.locator(`#jobs li[data-job="${jobId}"] .badge.COMPLETED`).waitFor({ timeout: 90_000 });
    await page.screenshot({ path: join(SHOTS, 'dashboard-list-desktop.png'), fullPage: true });
    for (const [name, path] of [
      ['list', '/'],
      ['job', `/jobs/${jobId}`],
    ] as const) {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${server.url}${path}`);
      await page
        .locator(name === 'list' ? '#jobs li' : '#job-status.COMPLETED')
        .first()
        .waitFor();
      const overflow = Number(
        await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'),
      );
      expect(overflow, `horizontal overflow of the ${name} on a phone`).toBeLessThanOrEqual(0);
      await page.screenshot({ path: join(SHOTS, `dashboard-${name}-phone.png`), fullPage: true });
    }
    const job = (await (await fetch(`${server.url}/api/mvp/status/${jobId}`)).json()) as Job;
    const site = await open(new URL(job.urls.production!).pathname, { width: 1280, height: 900 });
    expect(await site.page.locator('h1').textContent()).toBe('EventHub');
    await site.page.screenshot({ path: join(SHOTS, 'site-eventhub-desktop.png'), fullPage: true });
    await site.page.setViewportSize({ width: 390, height: 844 });
    await site.page.screenshot({ path: join(SHOTS, 'site-eventhub-phone.png'), fullPage: true });
    expect([...problems, ...site.problems]).toEqual([]);
    await page.close();
    await site.page.close();
  });

  it('shows a spec with markup as text on the dashboard and on the site', async () => {
    const spec = JSON.parse(await readFile(join(root, 'examples', 'minimal.json'), 'utf8'));
    spec.product = { ...spec.product, id: 'product_markup', name: HOSTILE_NAME };
    spec.specifications = { keyFeatures: ['<script>alert(2)</script>', '"><img src=y onerror=alert(3)>'] };
    const jobId = await submitSpec(spec);
    const { page, problems } = await open(`/jobs/${jobId}`);
    await page.locator('#job-status.COMPLETED').waitFor({ timeout: 90_000 });
    expect(await page.locator('#job-name').textContent()).toBe(HOSTILE_NAME);
    expect(await page.title()).toBe(`${HOSTILE_NAME} · MVP Pipeline`);
    expect(await page.locator('main img, main b, main script').count()).toBe(0);
    await page.screenshot({ path: join(SHOTS, 'dashboard-markup-job-desktop.png'), fullPage: true });
    await page.click('a.back');
    const row = page.locator(`#jobs li[data-job="${jobId}"] .name`);
    expect(await row.textContent()).toBe(HOSTILE_NAME);
    expect(await page.locator('main img, main b, main script').count()).toBe(0);

    const job = (await (await fetch(`${server.url}/api/mvp/status/${jobId}`)).json()) as Job;
    const site = await open(new URL(job.urls.production!).pathname);
    expect(await site.page.locator('h1').textContent()).toBe(HOSTILE_NAME);
    expect(await site.page.locator('section.feature h3').allTextContents()).toEqual(
      spec.specifications.keyFeatures,
    );
    expect(await site.page.locator('img, b, script').count()).toBe(0);
    expect([...problems, ...site.problems]).toEqual([]);
    await page.close();
    await site.page.close();
  });

  it('shows a raw JSON spec’s problems, field by field, when the page submits a bad one', async () => {
    const { page, problems } = await open('/');
    await page.click('#advanced summary');
    await page.fill('#spec', JSON.stringify({ user: { id: 'u1' }, product: { id: 'p1', name: '' } }));
    await page.click('#submit');
    await page.locator('#form-error li').first().waitFor();
    const shown = await page.locator('#form-error li').allTextContents();
    expect(shown).toEqual(expect.arrayContaining([expect.stringMatching(/^spec\.user\.email: /)]));
    expect(shown).toEqual(expect.arrayContaining([expect.stringMatching(/^spec\.product\.name: /)]));
    expect(new URL(page.url()).pathname).toBe('/');
    // The browser logs the 400 itself; nothing else went wrong.
    expect(problems.filter((p) => !/status of 400/.test(p))).toEqual([]);
    await page.close();
  });
});

describe('mvp serve without a browser', () => {
  const dirs: string[] = [];
  const servers: RunningServer[] = [];
  const start = async (options: Partial<ServeOptions> = {}) => {
    const dir = await mkdtemp(join(tmpdir(), 'mvp-serve-'));
    dirs.push(dir);
    const server = await serverIn(dir, { worker: false, ...options });
    servers.push(server);
    return { server, dir };
  };
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });

  it('refuses to listen beyond loopback without a token, or with a short one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mvp-serve-'));
    dirs.push(dir);
    await expect(serverIn(dir, { host: '0.0.0.0' })).rejects.toThrow(/MVP_SERVE_TOKEN: is required/);
    await expect(serverIn(dir, { host: '0.0.0.0', token: 'short' })).rejects.toThrow(
      /MVP_SERVE_TOKEN: must be at least 16/,
    );
  });

  it('beyond loopback, asks for the token: bearer, or a cookie set once from ?token=', async () => {
    const token = 'serve-token-0123456789abcdef';
    const { server } = await start({ host: '0.0.0.0', token });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const status = `${server.url}/api/mvp/status/job_nope`;
    const denied = await fetch(status);
    expect(denied.status).toBe(401);
    const deniedBody = await denied.text();
    expect(deniedBody).not.toContain(token);
    expect(
      (await fetch(status, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status,
    ).toBe(401);
    expect((await fetch(status, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
    expect((await fetch(`${server.url}/`)).status).toBe(401);

    const opened = await fetch(`${server.url}/jobs/job_1?token=${token}&x=1`, { redirect: 'manual' });
    expect(opened.status).toBe(303);
    expect(opened.headers.get('location')).toBe('/jobs/job_1?x=1');
    const cookie = opened.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const page = await fetch(`${server.url}/jobs/job_1`, { headers: { cookie: cookie.split(';')[0]! } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    // Published sites are public, as on any host.
    expect((await fetch(`${server.url}/sites/nothing/`)).status).toBe(404);
  });

  it('on loopback, answers only to its own host names and refuses posts from other sites', async () => {
    const { server } = await start();
    const port = new URL(server.url).port;
    const { request } = await import('node:http');
    const statusWithHost = (host: string) =>
      new Promise<number>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path: '/', headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
    expect(await statusWithHost(`localhost:${port}`)).toBe(200);
    expect(await statusWithHost(`attacker.example:${port}`)).toBe(403);
    const cross = await fetch(`${server.url}/api/mvp/deploy`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://attacker.example' },
      body: '{}',
    });
    expect(cross.status).toBe(403);
    const form = await fetch(`${server.url}/api/mvp/deploy`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{"userId":"u","productId":"p"}',
    });
    expect(form.status).toBe(415);
  });

  it('serves published sites from the data folder, following the alias and nothing outside it', async () => {
    const { server, dir } = await start();
    const sites = join(dir, 'sites');
    await mkdir(join(sites, 'dpl_1', 'css'), { recursive: true });
    await writeFile(join(sites, 'dpl_1', 'index.html'), '<h1>Hi</h1>');
    await writeFile(join(sites, 'dpl_1', 'css', 'a.css'), 'h1{}');
    await symlink('dpl_1', join(sites, 'hello'));
    await writeFile(join(dir, 'secret.txt'), 'not for the web');
    await symlink(join(dir, 'secret.txt'), join(sites, 'dpl_1', 'leak.txt'));
    await symlink(dir, join(sites, 'escape'));

    const alias = await fetch(`${server.url}/sites/hello/`);
    expect(alias.status).toBe(200);
    expect(await alias.text()).toBe('<h1>Hi</h1>');
    expect(alias.headers.get('content-security-policy')).toMatch(/^sandbox /);
    const css = await fetch(`${server.url}/sites/hello/css/a.css`);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    const bare = await fetch(`${server.url}/sites/hello`, { redirect: 'manual' });
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/sites/hello/');
    for (const path of [
      '/sites/dpl_1/leak.txt',
      '/sites/escape/secret.txt',
      '/sites/hello/..%2F..%2Fsecret.txt',
      '/sites/%2e%2e/secret.txt',
      '/sites/hello/%00',
      '/sites/',
    ]) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status, path).toBe(404);
      expect(await response.text()).not.toContain('not for the web');
    }
    expect((await fetch(`${server.url}/sites/hello/`, { method: 'POST' })).status).toBe(405);
  });

  it('lists the users the spec source knows, for the dashboard', async () => {
    const { server } = await start();
    const spec = JSON.parse(await readFile(join(root, 'examples', 'eventhub.json'), 'utf8'));
    await server.pipeline.specFiles!.register(spec);
    expect(await (await fetch(`${server.url}/api/mvp/users`)).json()).toEqual({ users: ['user_12345'] });
  });
});

describe('mvp serve as a command', () => {
  const cli = join(root, 'packages/runner-batch/dist/cli.js');

  /** Starts `mvp serve`; resolves with its URL once it prints it. */
  function serve(args: string[], env: Record<string, string>) {
    const child = spawn(process.execPath, [cli, 'serve', ...args], {
      env: { ...process.env, MVP_SERVE_TOKEN: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const url = new Promise<string | undefined>((resolve) => {
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
        const found = /Dashboard\s+(http:\/\/\S+?)\/?\s/.exec(stderr);
        if (found) resolve(found[1]);
      });
      void exited.then(() => resolve(undefined));
    });
    return { child, url, exited, stderr: () => stderr };
  }

  it('serves the dashboard until Ctrl-C, then exits 0; refuses a public bind without a token', async () => {
    if (!existsSync(cli)) throw new Error('The CLI is not built: run `pnpm build` (npm test does) first');
    const dir = await mkdtemp(join(tmpdir(), 'mvp-serve-cli-'));
    try {
      const env = { MVP_DATA_DIR: dir, MVP_NOTIFIER: 'none', MVP_BROWSER_CHECK: 'off' };
      const running = serve(['--port', '0'], env);
      const url = await running.url;
      expect(url, running.stderr()).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>MVP Pipeline</title>');
      running.child.kill('SIGINT');
      expect(await running.exited).toBe(0);

      const refused = serve(['--port', '0', '--host', '0.0.0.0'], env);
      expect(await refused.exited).toBe(2);
      expect(refused.stderr()).toMatch(/MVP_SERVE_TOKEN: is required/);
      const bad = serve(['--port', '0'], { ...env, MVP_BROWSER_CHECK: 'sometimes' });
      expect(await bad.exited).toBe(2);
      expect(bad.stderr()).toMatch(/MVP_BROWSER_CHECK: must be one of auto, off/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
