// App jobs end to end through the CLI, as `npm run demo` runs them: EventHub (features by
// recipe), the yoga studio (its spec asks for Next.js), and a spec with its own
// `specifications.app`. Each must end COMPLETED with every journey passed in Chromium; the
// deployed app keeps its data when `mvp serve` restarts it. A bad app model exits 2 with
// nothing created. Slow (installs and Next.js builds): in CI, and locally with MVP_SLOW_TESTS=1.
// Databases: TEST_DATABASE_URL's server when set, else the embedded choice of this machine.
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findChromium, runHttpJourneys } from '@mvp-pipeline/adapters-local';
import { deliveryOf, type Job, parseAppModel } from '@mvp-pipeline/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, removeDir, runCli, SECRET_NEEDLES, tempDir } from './harness.js';

const enabled = Boolean(process.env['CI'] || process.env['MVP_SLOW_TESTS']);
if (!enabled)
  console.warn(
    '\n!!! app jobs end-to-end test SKIPPED (slow): set MVP_SLOW_TESTS=1 to run it; CI runs it.\n',
  );

/** One dependency cache for every app job of the suite: the first job installs, the rest link. */
const CACHE_DIR = join(tmpdir(), 'mvp-test-cache');

describe.runIf(enabled)('app jobs through the CLI', () => {
  let dataDir: string;
  let env: Record<string, string>;
  const jobs = new Map<string, Job>();
  const stdout = new Map<string, string>();

  const run = async (name: string, spec: string) => {
    const result = await runCli(['run', '--spec', spec, '--json'], { env });
    if (result.code !== 0)
      throw new Error(
        `mvp run ${name} exited ${result.code}:\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`,
      );
    const job = JSON.parse(result.stdout) as Job;
    jobs.set(name, job);
    // With --json the owner link goes to stderr (stdout is the record alone).
    stdout.set(name, result.stderr);
    return job;
  };

  beforeAll(async () => {
    dataDir = await tempDir('mvp-app-jobs-');
    env = {
      MVP_DATA_DIR: dataDir,
      MVP_CACHE_DIR: CACHE_DIR,
      MVP_TEMPLATE: 'app',
      MVP_NOTIFIER: 'jsonl',
      MVP_BROWSER_CHECK: 'auto',
      // Ports of this suite's own: other suites host apps at the same time.
      MVP_APP_PORTS: '4620-4639',
      ...(process.env['TEST_DATABASE_URL']
        ? { MVP_DATABASE_PROVISIONER: 'server', MVP_APPS_DATABASE_URL: process.env['TEST_DATABASE_URL'] }
        : {}),
    };
    const explicit = JSON.parse(await readFile(join(REPO_ROOT, 'examples/tool-library.json'), 'utf8'));
    expect(explicit.specifications.app).toBeDefined();
  }, 60_000);

  afterAll(async () => {
    if (dataDir) await removeDir(dataDir);
  }, 60_000);

  it.each([
    ['eventhub', 'examples/eventhub.json'],
    ['yoga', 'examples/yoga-studio.json'],
    ['explicit', 'examples/tool-library.json'],
  ])(
    'builds %s as a working app whose journeys pass in Chromium',
    async (name, spec) => {
      const job = await run(name, join(REPO_ROOT, spec));
      expect(job.status).toBe('COMPLETED');
      const delivery = deliveryOf(job);
      expect(delivery?.kind).toBe('app');
      expect(delivery?.features.length).toBeGreaterThan(0);
      const journeys = job.checkpoints.BUILDING?.journeys;
      expect(journeys?.mode).toBe(findChromium() ? 'browser' : 'http');
      expect(journeys?.results.filter((r) => !r.ok)).toEqual([]);
      expect(journeys?.results.map((r) => r.name)).toEqual(
        expect.arrayContaining(['home', 'sign-up', 'sign-in']),
      );
      expect(job.checkpoints.BUILDING?.checks).toEqual(['install', 'generate', 'build', 'migrate', 'test']);
      expect(job.urls.production).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      // The owner link goes to the person at the terminal only.
      expect(stdout.get(name)).toMatch(
        /Become the app's owner \(admin\): open http:\/\/127\.0\.0\.1:\d+\/claim\//,
      );
    },
    600_000,
  );

  it('records per feature what built it, and what nothing built', () => {
    const eventhub = deliveryOf(jobs.get('eventhub')!);
    expect(eventhub?.features.map((f) => [f.feature, f.builtBy])).toEqual([
      ['Event page with RSVP', 'recipe'],
      ['Waitlist when full', 'recipe'],
      ['Door check-in on mobile', 'recipe'],
      ['CSV export of attendees', 'recipe'],
    ]);
    const yoga = deliveryOf(jobs.get('yoga')!);
    // Money changing hands is never faked as plain records.
    expect(yoga?.features.find((f) => f.feature === 'Class pass with 10 credits')?.builtBy).toBeNull();
    expect(deliveryOf(jobs.get('explicit')!)?.features.some((f) => f.builtBy === 'model')).toBe(true);
  });

  it('keeps secrets out of records and logs; the owner link goes only to the founder', async () => {
    const leaks: string[] = [];
    const scan = (where: string, text: string, claimAllowed: boolean) => {
      if (/postgres(ql)?:\/\/[^\s"]*:[^\s"@]+@/.test(text))
        leaks.push(`${where}: a database URL with a password`);
      if (!claimAllowed && /\/claim\/[A-Za-z0-9_-]{20,}/.test(text))
        leaks.push(`${where}: an owner claim link`);
      for (const needle of SECRET_NEEDLES) if (text.includes(needle)) leaks.push(`${where}: ${needle}`);
    };
    for (const file of await readdir(join(dataDir, 'jobs'))) {
      if (file.endsWith('.json') || file.endsWith('.jsonl'))
        scan(`jobs/${file}`, await readFile(join(dataDir, 'jobs', file), 'utf8'), false);
    }
    const notices = (await readFile(join(dataDir, 'notifications.jsonl'), 'utf8')).trim().split('\n');
    for (const line of notices) scan('notifications.jsonl', line, true);
    expect(leaks).toEqual([]);
    // The end notification is the founder's channel: it carries their owner link.
    const completed = notices
      .map((l) => JSON.parse(l) as { status?: string })
      .filter((n) => n.status === 'COMPLETED');
    expect(completed).toHaveLength(3);
    expect(JSON.stringify(completed)).toMatch(/"ownerClaimUrl":"http:\/\/127\.0\.0\.1:\d+\/claim\//);
  });

  it('serves the deployed app from `mvp serve`, and its data outlives a restart', async () => {
    const job = jobs.get('eventhub')!;
    const base = job.urls.production!.replace(/\/$/, '');
    const claimLine = /open (http:\/\/\S+\/claim\/\S+)/.exec(stdout.get('eventhub') ?? '')?.[1];
    expect(claimLine).toBeDefined();
    let serve = await startServe(env);
    try {
      const model = parseAppModel(JSON.parse(await readFile(await modelFile(dataDir), 'utf8')));
      const report = await runHttpJourneys({ baseUrl: base, model: model as never, claimUrl: claimLine! });
      expect(report.results.filter((r) => !r.ok)).toEqual([]);
      const before = (await (await fetch(`${base}/api/events`)).json()) as { items: Array<{ id: string }> };
      expect(before.items.length).toBeGreaterThan(0);
      await serve.stop();
      serve = await startServe(env);
      const after = (await (await fetch(`${base}/api/events`)).json()) as { items: Array<{ id: string }> };
      expect(after.items.map((i) => i.id)).toEqual(before.items.map((i) => i.id));
    } finally {
      await serve.stop();
    }
  }, 300_000);

  it('refuses a spec whose app model is bad, naming each problem, creating nothing', async () => {
    const bad = JSON.parse(await readFile(join(REPO_ROOT, 'examples/tool-library.json'), 'utf8'));
    bad.product.id = 'product_bad_model';
    bad.specifications.app.entities[0].name = 'user';
    bad.specifications.app.entities[0].fields[0].type = 'colour';
    const file = join(dataDir, 'bad-model.json');
    await writeFile(file, JSON.stringify(bad));
    const before = await readdir(join(dataDir, 'jobs'));
    const result = await runCli(['run', '--spec', file], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/entities\[0\]\.name/);
    expect(result.stderr).toMatch(/entities\[0\]\.fields\[0\]\.type/);
    expect(await readdir(join(dataDir, 'jobs'))).toEqual(before);
  }, 60_000);
});

describe.runIf(enabled)('an app job killed mid-install and mid-build', () => {
  it.each([
    ['install', /Dependencies of lockfile \S+ are not on this machine yet/],
    ['build', /build: node scripts\/next\.mjs build/],
  ])(
    'resumes after a SIGKILL during %s and finishes, with one repo, one deployment, one notice',
    async (what, line) => {
      const dataDir = await tempDir(`mvp-app-kill-${what}-`);
      try {
        const env = {
          MVP_DATA_DIR: dataDir,
          // The install case starts from an empty cache: the kill lands in the first install.
          MVP_CACHE_DIR: what === 'install' ? join(dataDir, 'cache') : CACHE_DIR,
          MVP_TEMPLATE: 'app',
          MVP_NOTIFIER: 'jsonl',
          MVP_BROWSER_CHECK: 'off',
          MVP_LEASE_TTL_MS: '3000',
          MVP_APP_PORTS: what === 'install' ? '4640-4649' : '4650-4659',
          ...(process.env['TEST_DATABASE_URL']
            ? { MVP_DATABASE_PROVISIONER: 'server', MVP_APPS_DATABASE_URL: process.env['TEST_DATABASE_URL'] }
            : {}),
        };
        const child = spawn(
          process.execPath,
          [
            join(REPO_ROOT, 'packages/runner-batch/dist/cli.js'),
            'run',
            '--spec',
            join(REPO_ROOT, 'examples/eventhub.json'),
          ],
          {
            env: { ...process.env, ...env },
            stdio: 'ignore',
          },
        );
        let jobId: string | undefined;
        for (let i = 0; i < 1200; i++) {
          await new Promise((r) => setTimeout(r, 100));
          const files = (await readdir(join(dataDir, 'jobs')).catch(() => [])).filter((f) =>
            /^job_[^.]+\.json$/.test(f),
          );
          if (!files[0]) continue;
          const job = JSON.parse(
            await readFile(join(dataDir, 'jobs', files[0]), 'utf8').catch(() => '{}'),
          ) as Job;
          const history = await readFile(
            join(dataDir, 'jobs', files[0].replace('.json', '.history.jsonl')),
            'utf8',
          ).catch(() => '');
          if (line.test(history) || job.executionLogs?.some((l) => line.test(l.message))) {
            jobId = job.jobId;
            break;
          }
        }
        expect(jobId, `the run never reached its ${what}`).toBeDefined();
        child.kill('SIGKILL');
        await new Promise((r) => child.once('close', r));
        await new Promise((r) => setTimeout(r, 3500)); // the dead runner's lease runs out
        const worker = await runCli(['worker', '--once'], { env });
        expect(worker.code, worker.stderr.slice(-3000)).toBe(0);
        const status = await runCli(['status', jobId!, '--json'], { env });
        const final = JSON.parse(status.stdout) as Job;
        expect(final.status).toBe('COMPLETED');
        expect(final.attempt).toBe(2);
        expect(await readdir(join(dataDir, 'repos'))).toEqual(['eventhub-mvp.git']);
        const apps = (await readdir(join(dataDir, 'apps'))).filter((d) => d.startsWith('app_'));
        expect(apps).toHaveLength(1);
        const notices = (await readFile(join(dataDir, 'notifications.jsonl'), 'utf8')).trim().split('\n');
        expect(notices).toHaveLength(1);
      } finally {
        await removeDir(dataDir);
      }
    },
    600_000,
  );
});

/** The app model the EventHub job committed, from its published app. */
async function modelFile(dataDir: string): Promise<string> {
  const apps = join(dataDir, 'apps');
  for (const entry of await readdir(apps, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const file = join(apps, entry.name, 'app.model.json');
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text.includes('"rsvp"')) return file;
  }
  throw new Error(`no published EventHub app under ${apps}`);
}

async function startServe(env: Record<string, string>): Promise<{ stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, 'packages/runner-batch/dist/cli.js'), 'serve', '--port', '0'],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  for (let i = 0; i < 300 && !/Dashboard\s+http/.test(out); i++) {
    if (child.exitCode !== null) throw new Error(`mvp serve exited:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!/Dashboard\s+http/.test(out)) throw new Error(`mvp serve did not start:\n${out}`);
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}
