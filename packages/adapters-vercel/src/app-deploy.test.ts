import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createFilePasswordStore, serverAppOf, startServerApp } from '@mvp-pipeline/adapters-local';
import { writeFakeServerApp } from '@mvp-pipeline/adapters-local/testing';
import {
  type BuildFailedError,
  type DatabaseProvisioner,
  PipelineError,
  type TemplateManifest,
} from '@mvp-pipeline/core';
import { memoryCheckpoint, recordingReporter } from '@mvp-pipeline/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningSource,
  type SourceRun,
  startVercelStandIn,
  type VercelStandIn,
  type VercelStandInOptions,
} from './testing/index.js';
import {
  createVercelDeployer,
  PROTECTION_BYPASS_HEADER,
  type VercelDeployerDeps,
} from './vercel-deployer.js';

// Framework apps on Vercel against the stand-in: source uploads, the app's environment, the
// migration before production, and the stand-in running the deployment (the fake node:http app
// of adapters-local, started as the local host starts apps) with the env the project holds.

const TEAM = 'team_apps01';
const PEM = '-----BEGIN CERTIFICATE-----\nMIIBstandinCA\n-----END CERTIFICATE-----\n';
let root: string;
let manifest: TemplateManifest;
const registered: string[] = [];

/** A database provisioner stand-in whose "database" is a folder named in the URL (the fake app's state). */
const provisioned: string[] = [];
const databases: DatabaseProvisioner = {
  specificationVersion: 'v1',
  async provision({ jobId, purpose }) {
    const state = path.join(root, 'dbs', `${jobId}-${purpose}`);
    const created = !(await stat(state).catch(() => undefined));
    await mkdir(state, { recursive: true });
    await chmod(state, 0o777); // the app and migrate run under a uid of their own
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
      connectionUrl: `postgresql://${database}:pw-${jobId}-s3cretpass@127.0.0.1:5432/${database}?state=${encodeURIComponent(state)}`,
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

/** What Vercel's build and runtime do here: start the fake app with the project's env only. */
const runs: SourceRun[] = [];
async function runSource(source: SourceRun): Promise<RunningSource> {
  runs.push(source);
  const { DATABASE_URL, APP_URL, ...rest } = source.env;
  const started = await startServerApp({
    dir: source.dir,
    app: serverAppOf(manifest),
    // Empty when the project has none: the app must refuse to start, as it would on Vercel.
    databaseUrl: DATABASE_URL ?? '',
    ...(APP_URL ? { appUrl: APP_URL } : {}),
    secretEnv: rest,
    timeoutMs: 10_000,
  });
  if (!started.ok) throw new Error(started.failure);
  return { url: started.running.url, stop: () => started.running.stop() };
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'vercel-apps-'));
  await chmod(root, 0o755);
  const fake = await writeFakeServerApp(path.join(root, 'template'));
  manifest = {
    ...fake,
    framework: 'nextjs',
    outputDir: '.next',
    buildCache: '.next/cache',
    commands: { ...fake.commands, install: ['pnpm', 'install', '--frozen-lockfile', '--offline'] },
    env: { DATABASE_POOL_MAX: '3' },
  };
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const open: VercelStandIn[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function start(options: VercelStandInOptions = {}): Promise<VercelStandIn> {
  const standIn = await startVercelStandIn({ teamId: TEAM, runSource, ...options });
  open.push(standIn);
  return standIn;
}

/** A built workspace of the fake app: its source, plus what must never be uploaded. */
async function workspace(name: string, extra: Record<string, string> = {}): Promise<string> {
  const dir = path.join(root, 'ws', name);
  await writeFakeServerApp(dir);
  const files: Record<string, string> = {
    'node_modules/pg/index.js': 'module.exports = {}',
    '.git/HEAD': 'ref: refs/heads/main',
    '.next/server/app.js': 'built',
    '.next/cache/webpack/0.pack': 'cache',
    'lib/node_modules/nested.js': 'nested',
    ...extra,
  };
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), content);
  }
  return dir;
}

