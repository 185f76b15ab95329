import { createFakePipeline } from '@mvp-pipeline/adapters-local';
import { createCrashSwitch, type Fault, withFaults } from '@mvp-pipeline/adapters-local/testing';
import { describe, expect, it } from 'vitest';
import { aiCostLine } from '../domain/ai-cost.js';
import type { Job } from '../domain/job.js';
import type { WorkStep } from '../domain/steps.js';
import { sampleSpec } from '../testing/fixtures.js';
import { cancelJob } from './cancel-job.js';
import type { PipelineDeps, PipelinePorts, PipelineSettings } from './deps.js';
import { getJob } from './queries.js';
import { runJob } from './run-job.js';
import { submitJob } from './submit-job.js';
import { runWorker } from './worker.js';

const SECRET = 'ghp_' + 'abcdefghijklmnopqrstuvwxyz0123456789';

function setup(settings: Partial<PipelineSettings> = {}) {
  return createFakePipeline({ specs: [sampleSpec({ userId: 'user_1', productId: 'product_1' })], settings });
}

type Fakes = ReturnType<typeof setup>['fakes'];

async function submitted(deps: PipelineDeps): Promise<Job> {
  return (await submitJob(deps, { userId: 'user_1', productId: 'product_1' })).job;
}

/** Deps whose `port` misbehaves as `fault` says. */
function faulty<K extends keyof PipelinePorts>(
  deps: PipelineDeps,
  port: K,
  method: keyof PipelinePorts[K],
  fault: Fault,
) {
  return {
    ...deps,
    ports: { ...deps.ports, [port]: withFaults(deps.ports[port], { [method]: fault } as never) },
  } as PipelineDeps;
}

/** The port method each step's work starts with. */
const STEP_PORTS: Array<[WorkStep, keyof PipelinePorts, string]> = [
  ['FETCHING_DATA', 'specs', 'getSpec'],
  ['CREATING_REPO', 'repos', 'ensureRepo'],
  ['AI_DEVELOPMENT', 'generator', 'generate'],
  ['BUILDING', 'builder', 'build'],
  ['DEPLOYING', 'deployer', 'deploy'],
];

function expectEachSideEffectOnce(fakes: Fakes) {
  expect(fakes.repos.calls.count('created')).toBe(1);
  expect(fakes.deployer.calls.count('created')).toBe(1);
  expect(fakes.notifier.sent).toHaveLength(1);
}

const waitFor = async (condition: () => boolean) => {
  for (let i = 0; i < 2000 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!condition()) throw new Error('condition never became true');
};

