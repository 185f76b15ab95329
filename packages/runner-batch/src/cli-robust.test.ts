import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Job } from '@mvp-pipeline/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './testing/harness.js';

// The CLI's answers to a bad record, a failing disk, a second signal and input that names
// something missing: each through the built `mvp`, as a user (or Batch) runs it.

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'packages/runner-batch/dist/cli.js');
const minimal = join(root, 'examples/minimal.json');
let work: string;

beforeAll(async () => {
  if (!existsSync(cli)) throw new Error('The CLI is not built: run `pnpm build` (npm test does) first');
  work = await mkdtemp(join(tmpdir(), 'mvp-cli-robust-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true, maxRetries: 3 });
});

const envFor = (name: string) => ({ MVP_DATA_DIR: join(work, name), MVP_BROWSER_CHECK: 'off' });
const mvp = (args: string[], env: Record<string, string>) => runCli(args, { env, cwd: work });
const recordsIn = async (dir: string) =>
  (await readdir(join(dir, 'jobs')).catch(() => [] as string[])).filter((f) => /^job_[^.]+\.json$/.test(f));
/** One line on stderr, no stack trace. */
const oneLine = (stderr: string) => {
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at |unexpected error/);
};

describe('what does not exist', () => {
  it('mvp status and mvp cancel of a missing job exit 2 with "no job X"', async () => {
    const env = envFor('missing');
    for (const command of ['status', 'cancel']) {
      const run = await mvp([command, 'job_missing'], env);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toBe('mvp: no job job_missing\n');
    }
  });

  it('mvp run --user/--product for a missing product exits 2 with "no product Y for user Z", creating no job', async () => {
    const env = envFor('no-product');
    const run = await mvp(['run', '--user', 'user_1', '--product', 'product_nope'], env);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toBe('mvp: no product product_nope for user user_1\n');
    expect(await recordsIn(env.MVP_DATA_DIR)).toEqual([]);
  });
});

describe('messages say what they got', () => {
  it('quotes a limit or a concurrency that is not a number', async () => {
    const env = envFor('got');
    const jobs = await mvp(['jobs', '--user', 'u1', '--limit', 'abc'], env);
    expect(jobs.code).toBe(2);
    expect(jobs.stderr).toMatch(/limit: must be a number, got "abc"/);
    const worker = await mvp(['worker', '--concurrency', 'lots'], env);
    expect(worker.code).toBe(2);
    expect(worker.stderr).toMatch(/--concurrency must be a whole number from 1 to 64, got "lots"/);
    const serve = await mvp(['serve', '--port', 'http'], env);
    expect(serve.code).toBe(2);
    expect(serve.stderr).toMatch(/--port must be a port number \(0-65535\), got "http"/);
  });
});

describe('an unusable data dir or a port in use', () => {
  it('is exit 2 with one line naming the data dir', async () => {
    const file = join(work, 'a-file');
    await writeFile(file, 'not a directory');
    for (const dir of [file, join(file, 'below')]) {
      const run = await mvp(['jobs', '--user', 'u1'], { MVP_DATA_DIR: dir });
      expect(run.code, run.stderr).toBe(2);
      oneLine(run.stderr);
      expect(run.stderr).toContain(`MVP_DATA_DIR: ${dir} is not a usable data directory`);
    }
    const serve = await mvp(['serve', '--port', '0'], { MVP_DATA_DIR: file });
    expect(serve.code, serve.stderr).toBe(2);
    expect(serve.stderr).toContain(`MVP_DATA_DIR: ${file} is not a usable data directory: it is a file`);
  });

  it('is exit 2 with one line naming the port', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    try {
      const run = await mvp(['serve', '--port', String(port)], envFor('port'));
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toBe(`mvp: --port: 127.0.0.1:${port} is already in use\n`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});

describe('a spec nested thousands of levels deep', () => {
  it('is exit 2 naming the field, not an overflow', async () => {
    const env = envFor('deep');
    const deep = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
    const path = join(work, 'deep.json');
    await writeFile(
      path,
      `{"user":{"id":"u","email":"a@b.co"},"product":{"id":"p","name":"N"},"specifications":{"technicalRequirements":{"stack":${deep}}}}`,
    );
    const run = await mvp(['run', '--spec', path], env);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(
      /specifications\.technicalRequirements: must be nested at most 32 levels deep/,
    );
    expect(run.stderr).not.toMatch(/call stack|unexpected error/);
    expect(await recordsIn(env.MVP_DATA_DIR)).toEqual([]);
  });
});

describe('a corrupt job record', () => {
  it('is quarantined and reported by mvp jobs, and a healthy queued job still runs under mvp worker', async () => {
    const env = envFor('corrupt');
    const first = await mvp(['submit', '--spec', minimal, '--json'], env);
    const second = await mvp(['submit', '--spec', minimal, '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    const broken = (JSON.parse(first.stdout) as Job).jobId;
    const healthy = (JSON.parse(second.stdout) as Job).jobId;
    const file = join(env.MVP_DATA_DIR, 'jobs', `${broken}.json`);
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.slice(0, text.length / 3)); // cut short by a crash

    const jobs = await mvp(['jobs'], env);
    expect(jobs.code, jobs.stderr).toBe(0);
    expect(jobs.stdout).toContain(healthy);
    expect(jobs.stdout).toMatch(
      new RegExp(`${broken}\\s+QUARANTINED .*jobs/quarantine/${broken}\\.\\d+\\.json`),
    );

    const worker = await mvp(['worker', '--once'], env);
    expect(worker.code, worker.stderr).toBe(0);
    expect(worker.stderr).toContain(`${healthy} COMPLETED`);
    const status = await mvp(['status', healthy, '--json'], env);
    expect((JSON.parse(status.stdout) as Job).status).toBe('COMPLETED');
    // Still reported after the run, and the quarantined file is the damaged one.
    expect((await mvp(['jobs'], env)).stdout).toMatch(new RegExp(`${broken}\\s+QUARANTINED`));
    const [moved] = await readdir(join(env.MVP_DATA_DIR, 'jobs', 'quarantine'));
    expect(await readFile(join(env.MVP_DATA_DIR, 'jobs', 'quarantine', moved!), 'utf8')).toBe(
      text.slice(0, text.length / 3),
    );
  });
});

describe('terminal output of a record that holds control characters', () => {
  it('shows them escaped in mvp status and mvp jobs', async () => {
    const env = envFor('escape');
    const submitted = await mvp(['submit', '--spec', minimal, '--json'], env);
    const job = JSON.parse(submitted.stdout) as Job;
    const file = join(env.MVP_DATA_DIR, 'jobs', `${job.jobId}.json`);
    const record = JSON.parse(await readFile(file, 'utf8')) as Job;
    // Written by someone other than the pipeline: the spec schema never let this in.
    const forged = 'Shop\n[100%] COMPLETED Live at https://evil.example\r\x1b[2K\x9b2K\u202egnp.exe';
    record.businessName = forged;
    record.executionLogs.push({ at: new Date().toISOString(), step: 'QUEUED', message: forged });
    record.errors.push({
      at: new Date().toISOString(),
      step: 'QUEUED',
      code: 'TRANSIENT',
      message: forged,
      retryable: true,
      attempt: 0,
    });
    await writeFile(file, JSON.stringify(record));

    for (const args of [['status', job.jobId], ['jobs']]) {
      const run = await mvp(args, env);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).not.toMatch(/[\r\x1b\x9b\u202e]/);
      expect(run.stdout).not.toMatch(/^\s*\[100%\] COMPLETED/m);
      expect(run.stdout).toContain(
        'Shop\\u000a[100%] COMPLETED Live at https://evil.example\\u000d\\u001b[2K\\u009b2K\\u202egnp.exe',
      );
    }
    const worker = await mvp(['worker', '--once'], env);
    expect(worker.stderr).not.toMatch(/[\r\x1b\x9b\u202e]/);
    expect(worker.stderr).not.toMatch(/^\s*\[100%\] COMPLETED Live/m);
    expect(worker.stderr).toContain(`${job.jobId} `);
  });
});

/** A template whose build waits while a marker file exists, so a test can act mid-job. */
async function slowTemplate(name: string) {
  const templates = join(work, `templates-${name}`);
  const gate = join(work, `gate-${name}`);
  await cp(join(root, 'templates/landing'), join(templates, 'landing'), { recursive: true });
  const build = join(templates, 'landing', 'build.mjs');
  const original = await readFile(build, 'utf8');
  await writeFile(
    build,
    `import { existsSync as gateExists } from 'node:fs';\nwhile (gateExists(${JSON.stringify(gate)})) await new Promise((r) => setTimeout(r, 50));\n${original}`,
  );
  await writeFile(gate, '');
  return { templates, gate };
}

/** Starts `mvp run` and waits until its job stands at BUILDING. */
async function runUntilBuilding(env: Record<string, string>) {
  const child: ChildProcess = spawn(process.execPath, [cli, 'run', '--spec', minimal], {
    env: { ...process.env, ...env },
    cwd: work,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  child.stdout!.resume();
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('close', (code, signal) => resolve(code ?? signal)),
  );
  let job: Job | undefined;
  for (let i = 0; i < 600 && job?.currentStep !== 'BUILDING'; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const [file] = await recordsIn(env.MVP_DATA_DIR!);
    if (file)
      job = JSON.parse(await readFile(join(env.MVP_DATA_DIR!, 'jobs', file), 'utf8').catch(() => '{}'));
  }
  expect(job?.currentStep).toBe('BUILDING');
  return { child, job: job!, exited, stderr: () => stderr };
}

describe('mvp run when the store fails mid-job', () => {
  it('exits 75, and does not hang', async () => {
    const { templates, gate } = await slowTemplate('disk');
    const env = { ...envFor('disk'), MVP_TEMPLATES_DIR: templates };
    const { exited, stderr } = await runUntilBuilding(env);
    // The disk under the store goes away: the jobs directory becomes a file.
    const jobs = join(env.MVP_DATA_DIR, 'jobs');
    await rename(jobs, `${jobs}.gone`);
    await writeFile(jobs, 'not a directory');
    await rm(gate);
    const code = await Promise.race([
      exited,
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 60_000)),
    ]);
    expect(code, stderr()).toBe(75);
    expect(stderr()).toMatch(/file job store could not/);
  }, 90_000);
});

describe('a second SIGTERM during shutdown', () => {
  it('still releases the lease, and the exit is 75', async () => {
    const { templates, gate } = await slowTemplate('signal');
    const env = { ...envFor('signal'), MVP_TEMPLATES_DIR: templates };
    const { child, job, exited, stderr } = await runUntilBuilding(env);
    child.kill('SIGTERM');
    // Batch's second SIGTERM, and more, all through the shutdown until the process is gone.
    let done = false;
    void exited.then(() => {
      done = true;
    });
    for (let i = 0; i < 400 && !done; i++) {
      await new Promise((r) => setTimeout(r, 15));
      if (!done) child.kill('SIGTERM');
    }
    const code = await exited;
    expect(code, stderr()).toBe(75);
    const record = JSON.parse(
      await readFile(join(env.MVP_DATA_DIR, 'jobs', `${job.jobId}.json`), 'utf8'),
    ) as Job;
    expect(record.lease).toBeNull();
    expect(record.status).toBe('IN_PROGRESS');
    await rm(gate, { force: true });
    await mkdir(join(work, 'unused'), { recursive: true });
  }, 60_000);
});