function deployerFor(standIn: VercelStandIn, deps: VercelDeployerDeps = {}) {
  return createVercelDeployer(
    // The stand-in really runs the app: polls wait (briefly) for it, as they would for a build.
    {
      token: standIn.token,
      teamId: TEAM,
      apiUrl: standIn.apiUrl,
      pollIntervalMs: 20,
      maxWaitMs: 60 * 60_000,
    },
    {
      sleep: (ms, signal) => delay(Math.min(ms, 50), undefined, signal ? { signal } : undefined),
      databases,
      secrets: createFilePasswordStore({ dir: path.join(root, 'secrets') }),
      registerSecret: (value) => registered.push(value),
      ...deps,
    },
  );
}

function deploy(
  subject: ReturnType<typeof deployerFor>,
  outputDir: string,
  overrides: { jobId?: string; commit?: string; checkpoint?: ReturnType<typeof memoryCheckpoint> } = {},
) {
  const report = recordingReporter();
  const checkpoint = overrides.checkpoint ?? memoryCheckpoint();
  const jobId = overrides.jobId ?? 'job_app1';
  const promise = subject.deploy({
    jobId,
    commit: overrides.commit ?? 'c0ffee0000001',
    siteName: `notes-${jobId.slice(-4)}`,
    projectName: 'notes',
    outputDir,
    manifest,
    checkpoint,
    report,
  });
  return { promise, report, checkpoint };
}

async function failure(promise: Promise<unknown>): Promise<PipelineError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(PipelineError.isInstance(error), `expected a PipelineError, got ${String(error)}`).toBe(true);
  return error as PipelineError;
}

const migrations = async (jobId: string) =>
  Number(await readFile(path.join(root, 'dbs', `${jobId}-app`, 'migrated'), 'utf8').catch(() => '0'));