describe('runJob', () => {
  it('runs a job from QUEUED to COMPLETED, recording every step', async () => {
    const { deps, fakes } = setup();
    const queued = await submitted(deps);
    expect(queued).toMatchObject({ status: 'PENDING', currentStep: 'QUEUED', progress: 0 });
    expect(fakes.trigger.requests).toEqual([
      { jobId: queued.jobId, userId: 'user_1', productId: 'product_1' },
    ]);

    const result = await runJob(deps, { jobId: queued.jobId });
    expect(result.outcome).toBe('COMPLETED');
    const job = await getJob(deps, { jobId: queued.jobId });
    expect(job).toMatchObject({
      status: 'COMPLETED',
      currentStep: 'COMPLETED',
      progress: 100,
      attempt: 1,
      lease: null,
    });
    expect(job.urls.production).toMatch(/^memory:/);
    expect(job.urls.codeRepository).toMatch(/eventhub-mvp/);
    expect(job.resources.githubRepo?.branch).toBe('main');
    expect(Object.keys(job.checkpoints)).toEqual(
      expect.arrayContaining(['FETCHING_DATA', 'CREATING_REPO', 'AI_DEVELOPMENT', 'BUILDING', 'DEPLOYING']),
    );
    expect(job.timestamps.startedAt).toBeDefined();
    expect(Date.parse(job.timestamps.estimatedCompletion!)).toBeGreaterThan(
      Date.parse(job.timestamps.startedAt!),
    );
    expect(job.timestamps.completedAt).toBeDefined();
    expect(job.checkpoints.notified).toEqual(['COMPLETED']);
    expectEachSideEffectOnce(fakes);
    expect(fakes.notifier.sent[0]).toMatchObject({
      status: 'COMPLETED',
      businessName: 'EventHub',
      jobId: job.jobId,
    });
    const { logs } = await deps.ports.store.readHistory({ jobId: job.jobId });
    expect(logs.map((l) => l.step)).toEqual(expect.arrayContaining(['FETCHING_DATA', 'DEPLOYING']));
    expect(job.errors).toEqual([]);
  });

  it.each(STEP_PORTS)(
    'retries %s when it fails transiently twice, then completes',
    async (step, port, method) => {
      const { deps, fakes } = setup();
      const job = await submitted(deps);
      const result = await runJob(faulty(deps, port, method as never, { kind: 'transient', times: 2 }), {
        jobId: job.jobId,
      });
      expect(result.outcome).toBe('COMPLETED');
      const errors = result.job.errors.filter((e) => e.step === step);
      expect(errors).toHaveLength(2);
      expect(errors.every((e) => e.retryable && e.code === 'TRANSIENT')).toBe(true);
      expectEachSideEffectOnce(fakes);
    },
  );

  it.each(STEP_PORTS)('fails the job at once when %s fails permanently', async (step, port, method) => {
    const { deps, fakes } = setup();
    const job = await submitted(deps);
    const result = await runJob(
      faulty(deps, port, method as never, { kind: 'permanent', message: `no ${SECRET}` }),
      {
        jobId: job.jobId,
      },
    );
    expect(result.outcome).toBe('FAILED');
    const final = await getJob(deps, { jobId: job.jobId });
    expect(final).toMatchObject({ status: 'FAILED', currentStep: step, lease: null });
    expect(final.errors.at(-1)).toMatchObject({ step, code: 'PERMANENT', retryable: false });
    expect(fakes.notifier.sent).toEqual([
      expect.objectContaining({ status: 'FAILED', error: expect.objectContaining({ step }) }),
    ]);
    expect(JSON.stringify(final)).not.toContain(SECRET);
    expect(JSON.stringify(fakes.notifier.sent)).not.toContain(SECRET);
  });

  const CRASH_POINTS: Array<[string, keyof PipelinePorts, string, number]> = [
    ['FETCHING_DATA after reading the spec', 'specs', 'getSpec', 1],
    ['CREATING_REPO after creating the repo', 'repos', 'ensureRepo', 1],
    ['CREATING_REPO after pushing the template', 'repos', 'push', 1],
    ['AI_DEVELOPMENT after generating', 'generator', 'generate', 1],
    ['AI_DEVELOPMENT after pushing the code', 'repos', 'push', 2],
    ['BUILDING after building', 'builder', 'build', 1],
    ['DEPLOYING after deploying', 'deployer', 'deploy', 1],
    ['the end after notifying', 'notifier', 'notify', 1],
  ];

  it.each(CRASH_POINTS)(
    'resumes a job whose runner died in %s, doing every side effect once',
    async (_, port, method, onCall) => {
      const { deps, fakes } = setup();
      const job = await submitted(deps);
      const crash = createCrashSwitch();
      const dead = Object.fromEntries(
        Object.entries(deps.ports).map(([name, p]) => [
          name,
          ['clock', 'ids', 'logger'].includes(name) ? p : crash.guard(p),
        ]),
      ) as unknown as PipelinePorts;
      dead[port] = crash.guard(
        withFaults(deps.ports[port], { [method]: { kind: 'crash', crash, onCall } } as never),
      ) as never;
      void runJob({ ...deps, ports: dead }, { jobId: job.jobId, runnerId: 'doomed' });
      await waitFor(() => crash.crashed);

      // Until its lease expires, the dead runner's job is left alone.
      expect((await runJob(deps, { jobId: job.jobId, runnerId: 'early' })).outcome).toBe('LEASE_HELD');
      fakes.clock.advance(deps.settings.leaseTtlMs + 1);
      const result = await runJob(deps, { jobId: job.jobId, runnerId: 'rescuer' });
      expect(['COMPLETED', 'ALREADY_ENDED']).toContain(result.outcome);
      const final = await getJob(deps, { jobId: job.jobId });
      expect(final).toMatchObject({ status: 'COMPLETED', lease: null });
      expectEachSideEffectOnce(fakes);
      expect(fakes.repos.calls.count('pushed')).toBe(2);
    },
  );

  it('lets one of two runners started together do the work; the other changes nothing', async () => {
    const { deps, fakes } = setup();
    const job = await submitted(deps);
    const results = await Promise.all([
      runJob(deps, { jobId: job.jobId, runnerId: 'a' }),
      runJob(deps, { jobId: job.jobId, runnerId: 'b' }),
    ]);
    expect(results.map((r) => r.outcome).sort()).toEqual(['COMPLETED', 'LEASE_HELD']);
    const loser = results.find((r) => r.outcome === 'LEASE_HELD')!;
    expect(loser.job.executionLogs.some((l) => l.message.includes('Attempt 1'))).toBe(false);
    expect((await getJob(deps, { jobId: job.jobId })).attempt).toBe(1);
    expectEachSideEffectOnce(fakes);
  });

  it('stops a running job that is cancelled mid-step', async () => {
    const { deps, fakes } = setup({ leaseTtlMs: 300 });
    const job = await submitted(deps);
    const running = runJob(faulty(deps, 'generator', 'generate', { kind: 'hang' }), { jobId: job.jobId });
    await waitFor(
      () => fakes.generator.calls.count('generate') === 0 && fakes.repos.calls.count('pushed') === 1,
    );
    expect((await cancelJob(deps, { jobId: job.jobId })).outcome).toBe('REQUESTED');
    const result = await running;
    expect(result.outcome).toBe('CANCELLED');
    expect(await getJob(deps, { jobId: job.jobId })).toMatchObject({
      status: 'CANCELLED',
      currentStep: 'AI_DEVELOPMENT',
      lease: null,
    });
    expect(fakes.notifier.sent.map((n) => n.status)).toEqual(['CANCELLED']);
  });

  it('cancels a queued job at once', async () => {
    const { deps, fakes } = setup();
    const job = await submitted(deps);
    expect((await cancelJob(deps, { jobId: job.jobId })).outcome).toBe('CANCELLED');
    expect((await getJob(deps, { jobId: job.jobId })).status).toBe('CANCELLED');
    expect((await cancelJob(deps, { jobId: job.jobId })).outcome).toBe('ALREADY_ENDED');
    expect(fakes.repos.calls.count('ensureRepo')).toBe(0);
  });

  it('on abort (SIGTERM) checkpoints, releases the lease and leaves the job for the next runner', async () => {
    const { deps, fakes } = setup();
    const job = await submitted(deps);
    const sigterm = new AbortController();
    const running = runJob(faulty(deps, 'builder', 'build', { kind: 'hang' }), {
      jobId: job.jobId,
      signal: sigterm.signal,
    });
    await waitFor(() => fakes.repos.calls.count('pushed') === 2);
    await new Promise((r) => setTimeout(r, 20));
    sigterm.abort(new Error('SIGTERM'));
    const result = await running;
    expect(result.outcome).toBe('INTERRUPTED');
    const left = await getJob(deps, { jobId: job.jobId });
    expect(left).toMatchObject({ status: 'IN_PROGRESS', currentStep: 'BUILDING', lease: null });
    expect(left.checkpoints.AI_DEVELOPMENT).toBeDefined();
    expect(left.executionLogs.at(-1)?.message).toMatch(/interrupted/i);
    expect(fakes.notifier.sent).toHaveLength(0);

    const resumed = await runJob(deps, { jobId: job.jobId });
    expect(resumed.outcome).toBe('COMPLETED');
    expect(resumed.job.attempt).toBe(2);
    expect(fakes.generator.calls.count('generate')).toBe(1);
    expectEachSideEffectOnce(fakes);
  });

  it('sends a failed build back to AI development, at most maxRepairRounds times', async () => {
    const { deps, fakes } = setup({ maxRepairRounds: 2 });
    const job = await submitted(deps);
    const broken = {
      ok: false as const,
      summary: 'tsc found 1 error',
      output: 'src/app.ts(1,1): error TS1005',
    };
    fakes.builder.script.push(broken, broken, broken);
    const result = await runJob(deps, { jobId: job.jobId });
    expect(result.outcome).toBe('FAILED');
    expect(result.job).toMatchObject({ status: 'FAILED', currentStep: 'BUILDING', repairRounds: 2 });
    expect(result.job.errors.at(-1)).toMatchObject({ code: 'BUILD_FAILED', step: 'BUILDING' });
    expect(result.job.errors.at(-1)?.message).toMatch(/after 2 repair rounds/);
    expect(fakes.generator.calls.count('generate')).toBe(3);
    expect(fakes.builder.calls.count('build')).toBe(3);
  });

  it('completes after a repair round fixes the build, handing the build errors to the generator', async () => {
    const { deps, fakes } = setup();
    const job = await submitted(deps);
    fakes.builder.script.push({ ok: false, summary: 'missing section', output: 'ERR missing section' });
    const calls: unknown[] = [];
    const spying = {
      ...deps,
      ports: {
        ...deps.ports,
        generator: {
          specificationVersion: 'v1' as const,
          generate: (options: Parameters<typeof fakes.generator.generate>[0]) => {
            calls.push(options.repair);
            return fakes.generator.generate(options);
          },
        },
      },
    };
    const result = await runJob(spying, { jobId: job.jobId });
    expect(result.outcome).toBe('COMPLETED');
    expect(result.job.repairRounds).toBe(1);
    expect(calls).toEqual([undefined, { round: 1, buildOutput: 'ERR missing section' }]);
  });

  it('records the AI usage of the first development and of each repair round apart', async () => {
    const { deps, fakes } = setup();
    const job = await submitted(deps);
    fakes.builder.script.push({ ok: false, summary: 'missing section', output: 'ERR missing section' });
    const reporting = {
      ...deps,
      ports: {
        ...deps.ports,
        generator: {
          specificationVersion: 'v1' as const,
          generate: (options: Parameters<typeof fakes.generator.generate>[0]) => {
            // Two turns in the first development, one in the repair round.
            const turns = options.repair ? [0.23] : [0.3, 0.31];
            for (const costUsd of turns) {
              options.report.usage({ inputTokens: 100, cacheReadTokens: 900, outputTokens: 50, costUsd });
            }
            return fakes.generator.generate(options);
          },
        },
      },
    };
    const result = await runJob(reporting, { jobId: job.jobId });
    expect(result.outcome).toBe('COMPLETED');
    const { usage } = result.job;
    expect(usage.byRound?.map((r) => [r.round, r.step, r.costUsd, r.cacheReadTokens])).toEqual([
      [0, 'AI_DEVELOPMENT', 0.61, 1_800],
      [1, 'AI_DEVELOPMENT', 0.23, 900],
    ]);
    expect(usage.byStep.AI_DEVELOPMENT?.costUsd).toBe(0.84);
    expect(usage.costUsd).toBe(0.84);
    expect(aiCostLine(usage)).toMatch(
      /^AI cost \$0\.84 \(3\.0k tokens in, cache 90%.*: development \$0\.61, repair 1 \$0\.23$/,
    );
  });

  it('fails a step that hangs past its deadline, naming the step', async () => {
    const { deps } = setup({ stepTimeoutMs: { DEPLOYING: 50 } as never });
    const job = await submitted(deps);
    const result = await runJob(faulty(deps, 'deployer', 'deploy', { kind: 'hang' }), { jobId: job.jobId });
    expect(result.outcome).toBe('FAILED');
    expect(result.job.errors.at(-1)).toMatchObject({ code: 'DEADLINE_EXCEEDED', step: 'DEPLOYING' });
  });

  it('fails as rate-limited, with the time to wait, when the wait asked for is too long', async () => {
    const { deps } = setup();
    const job = await submitted(deps);
    const result = await runJob(
      faulty(deps, 'deployer', 'deploy', { kind: 'transient', times: 1, retryAfterMs: 2 * 3600_000 }),
      { jobId: job.jobId },
    );
    expect(result.outcome).toBe('FAILED');
    expect(result.job.errors.at(-1)).toMatchObject({ code: 'RATE_LIMITED', step: 'DEPLOYING' });
    expect(result.job.errors.at(-1)?.message).toMatch(/try again after 2026-/);
  });

  it('does not count a deployment whose page does not name the product', async () => {
    const { deps, fakes } = setup();
    const job = await submitted(deps);
    const wrongPage = {
      ...fakes.siteChecker,
      check: async () => ({ ok: false, problems: ['the page does not name EventHub'], checker: 'memory' }),
    };
    const result = await runJob(
      { ...deps, ports: { ...deps.ports, siteChecker: wrongPage } },
      { jobId: job.jobId },
    );
    expect(result.outcome).toBe('FAILED');
    expect(result.job.currentStep).toBe('DEPLOYING');
    expect(result.job.errors.at(-1)?.message).toMatch(/does not name EventHub/);
    expect(result.job.urls.production).toBeUndefined();
  });

  it('sends the staging headers to the staging check only, and records them nowhere', async () => {
    const { deps, fakes } = setup();
    const job = await submitted(deps);
    const bypass = 'bypass_' + 'Zq8pL2vN5xR7tY1wK4mB6cD9';
    const deployer = {
      ...deps.ports.deployer,
      deploy: async (options: Parameters<PipelinePorts['deployer']['deploy']>[0]) => ({
        ...(await deps.ports.deployer.deploy(options)),
        stagingHeaders: { 'x-vercel-protection-bypass': bypass },
      }),
    };
    const seen: Array<{ url: string; headers: unknown }> = [];
    const siteChecker = {
      ...fakes.siteChecker,
      check: async (options: Parameters<PipelinePorts['siteChecker']['check']>[0]) => {
        seen.push({ url: options.url, headers: options.headers });
        return fakes.siteChecker.check(options);
      },
    };
    const result = await runJob(
      { ...deps, ports: { ...deps.ports, deployer, siteChecker } },
      { jobId: job.jobId },
    );
    expect(result.outcome).toBe('COMPLETED');
    expect(seen).toEqual([
      { url: result.job.urls.staging, headers: { 'x-vercel-protection-bypass': bypass } },
      { url: result.job.urls.production, headers: undefined },
    ]);
    const history = await deps.ports.store.readHistory({ jobId: job.jobId });
    expect(JSON.stringify([result.job, history])).not.toContain(bypass);
  });

  it('keeps secrets out of the record even when an adapter puts one in an error', async () => {
    const { deps } = setup();
    const job = await submitted(deps);
    const result = await runJob(
      faulty(deps, 'builder', 'build', { kind: 'permanent', message: `auth ${SECRET} refused` }),
      {
        jobId: job.jobId,
      },
    );
    const history = await deps.ports.store.readHistory({ jobId: job.jobId });
    expect(JSON.stringify([result.job, history])).not.toContain(SECRET);
  });

  it('gives up on a job that keeps killing its runners', async () => {
    const { deps } = setup({ maxAttempts: 2 });
    const job = await submitted(deps);
    for (let i = 0; i < 2; i++) {
      const sigterm = new AbortController();
      const running = runJob(faulty(deps, 'generator', 'generate', { kind: 'hang' }), {
        jobId: job.jobId,
        signal: sigterm.signal,
      });
      await new Promise((r) => setTimeout(r, 20));
      sigterm.abort();
      expect((await running).outcome).toBe('INTERRUPTED');
    }
    const result = await runJob(deps, { jobId: job.jobId });
    expect(result.outcome).toBe('FAILED');
    expect(result.job.errors.at(-1)?.message).toMatch(/Gave up after 2 attempts/);
  });
});

describe('submitJob', () => {
  it('rejects an invalid request with field-named problems and creates nothing', async () => {
    const { deps, fakes } = setup();
    await expect(submitJob(deps, { userId: '', productId: 7, extra: true })).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringMatching(/userId: must not be empty.*productId: must be a string/),
    });
    expect(fakes.store.size()).toBe(0);
    expect(fakes.trigger.requests).toHaveLength(0);
  });

  it('creates no job for a product the user does not own', async () => {
    const { deps, fakes } = setup();
    await expect(submitJob(deps, { userId: 'intruder', productId: 'product_1' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(fakes.store.size()).toBe(0);
  });

  it('leaves no job looking queued when the trigger fails', async () => {
    const { deps, fakes } = setup();
    const broken = faulty(deps, 'trigger', 'trigger', { kind: 'transient', times: 99 });
    await expect(submitJob(broken, { userId: 'user_1', productId: 'product_1' })).rejects.toMatchObject({
      code: 'TRANSIENT',
    });
    const { jobs } = await deps.ports.store.listByUser({ userId: 'user_1' });
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ status: 'FAILED', currentStep: 'QUEUED' });
    expect(jobs[0]?.errors[0]?.message).toMatch(/Could not queue/);
    expect(fakes.store.size()).toBe(1);
  });
});

