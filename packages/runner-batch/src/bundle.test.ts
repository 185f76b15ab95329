import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestDatabase } from '@mvp-pipeline/adapters-postgres/testing';
import type { Job } from '@mvp-pipeline/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from './exit-codes.js';
import {
  assembleImage,
  DUMMY_CREDENTIALS,
  gatedTemplates,
  type ImageSpec,
  jsonLogLines,
  type LocalDynamo,
  PACKAGE_DIR,
  parseDockerfile,
  REGION,
  REPO_ROOT,
  startDynamo,
  startProcess,
  waitFor,
} from './testing/bundle-harness.js';

// The job definition's command (infra), with Batch's parameter placeholder.
const JOB_DEFINITION_COMMAND = ['node', 'runner.js', 'run-batch-job', 'Ref::jobId'];

let work: string;
let bundleDir: string;
let appDir: string;
let image: ImageSpec;
let dynamo: LocalDynamo;

beforeAll(async () => {
  if (!existsSync(join(PACKAGE_DIR, 'dist/bundle-entry.js'))) {
    throw new Error('The runner is not built: run `pnpm build` (npm test does) first');
  }
  work = await mkdtemp(join(tmpdir(), 'mvp-bundle-'));
  bundleDir = join(work, 'bundle');
  // The build:bundle script, into a folder of this test's own (dist/bundle is left alone).
  const built = spawnSync(
    process.execPath,
    [join(PACKAGE_DIR, 'scripts/build-bundle.mjs'), '--out', bundleDir, '--quiet'],
    { encoding: 'utf8' },
  );
  expect(built.status, built.stderr).toBe(0);
  image = parseDockerfile(await readFile(join(PACKAGE_DIR, 'Dockerfile'), 'utf8'));
  // The image's WORKDIR, laid out by the Dockerfile's COPY lines and its `RUN node` step (the
  // code cache), far from any node_modules.
  appDir = join(work, 'app');
  await assembleImage(image, bundleDir, appDir);
  dynamo = await startDynamo('mvp-bundle-jobs');
}, 180_000);

afterAll(async () => {
  await dynamo?.close();
  if (work) await rm(work, { recursive: true, force: true, maxRetries: 3 });
});

/** The container's environment: the Dockerfile's ENV (paths moved into the test's folders) and Batch's. */
function containerEnv(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  const moved = (value: string) =>
    value.startsWith(image.workdir) ? join(appDir, value.slice(image.workdir.length)) : value;
  const fromImage = Object.fromEntries(
    Object.entries(image.env).map(([name, value]) => [name, moved(value)]),
  );
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: join(work, 'home'),
    ...fromImage,
    MVP_DATA_DIR: dataDir,
    // What the job definition and Batch add: the table, the region, the store, credentials.
    MVP_JOB_STORE: 'dynamodb',
    DYNAMODB_TABLE: dynamo.tableName,
    AWS_REGION: REGION,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
    // The image builds the default `app` template; the bundle is proven on the quick landing one.
    MVP_TEMPLATE: 'landing',
    ...extra,
  };
}

/** `mvp submit` through the bundle: the job record in DynamoDB, the spec in the data dir. */
async function submit(env: Record<string, string>, template?: string): Promise<Job> {
  const args = ['node', 'runner.js', 'submit', '--spec', join(REPO_ROOT, 'examples/eventhub.json'), '--json'];
  const run = await startProcess(template ? [...args, '--template', template] : args, appDir, env).exit;
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Job;
}

/** The job definition's command as Batch runs it: `Ref::jobId` replaced by the job's parameter. */
function batchCommand(jobId: string | undefined): string[] {
  return JOB_DEFINITION_COMMAND.map((a) => (a === 'Ref::jobId' && jobId !== undefined ? jobId : a));
}

async function record(jobId: string): Promise<Job> {
  const { job } = await dynamo.store.get({ jobId });
  if (!job) throw new Error(`no record for ${jobId}`);
  return job;
}

async function dataDir(name: string): Promise<string> {
  const dir = join(work, 'data', name);
  await mkdir(dir, { recursive: true });
  return dir;
}