describe('Vercel deployer, framework apps', () => {
  it('uploads the source without dependencies, git or build output, with the manifest’s build settings and Node 20', async () => {
    const standIn = await start();
    const dir = await workspace('source');
    const { promise } = deploy(deployerFor(standIn), dir, { jobId: 'job_src1' });
    await promise;
    const [staging] = standIn.deployments();
    const uploaded = staging!.files.map((f) => f.file).sort();
    expect(uploaded).toEqual(expect.arrayContaining(['server.js', 'migrate.js', 'mvp.template.json']));
    expect(uploaded.filter((f) => /node_modules|^\.git\/|^\.next\//.test(f))).toEqual([]);
    const create = standIn.requests.find((r) => r.method === 'POST' && r.path === '/v11/projects');
    expect(create).toBeDefined();
    const [project] = standIn.projects();
    expect(project?.nodeVersion).toBe('20.x');
    const settings = (await (
      await fetch(`${standIn.apiUrl}/v9/projects/${project!.id}?teamId=${TEAM}`, {
        headers: { Authorization: `Bearer ${standIn.token}` },
      })
    ).json()) as Record<string, unknown>;
    // The runner installs from its own store; Vercel's build machine has none, so no --offline.
    expect(settings).toMatchObject({
      framework: 'nextjs',
      installCommand: 'pnpm install --frozen-lockfile',
      buildCommand: `${process.execPath} -e 0`,
      nodeVersion: '20.x',
    });
    expect(runs.at(-1)?.settings).toMatchObject({ framework: 'nextjs', nodeVersion: '20.x' });
  });

  it('uploads only the changed file’s bytes when a new commit changes one source file', async () => {
    const standIn = await start();
    const dir = await workspace('redeploy', { 'app/page.tsx': 'export default 1' });
    await deploy(deployerFor(standIn), dir, { jobId: 'job_re1', commit: 'aaaa001' }).promise;
    const before = standIn.uploads.length;
    await writeFile(path.join(dir, 'app/page.tsx'), 'export default 2');
    await writeFile(path.join(dir, '.next/server/app.js'), 'built again');
    await deploy(deployerFor(standIn), dir, { jobId: 'job_re1', commit: 'aaaa002' }).promise;
    expect(standIn.uploads.slice(before)).toEqual([
      { sha: expect.any(String), size: 'export default 2'.length },
    ]);
  });

  it('sets the app’s environment as sensitive values before the first deployment, and the app runs with it', async () => {
    const standIn = await start();
    const { promise, report } = deploy(deployerFor(standIn), await workspace('env'), { jobId: 'job_env1' });
    const result = await promise;
    const [project] = standIn.projects();
    const env = standIn.env(project!.id);
    expect(env.map((e) => e.key).sort()).toEqual([
      'APP_URL',
      'DATABASE_POOL_MAX',
      'DATABASE_URL',
      'SESSION_SECRET',
    ]);
    for (const e of env) {
      expect(e.type).toBe('sensitive');
      expect(e.target.sort()).toEqual(['preview', 'production']);
    }
    const value = (key: string) => env.find((e) => e.key === key)!.value;
    expect(value('DATABASE_URL')).toMatch(/^postgresql:\/\/db_job_env1:pw-job_env1-s3cretpass@/);
    expect(value('APP_URL')).toBe(result.productionUrl.replace(/\/$/, ''));
    expect(value('SESSION_SECRET')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Set before the first deployment: the env POST precedes the first create.
    const order = standIn.requests.map((r) => `${r.method} ${r.path}`);
    expect(order.indexOf(`POST /v10/projects/${project!.id}/env`)).toBeLessThan(
      order.indexOf('POST /v13/deployments'),
    );
    expect(standIn.requests.find((r) => r.path.endsWith('/env'))?.query).toMatchObject({ upsert: 'true' });

    // As on Vercel, sensitive values are never read back.
    const listed = (await (
      await fetch(`${standIn.apiUrl}/v10/projects/${project!.id}/env?teamId=${TEAM}`, {
        headers: { Authorization: `Bearer ${standIn.token}` },
      })
    ).json()) as { envs: Record<string, unknown>[] };
    expect(listed.envs).toHaveLength(4);
    for (const e of listed.envs) expect(e).not.toHaveProperty('value');

    // The running app got them: staging behind protection, production public.
    expect((await fetch(result.stagingUrl)).status).toBe(401);
    const staging = await fetch(result.stagingUrl, { headers: { ...result.stagingHeaders } });
    expect(staging.status).toBe(200);
    expect(await staging.text()).toContain(`Notes</h1> app ${value('APP_URL')}`);
    const production = await fetch(result.productionUrl);
    expect(production.status).toBe(200);
    expect(await production.text()).toContain('Notes');
    expect(runs.at(-1)?.env.DATABASE_POOL_MAX).toBe('3');

    // Every value is a secret: registered with the process, never in a log line.
    const bypass = result.stagingHeaders![PROTECTION_BYPASS_HEADER]!;
    const secrets = [value('DATABASE_URL'), value('SESSION_SECRET'), bypass];
    for (const secret of secrets) expect(registered).toContain(secret);
    // The production URL is public: redacting it would hide it from the founder's notice.
    expect(registered).not.toContain(value('APP_URL'));
    const logs = report.lines.join('\n');
    for (const secret of [...secrets, 'pw-job_env1-s3cretpass']) expect(logs).not.toContain(secret);
    expect(logs).toMatch(/Set APP_URL, DATABASE_POOL_MAX, DATABASE_URL, SESSION_SECRET on project/);
  });

  it('keeps one session secret per job across attempts and commits, and a second job gets its own', async () => {
    const standIn = await start();
    const dir = await workspace('session');
    await deploy(deployerFor(standIn), dir, { jobId: 'job_ses1', commit: 'aaaa111' }).promise;
    const [first] = standIn.projects();
    const secret = () => standIn.env(first!.id).find((e) => e.key === 'SESSION_SECRET')!.value;
    const before = secret();
    // Another deployer instance (another process) with the same store, a new commit.
    await deploy(deployerFor(standIn), dir, { jobId: 'job_ses1', commit: 'bbbb222' }).promise;
    expect(secret()).toBe(before);
    await deploy(deployerFor(standIn), dir, { jobId: 'job_ses2' }).promise;
    const second = standIn.projects().find((p) => p.id !== first!.id)!;
    const other = standIn.env(second.id).find((e) => e.key === 'SESSION_SECRET')!.value;
    expect(other).not.toBe(before);
    // Upserts, not duplicates: each key once per project.
    expect(
      standIn
        .env(first!.id)
        .map((e) => e.key)
        .sort(),
    ).toEqual(['APP_URL', 'DATABASE_POOL_MAX', 'DATABASE_URL', 'SESSION_SECRET']);
  });

  it('migrates before deploying, and a retry after a crash past the migration does not run it again', async () => {
    const standIn = await start();
    const dir = await workspace('migrate');
    const checkpoint = memoryCheckpoint();
    // The attempt dies right after migrating: the first deployment create fails hard.
    standIn.fail({ method: 'POST', path: '/v13/deployments', status: 500, times: 1 });
    const crashed = deploy(deployerFor(standIn), dir, { jobId: 'job_mig1', checkpoint });
    expect((await failure(crashed.promise)).code).toBe('TRANSIENT');
    expect(await migrations('job_mig1')).toBe(1);
    expect(checkpoint.saved).toMatchObject({ migrated: 'c0ffee0000001' });

    const retried = deploy(deployerFor(standIn), dir, { jobId: 'job_mig1', checkpoint });
    await retried.promise;
    expect(await migrations('job_mig1')).toBe(1);
    expect(retried.report.lines.join('\n')).toMatch(/migrated for commit c0ffee0 already/);
    // A new commit migrates again (its migrations may be new).
    await deploy(deployerFor(standIn), dir, { jobId: 'job_mig1', commit: 'dddd444', checkpoint }).promise;
    expect(await migrations('job_mig1')).toBe(2);
  });

  it('migrates through the direct URL when the app’s goes through a pooler, and hands on the server’s CA', async () => {
    const standIn = await start();
    const direct = path.join(root, 'dbs', 'direct-job_pool1');
    await mkdir(direct, { recursive: true });
    await chmod(direct, 0o777);
    const pooled: DatabaseProvisioner = {
      ...databases,
      async provision(options) {
        const made = await databases.provision(options);
        const url = new URL(made.connectionUrl);
        url.searchParams.set('state', direct);
        return { ...made, directUrl: url.toString(), ca: PEM };
      },
    };
    await deploy(deployerFor(standIn, { databases: pooled }), await workspace('pool'), { jobId: 'job_pool1' })
      .promise;
    expect(Number(await readFile(path.join(direct, 'migrated'), 'utf8'))).toBe(1);
    expect(await migrations('job_pool1')).toBe(0);
    const [project] = standIn.projects();
    expect(standIn.env(project!.id).find((e) => e.key === 'DATABASE_URL')?.value).not.toContain('direct-');
    // The template verifies the server with DATABASE_CA, on Vercel and in the migration.
    expect(standIn.env(project!.id).find((e) => e.key === 'DATABASE_CA')?.value).toBe(PEM);
    expect(runs.at(-1)?.env['DATABASE_CA']).toBe(PEM);
  });

  it('fails the build when the project holds no DATABASE_URL: the app does not start', async () => {
    const standIn = await start();
    // The env call "succeeds" but stores nothing, as a careless API might.
    standIn.fail({
      method: 'POST',
      path: /\/env$/,
      status: 201,
      body: { created: [], failed: [] },
      times: 5,
    });
    const error = await failure(
      deploy(deployerFor(standIn), await workspace('nodb'), { jobId: 'job_nodb' }).promise,
    );
    expect(error.code).toBe('BUILD_FAILED');
    expect((error as BuildFailedError).output).toMatch(/no DATABASE_URL/);
  });

  it('names the refused keys, never their values, when Vercel refuses a variable', async () => {
    const standIn = await start();
    standIn.fail({
      method: 'POST',
      path: /\/env$/,
      status: 201,
      body: {
        created: [],
        failed: [{ error: { code: 'ENV_CONFLICT', message: 'conflicts', key: 'SESSION_SECRET' } }],
      },
    });
    const error = await failure(
      deploy(deployerFor(standIn), await workspace('refused'), { jobId: 'job_ref1' }).promise,
    );
    expect(error.code).toBe('PERMANENT');
    expect(error.message).toMatch(/SESSION_SECRET \(ENV_CONFLICT: conflicts\)/);
    expect(standIn.deployments()).toEqual([]);
  });

  it('refuses a server app without a database provisioner before calling Vercel', async () => {
    const standIn = await start();
    const subject = createVercelDeployer(
      { token: standIn.token, teamId: TEAM, apiUrl: standIn.apiUrl },
      { sleep: async () => {} },
    );
    const error = await failure(deploy(subject, await workspace('noprov')).promise);
    expect(error.code).toBe('PERMANENT');
    expect(error.message).toMatch(/no DatabaseProvisioner/);
    expect(standIn.requests).toEqual([]);
  });

  it('refuses a server app whose manifest names no framework instead of serving its source', async () => {
    const standIn = await start();
    const { framework: _framework, ...plain } = manifest;
    const report = recordingReporter();
    const error = await failure(
      deployerFor(standIn).deploy({
        jobId: 'job_plain',
        commit: 'c0ffee0000001',
        siteName: 'notes-lain',
        projectName: 'notes',
        outputDir: await workspace('plain'),
        manifest: plain,
        checkpoint: memoryCheckpoint(),
        report,
      }),
    );
    expect(error.code).toBe('PERMANENT');
    expect(error.message).toMatch(/no framework/);
    expect(standIn.requests).toEqual([]);
  });

  it('gives two founders with the same product two projects and two running apps', async () => {
    const standIn = await start();
    const dir = await workspace('twins');
    const a = await deploy(deployerFor(standIn), dir, { jobId: 'job_twin_a' }).promise;
    const b = await deploy(deployerFor(standIn), dir, { jobId: 'job_twin_b' }).promise;
    expect(standIn.projects()).toHaveLength(2);
    expect(a.productionUrl).not.toBe(b.productionUrl);
    const [pa, pb] = standIn.projects();
    const url = (id: string) => standIn.env(id).find((e) => e.key === 'DATABASE_URL')!.value;
    expect(url(pa!.id)).not.toBe(url(pb!.id));
    for (const result of [a, b]) expect((await fetch(result.productionUrl)).status).toBe(200);
  });
});

describe('the Vercel stand-in, environment and project settings', () => {
  const call = async (standIn: VercelStandIn, method: string, route: string, body?: unknown) => {
    const response = await fetch(
      `${standIn.apiUrl}${route}${route.includes('?') ? '&' : '?'}teamId=${TEAM}`,
      {
        method,
        headers: { Authorization: `Bearer ${standIn.token}`, 'Content-Type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      },
    );
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('refuses what Vercel refuses: duplicates without upsert, sensitive for development, unknown fields, bad Node versions', async () => {
    const standIn = await start();
    const project = await call(standIn, 'POST', '/v11/projects', { name: 'strict-env' });
    const id = project.body.id as string;
    const variable = { key: 'A_KEY', value: 'one', type: 'sensitive', target: ['production'] };
    expect((await call(standIn, 'POST', `/v10/projects/${id}/env`, variable)).status).toBe(201);
    const again = await call(standIn, 'POST', `/v10/projects/${id}/env`, { ...variable, value: 'two' });
    expect((again.body.failed as { error: { code: string } }[])[0]?.error.code).toBe('ENV_ALREADY_EXISTS');
    expect(standIn.env(id)[0]?.value).toBe('one');
    await call(standIn, 'POST', `/v10/projects/${id}/env?upsert=true`, { ...variable, value: 'two' });
    expect(standIn.env(id).map((e) => e.value)).toEqual(['two']);
    expect(
      (await call(standIn, 'POST', `/v10/projects/${id}/env`, { ...variable, target: ['development'] }))
        .status,
    ).toBe(400);
    expect(
      (await call(standIn, 'POST', `/v10/projects/${id}/env`, { ...variable, secret: true })).status,
    ).toBe(400);
    expect((await call(standIn, 'PATCH', `/v9/projects/${id}`, { nodeVersion: '16.x' })).status).toBe(400);
    expect(
      (await call(standIn, 'PATCH', `/v9/projects/${id}`, { nodeVersion: '20.x' })).body.nodeVersion,
    ).toBe('20.x');
    expect(
      (await call(standIn, 'POST', '/v11/projects', { name: 'with-node', nodeVersion: '20.x' })).status,
    ).toBe(400);
  });
});
