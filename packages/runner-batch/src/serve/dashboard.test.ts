import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ChromiumSession, findChromium, launchChromium } from '@mvp-pipeline/adapters-local';
import { addUsage, aiCostLine, type Job, type Logger } from '@mvp-pipeline/core';
import { sampleJob } from '@mvp-pipeline/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { type RunningServer, startServer } from './server.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const SHOTS = join(root, 'test-output', 'screenshots');
const chromium = findChromium();
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
// Locally a missing browser skips these tests (serve.test.ts says so loudly); in CI it fails them.
const browserDescribe = chromium || process.env['CI'] ? describe : describe.skip;
const HOSTILE_NAME = `<img src=x onerror=alert(1)> Q&A "Live" <b>Bold</b>`;

/** A finished app job whose record says what it delivers: a feature not built, a journey failed. */
function deliveredJob(jobId: string, production: string): Job {
  const job = sampleJob({ jobId, userId: 'user_shown' });
  job.businessName = 'EventHub';
  job.status = 'COMPLETED';
  job.currentStep = 'COMPLETED';
  job.progress = 100;
  job.urls = { production, staging: production };
  job.checkpoints.AI_DEVELOPMENT = {
    commit: 'c1',
    generator: 'template',
    summary: 'app',
    filesChanged: 40,
    delivery: {
      kind: 'app',
      features: [
        { feature: 'Event page with RSVP', builtBy: 'recipe', recipe: 'rsvp', entities: ['event', 'rsvp'] },
        { feature: 'Speaker bios', builtBy: 'model' },
        { feature: 'Smart seating', builtBy: 'ai' },
        { feature: HOSTILE_NAME, builtBy: null },
      ],
    },
  };
  job.checkpoints.BUILDING = {
    commit: 'c1',
    outputDir: '.next',
    checks: [],
    journeys: {
      mode: 'browser',
      ok: false,
      results: [
        { name: 'organiser signs up', ok: true, durationMs: 2300 },
        {
          name: 'visitor RSVPs',
          ok: false,
          failure: `No "Confirm" button <img src=z onerror=alert(4)>\n${'x'.repeat(500)}`,
          durationMs: 15_000,
        },
      ],
    },
  };
  return job;
}

/** Puts a record in the store as a runner would have left it. */
async function putJob(server: RunningServer, job: Job): Promise<Job> {
  const store = server.deps.ports.store;
  const { job: created } = await store.create({
    job: { ...job, status: 'PENDING', currentStep: 'QUEUED', progress: 0 },
  });
  const { status, currentStep, progress, urls, checkpoints, usage } = job;
  return (
    await store.update({
      jobId: created.jobId,
      expectedVersion: created.version,
      patch: { set: { status, currentStep, progress, urls, checkpoints, usage } },
    })
  ).job;
}

