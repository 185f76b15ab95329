import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BuildFailedError, ConfigError, PipelineError, REDACTED } from '@mvp-pipeline/core';
import {
  deployerContract,
  faultyFetch,
  memoryCheckpoint,
  recordingReporter,
} from '@mvp-pipeline/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startVercelStandIn, type VercelStandIn, type VercelStandInOptions } from './testing/index.js';
import {
  createVercelDeployer,
  type VercelDeployerDeps,
  type VercelDeployerSettings,
} from './vercel-deployer.js';

const TEAM = 'team_standin01';
const noSleep = async () => {};

const dirs: string[] = [];
async function site(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vercel-site-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  return dir;
}

async function fetchPage(
  url: string,
  headers?: Readonly<Record<string, string>>,
): Promise<string | undefined> {
  const response = await fetch(url, headers ? { headers: { ...headers } } : {});
  return response.ok ? response.text() : undefined;
}

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

deployerContract(
  { describe, it, expect, beforeEach, afterEach },
  'Vercel REST (local stand-in)',
  async () => {
    // Every third status poll is throttled, so the suite runs with the 429s a busy API gives.
    const standIn = await startVercelStandIn({ teamId: TEAM, pollRateLimit: { every: 3 } });
    // Faults between the deployer and the API, as Node's fetch would raise them.
    const faults = faultyFetch();
    return {
      deployer: createVercelDeployer(
        { token: standIn.token, teamId: TEAM, apiUrl: standIn.apiUrl, pollIntervalMs: 1 },
        { sleep: noSleep, fetch: faults.fetch },
      ),
      site,
      faults,
      deploymentCount: async () => standIn.deployments().length,
      dispose: () => standIn.close(),
    };
  },
  { network: true },
);

