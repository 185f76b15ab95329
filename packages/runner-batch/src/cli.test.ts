import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Job } from '@mvp-pipeline/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './testing/harness.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'packages/runner-batch/dist/cli.js');
let work: string;

beforeAll(async () => {
  if (!existsSync(cli)) throw new Error('The CLI is not built: run `pnpm build` (npm test does) first');
  work = await mkdtemp(join(tmpdir(), 'mvp-cli-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const mvp = (args: string[], env: Record<string, string> = {}) => runCli(args, { env, cwd: work });

const git = (args: string[], cwd?: string) => {
  const result = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
};

async function dataDir(name: string) {
  const dir = join(work, name);
  return { dir, env: { MVP_DATA_DIR: dir } };
}

async function sitePage(url: string): Promise<string> {
  expect(url).toMatch(/^file:\/\//);
  return readFile(fileURLToPath(url), 'utf8');
}

describe('mvp run, end to end on the embedded defaults', () => {
  it.each(['eventhub.json', 'greenleaf.json', 'minimal.json'])(
    'builds %s into a repo and a site',
    async (file) => {
      const { dir, env } = await dataDir(`run-${file}`);
      const specPath = join(root, 'examples', file);
      const spec = JSON.parse(await readFile(specPath, 'utf8'));
      const run = await mvp(['run', '--spec', specPath, '--json'], env);
      expect(run.stderr).toMatch(/DEPLOYING/);
      expect(run.code, run.stderr).toBe(0);
      const job = JSON.parse(run.stdout) as Job;
      expect(job).toMatchObject({ status: 'COMPLETED', currentStep: 'COMPLETED', progress: 100 });

      // The record on disk is the one printed.
      const record = JSON.parse(await readFile(join(dir, 'jobs', `${job.jobId}.json`), 'utf8'));
      expect(record.version).toBe(job.version);

      // The site names the product and has a section per feature, at both URLs.
      for (const url of [job.urls.production!, job.urls.staging!]) {
        const page = await sitePage(url);
        expect(page).toContain(spec.product.name);
        for (const feature of spec.specifications?.keyFeatures ?? []) expect(page).toContain(feature);
      }

      // The repo passes git fsck and holds the template commit and the generated commit.
      const clone = join(work, `clone-${file}`);
      git(['clone', '-q', fileURLToPath(job.urls.codeRepository!), clone]);
      git(['fsck', '--full', '--strict'], clone);
      const subjects = git(['log', '--format=%s'], clone).trim().split('\n');
      expect(subjects).toHaveLength(2);
      expect(subjects[1]).toMatch(/template/);
      expect(await readFile(join(clone, 'MVP_SPECS.md'), 'utf8')).toContain(spec.product.name);
    },
  );

  it('shows hostile spec text as text and runs none of it', async () => {
    const { env } = await dataDir('hostile');
    const marker = join(work, 'pwned');
    const hostile = {
      user: { id: 'user_evil', email: 'evil@example.com', name: `Eve "><img src=x onerror=alert(1)>` },
      product: {
        id: 'product_evil',
        name: `<script>alert("x")</script> $(touch ${marker})`,
        tagline: `'; touch ${marker}; echo '`,
        description: '`touch /tmp/pwned` <iframe src="javascript:alert(1)"></iframe> &amp; "quotes"',
      },
      specifications: { keyFeatures: ['<b>bold</b> feature', `$(touch ${marker})`, '{{constructor}}'] },
    };
    const specPath = join(work, 'hostile.json');
    await writeFile(specPath, JSON.stringify(hostile));
    const run = await mvp(['run', '--spec', specPath, '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    const job = JSON.parse(run.stdout) as Job;
    const page = await sitePage(job.urls.production!);
    expect(page).not.toMatch(/<script>alert/);
    expect(page).not.toMatch(/<img src=x/);
    expect(page).not.toMatch(/<iframe/);
    expect(page).not.toMatch(/<b>bold<\/b>/);
    expect(page).toContain('&lt;script&gt;alert(');
    expect(existsSync(marker)).toBe(false);
  });
});

describe('mvp run with bad input', () => {
  const cases: Array<[string, string, RegExp]> = [
    [
      'missing name',
      JSON.stringify({ user: { id: 'u', email: 'a@b.co' }, product: { id: 'p' } }),
      /product\.name: is required/,
    ],
    [
      'wrong types',
      JSON.stringify({
        user: { id: 'u', email: 'a@b.co' },
        product: { id: 'p', name: 5 },
        specifications: { keyFeatures: 'x' },
      }),
      /product\.name: must be a string, got a number.*specifications\.keyFeatures: must be an array/s,
    ],
    [
      'bad email',
      JSON.stringify({ user: { id: 'u', email: 'nope' }, product: { id: 'p', name: 'N' } }),
      /user\.email: must be an email address/,
    ],
    ['broken JSON', '{"user": {', /is not valid JSON/],
  ];

  it.each(cases)(
    'rejects a spec with %s: exit 2, a field-named message, nothing created',
    async (name, text, message) => {
      const { dir, env } = await dataDir(`bad-${name.replace(/\W/g, '')}`);
      const specPath = join(work, `bad-${name.replace(/\W/g, '')}.json`);
      await writeFile(specPath, text);
      const run = await mvp(['run', '--spec', specPath], env);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(existsSync(join(dir, 'jobs'))).toBe(false);
      expect(existsSync(join(dir, 'repos'))).toBe(false);
    },
  );

  it('rejects unknown options and a missing file with exit 2', async () => {
    expect((await mvp(['run', '--spec'])).code).toBe(2);
    expect((await mvp(['run', '--nope'])).code).toBe(2);
    const missing = await mvp(['run', '--spec', join(work, 'missing.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no such file/);
    expect((await mvp(['frobnicate'])).stderr).toMatch(/unknown command/);
  });

  it('names a malformed configuration variable without echoing its value', async () => {
    const run = await mvp(['jobs'], {
      MVP_JOB_STORE: 'oracle',
      MVP_LEASE_TTL_MS: 'soon',
      GITHUB_API_URL: 'not a url:secret',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/MVP_JOB_STORE: must be one of file, memory, dynamodb/);
    expect(run.stderr).toMatch(/MVP_LEASE_TTL_MS: must be a whole number/);
    expect(run.stderr).toMatch(/GITHUB_API_URL: must be an http\(s\) URL/);
    expect(run.stderr).not.toContain('secret');
  });
});

describe('a job whose CLI was killed', () => {
  it('is finished by `mvp worker --once` with one repo and one deployment', async () => {
    const { dir, env } = await dataDir('killed');
    // A template whose build waits while a marker file exists, so the kill lands mid-job.
    const templates = join(work, 'templates');
    const gate = join(work, 'slow-build');
    await cp(join(root, 'templates/landing'), join(templates, 'landing'), { recursive: true });
    const build = join(templates, 'landing', 'build.mjs');
    const original = await readFile(build, 'utf8');
    await writeFile(
      build,
      `import { existsSync as gateExists } from 'node:fs';\nwhile (gateExists(${JSON.stringify(gate)})) await new Promise((r) => setTimeout(r, 100));\n${original}`,
    );
    await writeFile(gate, '');
    const slowEnv = { ...env, MVP_TEMPLATES_DIR: templates, MVP_LEASE_TTL_MS: '1500' };

    const child: ChildProcess = spawn(
      process.execPath,
      [cli, 'run', '--spec', join(root, 'examples/eventhub.json')],
      {
        env: { ...process.env, ...slowEnv },
        cwd: work,
        stdio: 'ignore',
      },
    );
    let job: Job | undefined;
    for (let i = 0; i < 600 && job?.currentStep !== 'BUILDING'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const files = (await readdir(join(dir, 'jobs')).catch(() => [])).filter((f) =>
        /^job_[^.]+\.json$/.test(f),
      );
      if (files[0]) job = JSON.parse(await readFile(join(dir, 'jobs', files[0]), 'utf8'));
    }
    expect(job?.currentStep).toBe('BUILDING');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    await rm(gate);
    await new Promise((r) => setTimeout(r, 1600)); // the dead runner's lease runs out

    const worker = await mvp(['worker', '--once'], slowEnv);
    expect(worker.code, worker.stderr).toBe(0);
    expect(worker.stderr).toMatch(/COMPLETED/);
    const status = await mvp(['status', job!.jobId, '--json'], slowEnv);
    const final = JSON.parse(status.stdout) as Job;
    expect(final).toMatchObject({ status: 'COMPLETED', attempt: 2, lease: null });
    expect(await readdir(join(dir, 'repos'))).toEqual(['eventhub-mvp.git']);
    const deployments = (await readdir(join(dir, 'sites'))).filter((d) => d.startsWith('dpl_'));
    expect(deployments).toHaveLength(1);
    const notifications = (await readFile(join(dir, 'notifications.jsonl'), 'utf8')).trim().split('\n');
    expect(notifications).toHaveLength(1);
  });
});

describe('mvp status and jobs', () => {
  it('shows a job and lists jobs', async () => {
    const { env } = await dataDir('listing');
    const run = await mvp(['run', '--spec', join(root, 'examples/minimal.json'), '--json'], env);
    const job = JSON.parse(run.stdout) as Job;
    const status = await mvp(['status', job.jobId], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/Solo COMPLETED/);
    expect(status.stdout).toMatch(/✓ Deploying/);
    const jobs = await mvp(['jobs'], env);
    expect(jobs.stdout).toContain(job.jobId);
    // No job exists: bad input (exit 2), not a failed job (exit 1).
    const unknown = await mvp(['status', 'job_missing'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no job job_missing/);
  });
});