browserDescribe('the dashboard’s new-job form and what a job delivers, in Chromium', () => {
  let dataDir: string;
  let server: RunningServer;
  let browser: ChromiumSession;

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    dataDir = await mkdtemp(join(tmpdir(), 'mvp-serve-form-'));
    // No worker: a submitted job stays queued, as submitted.
    server = await startServer({
      config: loadConfig({ MVP_DATA_DIR: dataDir, MVP_NOTIFIER: 'none' }, dataDir),
      port: 0,
      logger: quiet,
      settings: { flushIntervalMs: 50 },
      worker: false,
    });
    browser = await launchChromium({
      executablePath: chromium ?? '/usr/bin/chromium',
      viewport: { width: 1280, height: 900 },
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await rm(dataDir, { recursive: true, force: true, maxRetries: 3 });
  });

  async function open(path: string, viewport = { width: 1280, height: 900 }) {
    const page = await browser.context.newPage();
    await page.setViewportSize(viewport);
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && !/status of 400/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    await page.goto(`${server.url}${path}`);
    return { page, problems };
  }
  const record = async (jobId: string) =>
    (await (await fetch(`${server.url}/api/mvp/status/${jobId}`)).json()) as Job;

  it('builds a valid spec from the fields and creates the job with the chosen template', async () => {
    const { page, problems } = await open('/');
    await page.fill('#f-name', '  Yoga Flow  ');
    await page.fill('#f-tagline', 'Book a class in two taps');
    await page.fill('#f-description', 'A timetable with booking.\n\nA waitlist when a class is full.');
    await page.fill('#f-features', 'Class timetable\n\n  Booking with a capacity limit \nWaitlist\n');
    await page.fill('#f-audience', 'Small yoga studios');
    await page.fill('#f-primary', '#166534');
    await page.fill('#f-secondary', '#fefce8');
    await page.check('#f-dark');
    await page.selectOption('#f-template', 'landing');
    await page.fill('#f-email', 'Ada@Example.com');
    await page.screenshot({ path: join(SHOTS, 'dashboard-form-filled-desktop.png'), fullPage: true });
    await page.click('#submit');
    await page.waitForURL(/\/jobs\/job_/);
    const jobId = decodeURIComponent(new URL(page.url()).pathname.split('/')[2]!);
    const job = await record(jobId);
    expect(job.template).toBe('landing');
    expect(job.businessName).toBe('Yoga Flow');
    expect(job.userId).toBe('user_ada@example.com');
    const { spec } = await server.pipeline.specFiles!.getSpec({
      userId: job.userId,
      productId: job.productId,
    });
    expect(job.productId).toMatch(/^product_yoga-flow_[a-z0-9]+$/);
    expect(spec).toEqual({
      user: { id: 'user_ada@example.com', email: 'Ada@Example.com' },
      product: {
        id: job.productId,
        name: 'Yoga Flow',
        tagline: 'Book a class in two taps',
        description: 'A timetable with booking.\n\nA waitlist when a class is full.',
      },
      specifications: {
        keyFeatures: ['Class timetable', 'Booking with a capacity limit', 'Waitlist'],
        targetAudience: 'Small yoga studios',
        designPreferences: { colors: ['#166534', '#fefce8'], darkMode: true },
      },
    });

    // The default is a working app; the email is remembered, so the same founder's jobs list together.
    await page.goto(`${server.url}/`);
    expect(await page.locator('#f-template').inputValue()).toBe('app');
    expect(await page.locator('#f-email').inputValue()).toBe('Ada@Example.com');
    await page.fill('#f-name', 'Second');
    await page.click('#submit');
    await page.waitForURL(/\/jobs\/job_/);
    const second = await record(decodeURIComponent(new URL(page.url()).pathname.split('/')[2]!));
    expect(second.template).toBe('app');
    expect(second.userId).toBe(job.userId);
    const { spec: bare } = await server.pipeline.specFiles!.getSpec({
      userId: second.userId,
      productId: second.productId,
    });
    expect(bare.specifications).toEqual({
      keyFeatures: [],
      designPreferences: { colors: ['#4f46e5', '#f59e0b'], darkMode: false },
    });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('says in words, next to the fields, what is missing or wrong, and creates no job', async () => {
    const { page, problems } = await open('/', { width: 390, height: 844 });
    await page.evaluate(() => localStorage.clear());
    await page.reload();
    await page.click('#submit');
    expect(await page.locator('#f-name-error').textContent()).toBe('Product name: give the product a name.');
    expect(await page.locator('#f-email-error').textContent()).toBe(
      'Your email: give your email address (you will own the app).',
    );
    expect(await page.locator('#f-name').getAttribute('aria-invalid')).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('f-name');

    await page.fill('#f-name', 'Shop');
    await page.fill('#f-email', 'not an email');
    await page.click('#submit');
    expect(await page.locator('#f-name-error').textContent()).toBe('');
    expect(await page.locator('#f-email-error').textContent()).toMatch(/^Your email: /);

    await page.fill('#f-email', 'shop@example.com');
    await page.fill('#f-features', `Fine\n${'y'.repeat(301)}`);
    await page.fill('#f-audience', 'a'.repeat(2001));
    await page.click('#submit');
    await page.locator('#form-error li').first().waitFor();
    expect(await page.locator('#form-error li').allTextContents()).toEqual(
      expect.arrayContaining([
        'Key feature 2: must be at most 300 characters',
        'Target audience: must be at most 2000 characters',
      ]),
    );
    expect(await page.locator('#f-features-error').textContent()).toBe(
      'Key feature 2: must be at most 300 characters.',
    );
    expect(await page.locator('#f-audience-error').textContent()).toBe(
      'Target audience: must be at most 2000 characters.',
    );
    expect(new URL(page.url()).pathname).toBe('/');
    const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(SHOTS, 'dashboard-form-errors-phone.png'), fullPage: true });
    const jobs = (await (await fetch(`${server.url}/api/mvp/jobs?userId=user_shop@example.com`)).json()) as {
      jobs: Job[];
    };
    expect(jobs.jobs).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('lists each feature built or not built and the journeys on the job page, as text', async () => {
    const production = `${server.url}/sites/eventhub/`;
    const job = await putJob(server, deliveredJob('job_delivered', production));
    await server.pipeline.specFiles!.register({
      user: { id: 'user_shown', email: 'shown@example.com' },
      product: { id: job.productId, name: 'EventHub' },
    });
    for (const viewport of [
      { width: 1280, height: 900 },
      { width: 390, height: 844 },
    ]) {
      const { page, problems } = await open(`/jobs/${job.jobId}`, viewport);
      await page.locator('#delivery-card:not([hidden])').waitFor();
      expect(await page.locator('#delivery-title').textContent()).toBe('What it delivers');
      expect(await page.locator('#delivery-kind').textContent()).toBe(
        'A working app — 1 of 4 key features not built.',
      );
      expect(await page.locator('#delivery-badge').textContent()).toBe('1 feature not built');
      const features = await page
        .locator('#features li')
        .evaluateAll((items) =>
          items.map((li) => [
            li.getAttribute('data-built'),
            li.querySelector('.name')?.textContent,
            li.querySelector('.how')?.textContent,
          ]),
        );
      expect(features).toEqual([
        ['recipe', 'Event page with RSVP', 'Built by recipe rsvp'],
        ['model', 'Speaker bios', 'Built from the app model'],
        ['ai', 'Smart seating', 'Built by AI'],
        ['none', HOSTILE_NAME, 'Not built'],
      ]);
      expect(await page.locator('#journeys-head').textContent()).toBe(
        'Journeys walked in a browser: 1 of 2 passed',
      );
      expect(await page.locator('#journeys li.ok .name').allTextContents()).toEqual(['organiser signs up']);
      const why = (await page.locator('#journeys li.failed .why').textContent())!;
      expect(why).toMatch(/^No "Confirm" button <img src=z onerror=alert\(4\)> x+…$/);
      expect(why.length).toBe(240);
      expect(await page.locator('#site-link').textContent()).toBe('Open the app ↗');
      expect(await page.locator('#site-link').getAttribute('href')).toBe(production);
      expect(await page.locator('main img, main b, main script').count()).toBe(0);
      const overflow = Number(
        await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'),
      );
      expect(overflow).toBeLessThanOrEqual(0);
      const name = viewport.width < 500 ? 'phone' : 'desktop';
      await page.screenshot({ path: join(SHOTS, `dashboard-job-delivery-${name}.png`), fullPage: true });
      if (name === 'desktop') {
        await page.click('a.back');
        expect(await page.locator(`#jobs li[data-job="${job.jobId}"] .note`).textContent()).toBe(
          ' · 1 feature not built',
        );
      }
      expect(problems).toEqual([]);
      await page.close();
    }
  });

  it('shows the AI cost line and each step and round with its USD, tokens and cache share', async () => {
    const job = deliveredJob('job_costed', `${server.url}/sites/costed/`);
    const turn = (costUsd: number, cacheReadTokens: number) => ({
      inputTokens: 1_500,
      cacheWriteTokens: 2_500,
      cacheReadTokens,
      outputTokens: 9_000,
      costUsd,
    });
    job.usage = addUsage(job.usage, 'AI_DEVELOPMENT', { ...turn(0.61, 310_000), seconds: 95 }, 0);
    job.usage = addUsage(job.usage, 'BUILDING', { seconds: 12 }, 0);
    job.usage = addUsage(job.usage, 'AI_DEVELOPMENT', { ...turn(0.23, 96_000), seconds: 40 }, 1);
    const stored = await putJob(server, job);
    for (const viewport of [
      { width: 1280, height: 900 },
      { width: 390, height: 844 },
    ]) {
      const { page, problems } = await open(`/jobs/${stored.jobId}`, viewport);
      await page.locator('#ai-cost:not([hidden])').waitFor();
      // The page's line is the core's line, character for character.
      const line = aiCostLine(stored.usage)!;
      expect(line).toBe(
        'AI cost $0.84 (414k tokens in, cache 98%; 18k out): development $0.61, repair 1 $0.23',
      );
      expect(await page.locator('#ai-cost').textContent()).toBe(line);
      const rows = await page
        .locator('#ai-rounds tbody tr')
        .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
      expect(rows).toEqual([
        ['development', '$0.61', '314k', '99%', '9.0k'],
        ['repair 1', '$0.23', '100k', '96%', '9.0k'],
      ]);
      const usage = await page
        .locator('#usage')
        .evaluate((dl) =>
          [...dl.querySelectorAll('dt')].map((dt) => [dt.textContent, dt.nextElementSibling?.textContent]),
        );
      expect(usage).toContainEqual(['Cost so far', '$0.84']);
      expect(usage).toContainEqual(['Read from cache', '98%']);
      const overflow = Number(
        await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'),
      );
      expect(overflow).toBeLessThanOrEqual(0);
      const name = viewport.width < 500 ? 'phone' : 'desktop';
      await page.screenshot({ path: join(SHOTS, `dashboard-ai-cost-${name}.png`), fullPage: true });
      expect(problems).toEqual([]);
      await page.close();
    }
  });

  it('updates the AI cost while the page is open, as a repair round spends', async () => {
    const running = sampleJob({ jobId: 'job_spending', userId: 'user_shown' });
    const created = (await server.deps.ports.store.create({ job: running })).job;
    const { page, problems } = await open(`/jobs/${created.jobId}`);
    await page.locator('#conn', { hasText: 'Live updates' }).waitFor();
    expect(await page.locator('#ai-cost').isHidden()).toBe(true);
    const spend = { inputTokens: 2_000, cacheReadTokens: 18_000, outputTokens: 1_000, costUsd: 0.05 };
    let usage = addUsage(created.usage, 'AI_DEVELOPMENT', spend, 0);
    const first = await server.deps.ports.store.update({
      jobId: created.jobId,
      expectedVersion: created.version,
      patch: { set: { usage } },
    });
    await page.locator('#ai-cost', { hasText: 'development $0.05' }).waitFor();
    usage = addUsage(usage, 'AI_DEVELOPMENT', spend, 1);
    await server.deps.ports.store.update({
      jobId: created.jobId,
      expectedVersion: first.job.version,
      patch: { set: { usage, repairRounds: 1 } },
    });
    await page.locator('#ai-cost', { hasText: 'repair 1' }).waitFor();
    expect(await page.locator('#ai-cost').textContent()).toBe(aiCostLine(usage));
    expect(await page.locator('#ai-rounds tbody tr').count()).toBe(2);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows no AI cost for a job that used none, and one row per step for an older record', async () => {
    const none = await putJob(server, deliveredJob('job_no_ai', `${server.url}/sites/none/`));
    const first = await open(`/jobs/${none.jobId}`);
    await first.page.locator('#delivery-card:not([hidden])').waitFor();
    expect(await first.page.locator('#ai-cost').isHidden()).toBe(true);
    expect(await first.page.locator('#ai-rounds').isHidden()).toBe(true);
    expect(first.problems).toEqual([]);
    await first.page.close();

    const old = deliveredJob('job_old_usage', `${server.url}/sites/old/`);
    old.usage = addUsage(old.usage, 'AI_DEVELOPMENT', {
      inputTokens: 40,
      cacheReadTokens: 60,
      outputTokens: 5,
      costUsd: 0.004,
    });
    delete old.usage.byRound;
    const stored = await putJob(server, old);
    const second = await open(`/jobs/${stored.jobId}`);
    await second.page.locator('#ai-cost:not([hidden])').waitFor();
    expect(await second.page.locator('#ai-cost').textContent()).toBe(aiCostLine(stored.usage));
    expect(await second.page.locator('#ai-rounds tbody tr').count()).toBe(1);
    expect(second.problems).toEqual([]);
    await second.page.close();
  });

  it('says landing page only, and shows a delivery that arrives while the page is open', async () => {
    const running = sampleJob({ jobId: 'job_arriving', userId: 'user_shown' });
    const created = (await server.deps.ports.store.create({ job: running })).job;
    const { page, problems } = await open(`/jobs/${created.jobId}`);
    await page.locator('#conn', { hasText: 'Live updates' }).waitFor();
    expect(await page.locator('#delivery-card').isHidden()).toBe(true);
    await server.deps.ports.store.update({
      jobId: created.jobId,
      expectedVersion: created.version,
      patch: {
        set: {
          checkpoints: {
            AI_DEVELOPMENT: {
              commit: 'c1',
              generator: 'template',
              summary: 'landing',
              filesChanged: 3,
              delivery: { kind: 'landing-page-only', features: [{ feature: 'Waitlist', builtBy: null }] },
            },
          },
        },
      },
    });
    await page.locator('#delivery-card:not([hidden])').waitFor();
    // Still queued: what it is building, not yet what it delivers.
    expect(await page.locator('#delivery-title').textContent()).toBe('What it is building');
    expect(await page.locator('#delivery-kind strong').textContent()).toBe('A landing page only');
    expect(await page.locator('#delivery-badge').textContent()).toBe('Landing page only');
    expect(await page.locator('#features li .how').allTextContents()).toEqual(['Not built']);
    expect(await page.locator('#journeys-block').isHidden()).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });
});