describe('the bundle and its image', () => {
  it('is one CommonJS file with every adapter inlined, its launcher, code cache and templates beside it', async () => {
    const meta = JSON.parse(await readFile(`${bundleDir}.meta.json`, 'utf8')) as {
      outputs: Record<string, { inputs: Record<string, unknown> }>;
    };
    const outputs = Object.keys(meta.outputs);
    expect(outputs).toHaveLength(1);
    const inputs = Object.keys(Object.values(meta.outputs)[0]!.inputs).join('\n');
    for (const adapter of ['aws', 'github', 'claude', 'vercel', 'postgres', 'local']) {
      expect(inputs).toContain(`packages/adapters-${adapter}/dist/`);
    }
    const code = await readFile(join(appDir, 'mvp.cjs'));
    expect(code.toString('utf8')).not.toMatch(/import\(["']@mvp-pipeline\//);
    // The image's build step wrote the cache for exactly this file.
    const cache = await readFile(join(appDir, 'mvp.cjs.cache'));
    expect(cache.subarray(0, 32).equals(createHash('sha256').update(code).digest())).toBe(true);
    expect(cache.length).toBeGreaterThan(1024 * 1024); // the warm-up compiled the vendor adapters
    expect((await readFile(join(appDir, 'runner.js'))).length).toBeLessThan(16 * 1024);
    expect(JSON.parse(await readFile(join(appDir, 'package.json'), 'utf8')).type).toBe('commonjs');
    expect(existsSync(join(appDir, 'templates/landing/mvp.template.json'))).toBe(true);
    expect(existsSync(join(appDir, 'migrations/001_founderdash_schema.sql'))).toBe(true);
  });

  it('matches the job definition: CMD, WORKDIR, commands under sandbox uids, slim Node 20, git only', () => {
    expect(image.from).toMatch(/^node:20[\w.-]*-slim$/);
    // The runner is root in the container so that every command runs under an unprivileged uid.
    expect(image.user === undefined || /^(root|0)$/.test(image.user)).toBe(true);
    expect(image.env['MVP_SANDBOX']).toBe('uid');
    expect(image.entrypoint).toBeUndefined(); // the job definition's command replaces CMD whole
    expect(image.cmd).toEqual(JOB_DEFINITION_COMMAND.slice(0, 3));
    expect(image.env['MVP_LOG_FORMAT']).toBe('json');
    expect(image.env['MVP_BROWSER_CHECK']).toBe('off'); // no Chromium, no playwright-core in the image
    expect(image.env['MVP_TEMPLATES_DIR']).toBe(`${image.workdir}/templates`);
    // Vercel runs apps: the image builds the default `app` template, nothing pins landing pages.
    expect(image.env['MVP_TEMPLATE']).toBeUndefined();
    expect(image.aptPackages.sort()).toEqual(['ca-certificates', 'git', 'procps']);
    expect(image.nodeSteps).toEqual([['node', 'runner.js', 'write-code-cache']]);
  });

  it('prints its help with no node_modules anywhere near it', async () => {
    const run = await startProcess(['node', 'runner.js', '--help'], appDir, containerEnv(work)).exit;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('run-batch-job');
    expect(run.stderr).toBe('');
  });

  it('starts without its code cache when the cache is for another mvp.cjs, and says so in a JSON log line', async () => {
    const copy = join(work, 'stale-cache');
    await cp(appDir, copy, { recursive: true });
    await writeFile(join(copy, 'mvp.cjs.cache'), Buffer.alloc(64, 1));
    const run = await startProcess(['node', 'runner.js', '--help'], copy, containerEnv(work)).exit;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('run-batch-job');
    expect(jsonLogLines(run.stderr)).toEqual([
      expect.objectContaining({ level: 'warn', message: expect.stringContaining('write-code-cache') }),
    ]);
  });
});

describe('the bundled runner against DynamoDB (dynalite) and the local adapters', () => {
  it('runs a job to COMPLETED, records the Batch job id, and a second runner changes nothing', async () => {
    const env = containerEnv(await dataDir('complete'));
    const submitted = await submit(env);
    expect(submitted).toMatchObject({ status: 'PENDING', currentStep: 'QUEUED' });

    const run = await startProcess(batchCommand(submitted.jobId), appDir, {
      ...env,
      AWS_BATCH_JOB_ID: 'batch-0001',
      AWS_BATCH_JOB_ATTEMPT: '1',
    }).exit;
    expect(run.code, run.stderr).toBe(EXIT.OK);
    const logs = jsonLogLines(run.stderr); // MVP_LOG_FORMAT=json: every line is JSON
    expect(logs.filter((l) => l['level'] === 'warn')).toEqual([]); // the code cache was used
    expect(logs).toContainEqual(
      expect.objectContaining({ message: 'Run ended', jobId: submitted.jobId, outcome: 'COMPLETED' }),
    );

    const done = await record(submitted.jobId);
    expect(done).toMatchObject({
      status: 'COMPLETED',
      currentStep: 'COMPLETED',
      progress: 100,
      attempt: 1,
      resources: { batchJobId: 'batch-0001' },
    });
    expect(done.lease).toBeFalsy(); // released
    expect(done.urls.production).toMatch(/^file:\/\//);
    const { logs: history } = await dynamo.store.readHistory({ jobId: submitted.jobId });
    expect(history.map((l) => l.message)).toContain('Attempt 1 started (batch job batch-0001, attempt 1)');

    // A second delivery of the event: the job id through JOB_ID this time (no parameter).
    const again = await startProcess(batchCommand(undefined), appDir, {
      ...env,
      JOB_ID: submitted.jobId,
      AWS_BATCH_JOB_ID: 'batch-0002',
      AWS_BATCH_JOB_ATTEMPT: '1',
    }).exit;
    expect(again.code, again.stderr).toBe(EXIT.OK);
    expect(await record(submitted.jobId)).toEqual(done);
    expect((await dynamo.store.readHistory({ jobId: submitted.jobId })).logs).toHaveLength(history.length);
  });

  it('on SIGTERM mid-build exits 75 with the lease released, and a later runner finishes the job', async () => {
    const dir = await dataDir('sigterm');
    const started = join(dir, 'build-started');
    const gate = join(dir, 'build-gate');
    const templates = join(dir, 'templates');
    await gatedTemplates(join(appDir, 'templates'), templates, { started, gate });
    await writeFile(gate, 'closed');
    const env = containerEnv(dir, { MVP_TEMPLATES_DIR: templates });
    const submitted = await submit(env, 'gated');

    const first = startProcess(batchCommand(submitted.jobId), appDir, {
      ...env,
      AWS_BATCH_JOB_ID: 'batch-first',
      AWS_BATCH_JOB_ATTEMPT: '1',
    });
    await Promise.race([
      waitFor(async () => existsSync(started), 'the build to start', 120_000),
      first.exit.then((e) => {
        throw new Error(`the runner exited ${e.code} before building: ${e.stderr}`);
      }),
    ]);
    const building = await record(submitted.jobId);
    expect(building).toMatchObject({ status: 'IN_PROGRESS', currentStep: 'BUILDING', attempt: 1 });
    expect(building.lease).toBeDefined();

    // Meanwhile a duplicate delivery: the lease is live, so it leaves the job alone.
    const duplicate = await startProcess(batchCommand(submitted.jobId), appDir, {
      ...env,
      AWS_BATCH_JOB_ID: 'batch-duplicate',
      AWS_BATCH_JOB_ATTEMPT: '1',
    }).exit;
    expect(duplicate.code, duplicate.stderr).toBe(EXIT.OK);
    expect(jsonLogLines(duplicate.stderr)).toContainEqual(
      expect.objectContaining({ message: 'Run ended', outcome: 'LEASE_HELD' }),
    );
    const afterDuplicate = await record(submitted.jobId);
    expect(afterDuplicate.attempt).toBe(1);
    expect(afterDuplicate.lease?.owner).toBe(building.lease?.owner);
    expect(afterDuplicate.resources.batchJobId).toBe('batch-first');

    first.child.kill('SIGTERM');
    const interrupted = await first.exit;
    expect(interrupted.code, interrupted.stderr).toBe(EXIT.RETRYABLE);
    const stopped = await record(submitted.jobId);
    expect(stopped).toMatchObject({ status: 'IN_PROGRESS', currentStep: 'BUILDING' });
    expect(stopped.lease).toBeFalsy(); // released
    expect(stopped.checkpoints).toHaveProperty('AI_DEVELOPMENT');

    // Batch retries (exit 75): the next attempt resumes at BUILDING and finishes.
    await rm(gate);
    const retry = await startProcess(batchCommand(submitted.jobId), appDir, {
      ...env,
      AWS_BATCH_JOB_ID: 'batch-first',
      AWS_BATCH_JOB_ATTEMPT: '2',
    }).exit;
    expect(retry.code, retry.stderr).toBe(EXIT.OK);
    const done = await record(submitted.jobId);
    expect(done).toMatchObject({ status: 'COMPLETED', currentStep: 'COMPLETED', attempt: 2 });
    const { logs } = await dynamo.store.readHistory({ jobId: submitted.jobId });
    expect(logs.map((l) => l.message)).toContain(
      'Attempt 2 started (batch job batch-first, attempt 2) — resuming at building and checking',
    );
  });

  it('migrates and seeds PostgreSQL, then reads the spec from it as in production and runs the job', async () => {
    const db = await startTestDatabase({ migrate: false }); // TEST_DATABASE_URL's server, or PGlite
    try {
      const env = containerEnv(await dataDir('postgres'), {
        MVP_SPEC_SOURCE: 'postgres',
        FOUNDERDASH_DB_URL: db.url,
      });
      const mvp = async (...args: string[]) => {
        const run = await startProcess(['node', 'runner.js', ...args], appDir, env).exit;
        expect(run.code, run.stderr).toBe(0);
        return run.stdout;
      };
      expect(await mvp('db', 'migrate')).toContain('001_founderdash_schema.sql');
      const specFile = join(REPO_ROOT, 'examples/eventhub.json');
      await mvp('db', 'seed', specFile);
      const spec = JSON.parse(await readFile(specFile, 'utf8'));
      const submitted = JSON.parse(
        await mvp('submit', '--user', spec.user.id, '--product', spec.product.id, '--json'),
      ) as Job;
      const run = await startProcess(batchCommand(submitted.jobId), appDir, env).exit;
      expect(run.code, run.stderr).toBe(EXIT.OK);
      expect(await record(submitted.jobId)).toMatchObject({
        status: 'COMPLETED',
        businessName: spec.product.name,
      });
    } finally {
      await db.close();
    }
  }, 120_000);

  it('exits 2 (not retried) when the job parameter is missing: `Ref::jobId` and no JOB_ID', async () => {
    const run = await startProcess(batchCommand(undefined), appDir, containerEnv(await dataDir('noid'))).exit;
    expect(run.code, run.stderr).toBe(EXIT.PERMANENT);
    expect(run.stderr).toContain('JOB_ID');
  });
});