describe('runWorker', () => {
  it('runs every queued job and the orphan of a dead runner, with a concurrency limit', async () => {
    const { deps, fakes } = setup();
    const jobs = await Promise.all([1, 2, 3, 4, 5].map(() => submitted(deps)));
    // An orphan: in progress, lease expired.
    const orphan = jobs[0]!;
    await deps.ports.store.acquireLease({
      jobId: orphan.jobId,
      owner: 'dead',
      now: fakes.clock.now(),
      ttlMs: 1,
    });
    fakes.clock.advance(10);
    const summary = await runWorker(deps, { concurrency: 2, once: true, pollIntervalMs: 10 });
    expect(summary.outcomes.COMPLETED).toBe(5);
    for (const job of jobs) expect((await getJob(deps, { jobId: job.jobId })).status).toBe('COMPLETED');
    expect(fakes.repos.calls.count('created')).toBe(5);
    expect(fakes.notifier.sent).toHaveLength(5);
  });
});

describe('notifications', () => {
  it('retries a transiently failing notification and sends it once', async () => {
    const { deps, fakes } = setup();
    const job = await submitted(deps);
    const result = await runJob(faulty(deps, 'notifier', 'notify', { kind: 'transient', times: 2 }), {
      jobId: job.jobId,
    });
    expect(result.job.checkpoints.notified).toEqual(['COMPLETED']);
    expect(fakes.notifier.sent).toHaveLength(1);
  });

  it('leaves an unsent notification to a later runner, and gives up on one that can never be sent', async () => {
    const { deps, fakes } = setup();
    const job = await submitted(deps);
    const down = await runJob(faulty(deps, 'notifier', 'notify', { kind: 'transient', times: 99 }), {
      jobId: job.jobId,
    });
    expect(down.outcome).toBe('COMPLETED');
    expect(down.job.checkpoints.notified).toBeUndefined();
    const { jobs } = await deps.ports.store.listRunnable({ now: fakes.clock.now() });
    expect(jobs.map((j) => j.jobId)).toEqual([job.jobId]);

    const refused = await runJob(faulty(deps, 'notifier', 'notify', { kind: 'permanent' }), {
      jobId: job.jobId,
    });
    expect(refused.outcome).toBe('ALREADY_ENDED');
    expect(refused.job.executionLogs.at(-1)?.message).toMatch(/Gave up on the COMPLETED notification/);
    expect((await deps.ports.store.listRunnable({ now: fakes.clock.now() })).jobs).toEqual([]);
    expect(fakes.notifier.sent).toHaveLength(0);
  });
});

describe('store hiccups', () => {
  it('retries a transient failure of a record write and completes', async () => {
    const { deps, fakes } = setup();
    const job = await submitted(deps);
    const result = await runJob(faulty(deps, 'store', 'update', { kind: 'transient', times: 2 }), {
      jobId: job.jobId,
    });
    expect(result.outcome).toBe('COMPLETED');
    expectEachSideEffectOnce(fakes);
  });

  it('stops waiting for a notifier that hangs', async () => {
    const { deps, fakes } = setup({ stepTimeoutMs: { DEPLOYING: 50 } as never });
    const job = await submitted(deps);
    const result = await runJob(faulty(deps, 'notifier', 'notify', { kind: 'hang' }), { jobId: job.jobId });
    expect(result.outcome).toBe('COMPLETED');
    expect(result.job.executionLogs.at(-1)?.message).toMatch(/did not answer within 50 ms/);
    expect(fakes.notifier.sent).toHaveLength(0);
  });
});