describe('Vercel deployer', () => {
  let standIn: VercelStandIn;
  const open: VercelStandIn[] = [];

  async function start(options: VercelStandInOptions = {}): Promise<VercelStandIn> {
    standIn = await startVercelStandIn({ teamId: TEAM, ...options });
    open.push(standIn);
    return standIn;
  }

  function deployer(settings: Partial<VercelDeployerSettings> = {}, deps: VercelDeployerDeps = {}) {
    return createVercelDeployer(
      { token: standIn.token, teamId: TEAM, apiUrl: standIn.apiUrl, pollIntervalMs: 1, ...settings },
      { sleep: noSleep, ...deps },
    );
  }

  function deployWith(
    subject: ReturnType<typeof deployer>,
    outputDir: string,
    overrides: {
      jobId?: string;
      commit?: string;
      siteName?: string;
      checkpoint?: Parameters<ReturnType<typeof deployer>['deploy']>[0]['checkpoint'];
    } = {},
  ) {
    const report = recordingReporter();
    const checkpoint = overrides.checkpoint ?? memoryCheckpoint();
    const promise = subject.deploy({
      jobId: overrides.jobId ?? 'job_v1',
      commit: overrides.commit ?? 'a1b2c3d4e5f6',
      siteName: overrides.siteName ?? 'eventhub',
      projectName: 'eventhub',
      outputDir,
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

  const creates = () =>
    standIn.requests.filter((r) => r.method === 'POST' && r.path === '/v13/deployments').length;

  beforeEach(async () => {
    await start();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });

  it('uploads each file once, then makes a preview (staging) and a production deployment', async () => {
    const dir = await site({
      'index.html': '<h1>EventHub</h1>',
      'assets/app.js': 'console.log(1)',
      'copy.html': '<h1>EventHub</h1>',
    });
    const { promise, checkpoint, report } = deployWith(deployer(), dir);
    const result = await promise;

    // Two files share one content: it is uploaded once.
    expect(standIn.uploads.map((u) => u.sha).sort()).toEqual(
      [sha1('<h1>EventHub</h1>'), sha1('console.log(1)')].sort(),
    );
    const [staging, production] = standIn.deployments();
    expect(staging).toMatchObject({
      target: null,
      meta: { jobId: 'job_v1', commit: 'a1b2c3d4e5f6', stage: 'staging' },
    });
    expect(production).toMatchObject({ target: 'production', meta: { stage: 'production' } });
    expect(staging!.files.map((f) => f.file).sort()).toEqual(['assets/app.js', 'copy.html', 'index.html']);
    expect(result).toMatchObject({
      deploymentId: production!.id,
      stagingUrl: `${standIn.apiUrl}/d/${staging!.id}/`,
      productionUrl: `${standIn.apiUrl}/p/eventhub/`,
      resources: { vercel: { projectId: production!.projectId, deploymentId: production!.id } },
    });
    expect(result.resources?.vercel?.projectId).toMatch(/^prj_/);
    expect(checkpoint.data).toMatchObject({
      stagingDeploymentId: staging!.id,
      productionDeploymentId: production!.id,
    });
    expect(await fetchPage(result.stagingUrl, result.stagingHeaders)).toContain('EventHub');
    expect(await fetchPage(`${result.productionUrl}/assets/app.js`)).toBe('console.log(1)');
    // Every call names the team; every create skips the framework confirmation.
    expect(standIn.requests.every((r) => r.query.teamId === TEAM)).toBe(true);
    expect(
      standIn.requests
        .filter((r) => r.method === 'POST' && r.path === '/v13/deployments')
        .every((r) => r.query.skipAutoDetectionConfirmation === '1'),
    ).toBe(true);
    expect(report.lines.join('\n')).toMatch(/Uploading 2 of 3 files/);
  });

  it('uploads exactly the one changed file when a new commit changes one file', async () => {
    const files = { 'index.html': '<h1>EventHub</h1>', 'app.js': 'let a = 1', 'style.css': 'h1{}' };
    await deployWith(deployer(), await site(files), { commit: 'c0000001' }).promise;
    const before = standIn.uploads.length;
    const { report, promise } = deployWith(deployer(), await site({ ...files, 'app.js': 'let a = 2' }), {
      commit: 'c0000002',
    });
    const second = await promise;
    expect(standIn.uploads.slice(before)).toEqual([{ sha: sha1('let a = 2'), size: 9 }]);
    expect(report.lines.join('\n')).toMatch(/Uploading 1 of 3 files \(9 B\)/);
    expect(await fetchPage(`${second.productionUrl}/app.js`)).toBe('let a = 2');
  });

  it('gives each job its own project: two founders with the same product get two live sites', async () => {
    const a = await deployWith(deployer(), await site({ 'index.html': '<h1>EventHub of A</h1>' }), {
      jobId: 'job_a',
      siteName: 'eventhub-aaaaaa',
    }).promise;
    const b = await deployWith(deployer(), await site({ 'index.html': '<h1>EventHub of B</h1>' }), {
      jobId: 'job_b',
      siteName: 'eventhub-bbbbbb',
    }).promise;
    expect(standIn.projects().map((p) => p.name)).toEqual(['eventhub-aaaaaa', 'eventhub-bbbbbb']);
    const [projectA, projectB] = standIn.projects();
    expect(a.resources?.vercel?.projectId).toBe(projectA!.id);
    expect(b.resources?.vercel?.projectId).toBe(projectB!.id);
    // Every deployment went into its own job's project.
    for (const d of standIn.deployments())
      expect(d.projectId).toBe(d.meta.jobId === 'job_a' ? projectA!.id : projectB!.id);
    expect(a.productionUrl).not.toBe(b.productionUrl);
    expect(await fetchPage(a.productionUrl)).toContain('EventHub of A');
    expect(await fetchPage(b.productionUrl)).toContain('EventHub of B');
  });

  it("removes a job's project and its deployments for clean-up, and nothing of another job's", async () => {
    const a = await deployWith(deployer(), await site({ 'index.html': '<h1>EventHub of A</h1>' }), {
      jobId: 'job_a',
      siteName: 'eventhub-aaaaaa',
    }).promise;
    const b = await deployWith(deployer(), await site({ 'index.html': '<h1>EventHub of B</h1>' }), {
      jobId: 'job_b',
      siteName: 'eventhub-bbbbbb',
    }).promise;
    const removed = await deployer().remove!({ jobId: 'job_a', siteName: 'eventhub-aaaaaa' });
    expect(removed.removed).toEqual([expect.stringMatching(/^Vercel project eventhub-aaaaaa \(prj_\w+\)/)]);
    expect(standIn.projects().map((p) => p.name)).toEqual(['eventhub-bbbbbb']);
    expect((await fetch(a.productionUrl)).status).toBe(404);
    expect(await fetchPage(b.productionUrl)).toContain('EventHub of B');
    // Idempotent, and a job that never got a site name has nothing here.
    expect(await deployer().remove!({ jobId: 'job_a', siteName: 'eventhub-aaaaaa' })).toEqual({
      removed: [],
    });
    expect(await deployer().remove!({ jobId: 'job_c' })).toEqual({ removed: [] });
  });

  it('creates the project and checkpoints its id before the first deployment', async () => {
    const checkpoint = memoryCheckpoint();
    const saves: { key: string; creates: number }[] = [];
    const watched = {
      get saved() {
        return checkpoint.saved;
      },
      save: async (data: Record<string, unknown>) => {
        for (const key of Object.keys(data)) saves.push({ key, creates: creates() });
        await checkpoint.save(data);
      },
    };
    await deployWith(deployer(), await site({ 'index.html': '<h1>EventHub</h1>' }), { checkpoint: watched })
      .promise;
    expect(saves[0]).toEqual({ key: 'projectId', creates: 0 });
    expect(checkpoint.data.projectId).toBe(standIn.projects()[0]!.id);
    expect(standIn.requests.filter((r) => r.method === 'POST' && r.path === '/v11/projects')).toHaveLength(1);
  });

  it('finds its project again when an attempt died between creating it and the checkpoint', async () => {
    const dir = await site({ 'index.html': '<h1>EventHub</h1>' });
    const dying = {
      saved: undefined,
      save: async () => {
        throw new Error('runner died');
      },
    };
    await expect(deployWith(deployer(), dir, { checkpoint: dying }).promise).rejects.toThrow('runner died');
    expect(standIn.projects()).toHaveLength(1);
    expect(standIn.deployments()).toHaveLength(0);

    const retried = deployWith(deployer(), dir);
    const result = await retried.promise;
    expect(standIn.projects()).toHaveLength(1); // the 409 led to the same project, not a second one
    expect(result.resources?.vercel?.projectId).toBe(standIn.projects()[0]!.id);
    expect(retried.report.lines.join('\n')).toMatch(/Using the job's Vercel project eventhub/);
    // The next attempt with the checkpoint reads the project by id and creates none.
    const again = deployWith(deployer(), dir, { checkpoint: retried.checkpoint });
    await again.promise;
    expect(standIn.requests.filter((r) => r.method === 'POST' && r.path === '/v11/projects')).toHaveLength(2);
  });

  it('checks staging through Deployment Protection with the project’s automation bypass', async () => {
    const registered: string[] = [];
    const { promise, checkpoint, report } = deployWith(
      deployer({}, { registerSecret: (value) => registered.push(value) }),
      await site({ 'index.html': '<h1>EventHub</h1>' }),
    );
    const result = await promise;
    const secret = result.stagingHeaders?.['x-vercel-protection-bypass'];
    expect(secret).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(registered).toEqual([secret]);
    // Staging (a deployment URL) is private; production's domain is public.
    expect(await fetchPage(result.stagingUrl)).toBeUndefined();
    expect((await fetch(result.stagingUrl)).status).toBe(401);
    expect(await fetchPage(result.stagingUrl, result.stagingHeaders)).toContain('EventHub');
    expect(await fetchPage(`${result.stagingUrl}?x-vercel-protection-bypass=${secret}`)).toContain(
      'EventHub',
    );
    expect(await fetchPage(`${result.stagingUrl}?x-vercel-protection-bypass=wrong`)).toBeUndefined();
    // As Vercel does, the header with x-vercel-set-bypass-cookie sets a cookie that opens it after.
    const cookie = (
      await fetch(result.stagingUrl, {
        headers: { ...result.stagingHeaders, 'x-vercel-set-bypass-cookie': 'true' },
      })
    ).headers.get('set-cookie');
    expect(cookie).toMatch(/^_vercel_jwt=/);
    expect(await fetchPage(result.stagingUrl, { cookie: cookie!.split(';')[0]! })).toContain('EventHub');
    expect(await fetchPage(result.productionUrl)).toContain('EventHub');
    // The production deployment's own URL stays private: production is never reported as it.
    const production = standIn.deployments().find((d) => d.target === 'production')!;
    expect((await fetch(`${standIn.apiUrl}/d/${production.id}/`)).status).toBe(401);
    expect(result.productionUrl).not.toContain(production.id);
    // The secret is nowhere but in the result.
    expect(JSON.stringify(checkpoint.data)).not.toContain(secret);
    expect(report.lines.join('\n')).not.toContain(secret);
    expect(JSON.stringify(result.resources)).not.toContain(secret);

    // The next deploy of the job reads the same secret from the project instead of making another.
    const next = await deployWith(deployer(), await site({ 'index.html': '<h1>EventHub v2</h1>' }), {
      commit: 'c0ffee9',
    }).promise;
    expect(next.stagingHeaders).toEqual(result.stagingHeaders);
    expect(standIn.requests.filter((r) => r.path.endsWith('/protection-bypass'))).toHaveLength(1);
  });

  it('keeps a bypass secret out of its errors', async () => {
    const first = await deployWith(deployer(), await site({ 'index.html': '<h1>EventHub</h1>' })).promise;
    const secret = first.stagingHeaders!['x-vercel-protection-bypass']!;
    standIn.fail({
      method: 'POST',
      path: '/v13/deployments',
      status: 400,
      body: { error: { code: 'bad_request', message: `Rejected, bypass was ${secret}` } },
    });
    const error = await failure(
      deployWith(deployer(), await site({ 'index.html': '<h1>EventHub v2</h1>' }), { commit: 'c0ffee9' })
        .promise,
    );
    expect(error.message).toContain(REDACTED);
    expect(`${error.message}${error.stack}`).not.toContain(secret);
  });

  it('waits for a late production alias within maxWaitMs', async () => {
    await start({ aliasDelayPolls: 3 });
    const result = await deployWith(deployer(), await site({ 'index.html': '<h1>EventHub</h1>' })).promise;
    expect(result.productionUrl).toBe(`${standIn.apiUrl}/p/eventhub/`);
    expect(await fetchPage(result.productionUrl)).toContain('EventHub');
  });

  it('fails naming the missing alias, and never falls back to the protected deployment URL', async () => {
    await start({ assignAliases: false });
    const error = await failure(
      deployWith(deployer({ maxWaitMs: 50, pollIntervalMs: 10 }), await site({ 'index.html': 'x' })).promise,
    );
    expect(error.code).toBe('TRANSIENT');
    expect(error.message).toMatch(/no production alias \(project eventhub's domain/);
    expect(error.message).toMatch(/behind Deployment Protection/);
  });

  it('fails at once with Vercel’s reason when the alias cannot be assigned', async () => {
    await start({
      aliasError: { code: 'domain_verification_failed', message: 'The domain is not verified' },
    });
    const error = await failure(deployWith(deployer(), await site({ 'index.html': 'x' })).promise);
    expect(error.code).toBe('TRANSIENT');
    expect(error.message).toMatch(/domain_verification_failed: The domain is not verified/);
    expect(error.message).toMatch(/not used instead/);
  });

  it('saves the deployment id in the checkpoint before it polls', async () => {
    const dir = await site({ 'index.html': '<h1>EventHub</h1>' });
    const checkpoint = memoryCheckpoint();
    const seen: { stage: string; polled: boolean }[] = [];
    const watched = {
      get saved() {
        return checkpoint.saved;
      },
      save: async (data: Record<string, unknown>) => {
        for (const stage of ['staging', 'production']) {
          const id = data[`${stage}DeploymentId`];
          if (typeof id === 'string') {
            const polled = standIn.requests.some(
              (r) => r.method === 'GET' && r.path === `/v13/deployments/${id}`,
            );
            seen.push({ stage, polled });
          }
        }
        await checkpoint.save(data);
      },
    };
    await deployer().deploy({
      jobId: 'job_v1',
      commit: 'abc1234',
      siteName: 'eventhub',
      projectName: 'eventhub',
      outputDir: dir,
      checkpoint: watched,
      report: recordingReporter(),
    });
    expect(seen).toEqual([
      { stage: 'staging', polled: false },
      { stage: 'production', polled: false },
    ]);
  });

  it('resumes the saved deployment after a crash mid-poll instead of creating another', async () => {
    const dir = await site({ 'index.html': '<h1>EventHub</h1>' });
    let crashes = 1;
    const dying = deployer(
      {},
      {
        sleep: async () => {
          if (crashes-- > 0) throw new Error('runner died');
        },
      },
    );
    const first = deployWith(dying, dir);
    await expect(first.promise).rejects.toThrow('runner died');
    expect(standIn.deployments()).toHaveLength(1);
    const stagingId = standIn.deployments()[0]!.id;
    expect(first.checkpoint.data).toMatchObject({ commit: 'a1b2c3d4e5f6', stagingDeploymentId: stagingId });

    const retried = deployWith(deployer(), dir, { checkpoint: first.checkpoint });
    const result = await retried.promise;
    expect(standIn.deployments().filter((d) => d.meta.stage === 'staging')).toHaveLength(1);
    expect(standIn.deployments()).toHaveLength(2);
    expect(result.stagingUrl).toContain(stagingId);
    expect(retried.report.lines.join('\n')).toContain(`Resuming staging deployment ${stagingId}`);
  });

  it('finds the deployment by its meta when the checkpoint was lost', async () => {
    const dir = await site({ 'index.html': '<h1>EventHub</h1>' });
    let crashes = 1;
    const dying = deployer(
      {},
      {
        sleep: async () => {
          if (crashes-- > 0) throw new Error('runner died');
        },
      },
    );
    await expect(deployWith(dying, dir).promise).rejects.toThrow('runner died');
    // The next attempt starts from nothing recorded, as if the runner died before the write.
    const lost = deployWith(deployer(), dir, { checkpoint: memoryCheckpoint() });
    await lost.promise;
    expect(standIn.deployments().filter((d) => d.meta.stage === 'staging')).toHaveLength(1);
    expect(lost.report.lines.join('\n')).toMatch(/Reusing staging deployment dpl_/);
    // Listed with documented filters only (the stand-in refuses `meta-*`); meta is matched here.
    const list = standIn.requests.find((r) => r.path === '/v6/deployments');
    expect(list?.query).toEqual({
      projectId: standIn.projects()[0]!.id,
      target: 'preview',
      limit: '100',
      teamId: TEAM,
    });
  });

  it('pages back through the list (until) to find its deployment among many newer ones', async () => {
    await start({ deploymentsPerDay: 500 });
    const dir = await site({ 'index.html': '<h1>EventHub</h1>' });
    let crashes = 1;
    const dying = deployer(
      {},
      {
        sleep: async () => {
          if (crashes-- > 0) throw new Error('runner died');
        },
      },
    );
    await expect(deployWith(dying, dir).promise).rejects.toThrow('runner died');
    const [mine] = standIn.deployments();
    // 120 newer previews in the same project (other commits), so the job's is on the second page.
    for (let i = 0; i < 120; i++) {
      const response = await fetch(`${standIn.apiUrl}/v13/deployments?teamId=${TEAM}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${standIn.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'eventhub',
          project: mine!.projectId,
          files: mine!.files,
          meta: { jobId: 'job_v1', commit: `other${i}`, stage: 'staging' },
        }),
      });
      expect(response.status).toBe(200);
    }
    const before = standIn.requests.length;
    const lost = deployWith(deployer(), dir, { checkpoint: memoryCheckpoint() });
    const result = await lost.promise;
    expect(result.stagingUrl).toContain(mine!.id);
    const lists = standIn.requests
      .slice(before)
      .filter((r) => r.path === '/v6/deployments' && r.query.target === 'preview');
    expect(lists).toHaveLength(2);
    expect(lists[1]!.query.until).toMatch(/^\d+$/);
  });

  it('fails with the tail of the build output when the build ends in ERROR', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => `step ${i + 1}`);
    lines.push('Error: Command "npm run build" exited with 1');
    standIn.failBuilds({ lines, errorCode: 'BUILD_UTILS_SPAWN_1', errorMessage: 'Command exited with 1' });
    const dir = await site({ 'index.html': '<h1>EventHub</h1>' });
    const error = await failure(deployWith(deployer(), dir).promise);
    expect(error.code).toBe('BUILD_FAILED');
    expect((error as BuildFailedError).output).toContain('Error: Command "npm run build" exited with 1');
    // The events were asked for as JSON (the stand-in streams them otherwise).
    expect(standIn.requests.find((r) => r.path.endsWith('/events'))?.query).toMatchObject({
      follow: '0',
      builds: '1',
    });
    expect(error.message).toContain('BUILD_UTILS_SPAWN_1');
    expect(error.message).toContain('Error: Command "npm run build" exited with 1');
    expect(error.message).toContain('step 30');
    expect(error.message).not.toContain('step 5\n');
    expect(standIn.deployments()).toHaveLength(1); // no production deployment after a failed staging

    // The same commit again fails the same way without spending another deployment.
    const again = await failure(deployWith(deployer(), dir, { checkpoint: memoryCheckpoint() }).promise);
    expect(again.code).toBe('BUILD_FAILED');
    expect(again.message).toContain('exited with 1');
    expect(standIn.deployments()).toHaveLength(1);
  });

  it('maps 429 with Retry-After to RateLimitedError carrying the wait', async () => {
    standIn.fail({
      method: 'POST',
      path: '/v13/deployments',
      status: 429,
      headers: { 'retry-after': '120' },
      body: { error: { code: 'rate_limited', message: 'Rate limit exceeded' } },
    });
    const error = await failure(deployWith(deployer(), await site({ 'index.html': 'x' })).promise);
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.retryAfterMs).toBe(120_000);
    expect(error.message).toMatch(/try again in 2 min/);
    expect(creates()).toBe(1); // no hot retry inside the adapter
  });

  it('reads the wait from X-RateLimit-Reset when Retry-After is absent', async () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    standIn.fail({
      method: 'GET',
      path: '/v6/deployments',
      status: 429,
      headers: { 'x-ratelimit-reset': String(now / 1000 + 3600) },
    });
    const error = await failure(
      deployWith(deployer({}, { now: () => now }), await site({ 'index.html': 'x' })).promise,
    );
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.retryAfterMs).toBe(3_600_000);
    expect(error.message).toContain('try again in 1 h (after 2026-01-01T13:00:00.000Z)');
  });

  it('maps the daily deployment cap (as 429 too) to RateLimitedError with the wait', async () => {
    await start({ deploymentsPerDay: 1, capStatus: 429 });
    const capped = await failure(deployWith(deployer(), await site({ 'index.html': 'x' })).promise);
    expect(capped.code).toBe('RATE_LIMITED');
    expect(capped.retryAfterMs).toBe(24 * 3_600_000);
    expect(standIn.deployments()).toHaveLength(1); // staging made it; production met the cap
  });

  it('maps the daily deployment cap to RateLimitedError with the wait Vercel names', async () => {
    await start({ deploymentsPerDay: 0 });
    const error = await failure(deployWith(deployer(), await site({ 'index.html': 'x' })).promise);
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.message).toContain('api-deployments-free-per-day');
    expect(error.retryAfterMs).toBe(24 * 3_600_000);
    expect(error.message).toMatch(/try again in 24 h/);
    expect(creates()).toBe(2); // the first asks for the files, the second meets the cap; no more
  });

  it('maps 5xx to TransientError, and a retry uploads only what is still missing', async () => {
    const files = Object.fromEntries(
      Array.from({ length: 6 }, (_, i) => [`page${i}.html`, `<p>EventHub ${i}</p>`]),
    );
    files['index.html'] = '<h1>EventHub</h1>';
    const dir = await site(files);
    standIn.fail({
      method: 'POST',
      path: '/v2/files',
      status: 503,
      body: { error: { code: 'internal', message: 'Service unavailable' } },
    });
    const error = await failure(deployWith(deployer({ uploadConcurrency: 2 }), dir).promise);
    expect(error.code).toBe('TRANSIENT');
    expect(standIn.deployments()).toHaveLength(0);

    await deployWith(deployer({ uploadConcurrency: 2 }), dir).promise;
    const shas = standIn.uploads.map((u) => u.sha);
    expect(new Set(shas).size).toBe(shas.length); // nothing uploaded twice
    expect(shas).toHaveLength(7);

    standIn.fail({ method: 'POST', path: '/v13/deployments', status: 500 });
    const create = await failure(deployWith(deployer(), dir, { commit: 'ffff000' }).promise);
    expect(create.code).toBe('TRANSIENT');
  });

  it('waits as Retry-After says when a status poll is throttled, then carries on', async () => {
    await start({ pollRateLimit: { every: 2, retryAfterSeconds: 30 } });
    const waits: number[] = [];
    const { promise, report } = deployWith(
      deployer({ maxWaitMs: 10 * 60_000 }, { sleep: async (ms) => void waits.push(ms) }),
      await site({ 'index.html': '<h1>EventHub</h1>' }),
    );
    const result = await promise;
    expect(await fetchPage(result.productionUrl)).toContain('EventHub');
    expect(waits.filter((ms) => ms === 30_000).length).toBeGreaterThanOrEqual(2);
    expect(report.lines.join('\n')).toMatch(/Vercel asked to wait 30 s before the next status request/);
    expect(creates()).toBe(3); // one asks for the files; the 429s made no new deployment
  });

  it('fails as rate limited when a throttled poll asks to wait past maxWaitMs', async () => {
    await start({ pollRateLimit: { every: 1, retryAfterSeconds: 3600 } });
    const error = await failure(
      deployWith(deployer({ maxWaitMs: 60_000 }), await site({ 'index.html': 'x' })).promise,
    );
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.retryAfterMs).toBe(3_600_000);
  });

  it('rides out a few 5xx answers while polling', async () => {
    standIn.fail({ method: 'GET', path: /^\/v13\/deployments\//, status: 502, times: 2 });
    const result = await deployWith(deployer(), await site({ 'index.html': '<h1>EventHub</h1>' })).promise;
    expect(await fetchPage(result.productionUrl)).toContain('EventHub');
  });

  it('rides out a dropped connection while polling', async () => {
    let drops = 1;
    const flaky: typeof fetch = async (input, init) => {
      const polling = String(input).includes('/v13/deployments/') && (init?.method ?? 'GET') === 'GET';
      if (polling && drops-- > 0) throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } });
      return fetch(input, init);
    };
    const result = await deployWith(
      deployer({}, { fetch: flaky }),
      await site({ 'index.html': '<h1>EventHub</h1>' }),
    ).promise;
    expect(drops).toBeLessThan(0);
    expect(await fetchPage(result.stagingUrl, result.stagingHeaders)).toContain('EventHub');
  });

  it('stops at once when its signal is aborted while it waits', async () => {
    const controller = new AbortController();
    const report = recordingReporter();
    const watching = {
      ...report,
      log: (line: string) => {
        report.log(line);
        if (line.includes('is BUILDING')) controller.abort(new Error('SIGTERM'));
      },
    };
    const subject = createVercelDeployer({
      token: standIn.token,
      teamId: TEAM,
      apiUrl: standIn.apiUrl,
      pollIntervalMs: 600_000,
    });
    await expect(
      subject.deploy({
        jobId: 'job_v1',
        commit: 'abc1234',
        siteName: 'eventhub',
        projectName: 'eventhub',
        outputDir: await site({ 'index.html': 'x' }),
        checkpoint: memoryCheckpoint(),
        report: watching,
        signal: controller.signal,
      }),
    ).rejects.toThrow();
    expect(standIn.deployments()).toHaveLength(1);
  });

  it('stops waiting after maxWaitMs and keeps the id for the next attempt', async () => {
    await start({ progression: ['QUEUED', 'BUILDING'] });
    const { promise, checkpoint } = deployWith(
      deployer({ maxWaitMs: 50, pollIntervalMs: 10 }),
      await site({ 'index.html': 'x' }),
    );
    const error = await failure(promise);
    expect(error.code).toBe('TRANSIENT');
    expect(error.message).toMatch(/still BUILDING after/);
    expect(checkpoint.data.stagingDeploymentId).toBe(standIn.deployments()[0]!.id);
  });

  it('never puts the token in an error, even when Vercel echoes it', async () => {
    const token = standIn.token;
    standIn.fail({
      method: 'POST',
      path: '/v13/deployments',
      status: 400,
      body: ({ headers }: { headers: Record<string, unknown> }) => ({
        error: { code: 'bad_request', message: `Invalid request from ${String(headers.authorization)}` },
      }),
    });
    const { promise, report } = deployWith(deployer(), await site({ 'index.html': 'x' }));
    const echoed = await failure(promise);
    expect(echoed.code).toBe('PERMANENT');
    expect(echoed.message).toContain(REDACTED);

    const refused = await failure(
      deployWith(
        createVercelDeployer({ token: `${token}-old`, teamId: TEAM, apiUrl: standIn.apiUrl }),
        await site({ 'index.html': 'x' }),
      ).promise,
    );
    expect(refused.message).toMatch(/VERCEL_TOKEN/);

    for (const error of [echoed, refused]) {
      const text = `${error.message}\n${error.stack}\n${JSON.stringify(error)}\n${String(error.cause ?? '')}`;
      expect(text).not.toContain(token);
    }
    expect(report.lines.join('\n')).not.toContain(token);
  });

  it('serves exactly what was deployed, so the done gate fails a page without the product', async () => {
    const result = await deployWith(deployer(), await site({ 'index.html': '<h1>Coming soon</h1>' })).promise;
    expect(await fetchPage(result.productionUrl)).not.toContain('EventHub');
    expect(await fetchPage(`${result.stagingUrl}/missing.html`, result.stagingHeaders)).toBeUndefined();
  });

  it('makes a single deployment when the target is preview', async () => {
    const result = await deployWith(
      deployer({ target: 'preview' }),
      await site({ 'index.html': '<h1>EventHub</h1>' }),
    ).promise;
    expect(standIn.deployments()).toHaveLength(1);
    expect(result.productionUrl).toBe(result.stagingUrl);
  });

  it('has a stand-in as strict as Vercel where the deployer relies on it', async () => {
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(
        `${standIn.apiUrl}${path}${path.includes('?') ? '&' : '?'}teamId=${TEAM}`,
        {
          method,
          headers: { authorization: `Bearer ${standIn.token}`, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        },
      );
      return { status: response.status, body: (await response.text()).slice(0, 300) };
    };
    // Project names as Vercel takes them; a taken one is a 409.
    expect((await call('POST', '/v11/projects', { name: 'EventHub' })).status).toBe(400);
    expect((await call('POST', '/v11/projects', { name: 'eventhub-1a2b3c', nope: 1 })).status).toBe(400);
    expect((await call('POST', '/v11/projects', { name: 'eventhub-1a2b3c' })).status).toBe(200);
    expect((await call('POST', '/v11/projects', { name: 'eventhub-1a2b3c' })).status).toBe(409);
    // A deployment into a project id that does not exist is refused.
    const files = [{ file: 'index.html', sha: sha1('x'), size: 1 }];
    expect(
      (await call('POST', '/v13/deployments', { name: 'a', project: 'prj_missing', files })).status,
    ).toBe(404);
    // The bypass endpoint takes `generate` / `revoke` only.
    expect((await call('PATCH', '/v1/projects/eventhub-1a2b3c/protection-bypass', { make: {} })).status).toBe(
      400,
    );
    expect(
      (await call('PATCH', '/v1/projects/eventhub-1a2b3c/protection-bypass', { generate: {} })).body,
    ).toMatch(/"scope":"automation-bypass"/);
    // The deployments list takes the documented filters only.
    expect((await call('GET', '/v6/deployments?meta-jobId=job_v1')).status).toBe(400);
  });

  it('refuses an empty site and bad settings with clear errors', async () => {
    const empty = await failure(deployWith(deployer(), await site({})).promise);
    expect(empty.message).toMatch(/no files to deploy/);
    expect(() => createVercelDeployer({ token: ' ' })).toThrow(ConfigError);
    expect(() => createVercelDeployer({ token: 'x'.repeat(24), apiUrl: 'not a url' })).toThrow(
      /VERCEL_API_URL/,
    );
  });
});
