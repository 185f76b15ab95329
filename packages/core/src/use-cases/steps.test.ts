import { getEventListeners } from 'node:events';
import {
  createFakePipeline,
  createMemoryBuildOutputs,
  createMemoryTemplateSource,
  MEMORY_TEMPLATE_MANIFEST,
} from '@mvp-pipeline/adapters-local';
import { withFaults } from '@mvp-pipeline/adapters-local/testing';
import { describe, expect, it } from 'vitest';
import { deliveryOf, type JourneyReport } from '../domain/delivery.js';
import type { ProductSpec } from '../domain/spec.js';
import type { TemplateManifest } from '../domain/template.js';
import { BudgetExceededError } from '../errors.js';
import type { AppChecker } from '../ports/app-checker.port.js';
import type { DatabaseProvisioner } from '../ports/database-provisioner.port.js';
import { sampleSpec } from '../testing/fixtures.js';
import type { PipelineDeps } from './deps.js';
import { onBaseline, withFallbackGenerator } from './fallback-generator.js';
import { runJob } from './run-job.js';
import { submitJob } from './submit-job.js';
import { runWorker } from './worker.js';

function setup() {
  const made = createFakePipeline({ specs: [sampleSpec({ userId: 'user_1', productId: 'product_1' })] });
  filesOf.set(made.deps, made.fakes.files);
  return made;
}

const filesOf = new WeakMap<PipelineDeps, ReturnType<typeof createFakePipeline>['fakes']['files']>();
const fakesOf = (deps: PipelineDeps) => filesOf.get(deps)!;

const edited = (): ProductSpec => sampleSpec({ userId: 'user_1', productId: 'product_1', name: 'OtherHub' });

const waitFor = async (condition: () => boolean) => {
  for (let i = 0; i < 2000 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!condition()) throw new Error('condition never became true');
};

async function submitted(deps: PipelineDeps) {
  return (await submitJob(deps, { userId: 'user_1', productId: 'product_1' })).job;
}

/** Runs the job until `port.method` is called, then interrupts it there (SIGTERM). */
async function interruptAt(
  deps: PipelineDeps,
  jobId: string,
  port: 'builder' | 'deployer',
  method: 'build' | 'deploy',
) {
  const sigterm = new AbortController();
  let reached = false;
  const hanging = withFaults(deps.ports[port], { [method]: { kind: 'hang' } } as never);
  const spying = new Proxy(hanging, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (key !== method) return value;
      return (...args: unknown[]) => {
        reached = true;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const running = runJob(
    { ...deps, ports: { ...deps.ports, [port]: spying } },
    { jobId, signal: sigterm.signal },
  );
  await waitFor(() => reached);
  sigterm.abort(new Error('SIGTERM'));
  const result = await running;
  expect(result.outcome).toBe('INTERRUPTED');
  return result.job;
}

describe('steps work from the checkpointed spec', () => {
  it('builds the spec it fetched when the source changes between FETCHING_DATA and BUILDING', async () => {
    const { deps, fakes } = setup();
    const job = await submitted(deps);
    const seen: string[] = [];
    const generator = {
      specificationVersion: 'v1' as const,
      generate: async (options: Parameters<typeof fakes.generator.generate>[0]) => {
        // The founder edits the product while the job is past FETCHING_DATA.
        await fakes.specs.register(edited());
        seen.push(options.spec.product.name);
        return fakes.generator.generate(options);
      },
    };
    let built: string | undefined;
    const builder = {
      specificationVersion: 'v1' as const,
      build: async (options: Parameters<typeof fakes.builder.build>[0]) => {
        built = fakes.files.read(`${options.workspace.dir}/src/index.html`);
        return fakes.builder.build(options);
      },
    };
    const result = await runJob(
      { ...deps, ports: { ...deps.ports, generator, builder } },
      { jobId: job.jobId },
    );
    expect(result.outcome).toBe('COMPLETED');
    expect(seen).toEqual(['EventHub']);
    expect(built).toContain('EventHub');
    expect(built).not.toContain('OtherHub');
    expect(result.job.checkpoints.FETCHING_DATA?.spec?.product.name).toBe('EventHub');
    expect(result.job.businessName).toBe('EventHub');
  });

  it('builds the spec it started with after an interruption, and logs that the source changed', async () => {
    const { deps, fakes } = setup();
    const job = await submitted(deps);
    await interruptAt(deps, job.jobId, 'builder', 'build');
    await fakes.specs.register(edited());
    const result = await runJob(deps, { jobId: job.jobId });
    expect(result.outcome).toBe('COMPLETED');
    const site = fakes.files.read(result.job.urls.production!.slice('memory://'.length));
    expect(site).toContain('EventHub');
    expect(site).not.toContain('OtherHub');
    const { logs } = await deps.ports.store.readHistory({ jobId: job.jobId });
    expect(logs.some((l) => l.level === 'warn' && /changed in its source/.test(l.message))).toBe(true);
  });

  it('does not log a change when the source still holds the spec the job started with', async () => {
    const { deps } = setup();
    const job = await submitted(deps);
    await interruptAt(deps, job.jobId, 'builder', 'build');
    await runJob(deps, { jobId: job.jobId });
    const { logs } = await deps.ports.store.readHistory({ jobId: job.jobId });
    expect(logs.some((l) => /changed in its source/.test(l.message))).toBe(false);
  });
});

describe('a job resumed at DEPLOYING', () => {
  it('deploys the build output this machine kept for its commit without building again', async () => {
    const { deps, fakes } = setup();
    const job = await submitted(deps);
    const left = await interruptAt(deps, job.jobId, 'deployer', 'deploy');
    expect(left.currentStep).toBe('DEPLOYING');
    expect(fakes.builder.calls.count('build')).toBe(1);
    const result = await runJob(deps, { jobId: job.jobId });
    expect(result.outcome).toBe('COMPLETED');
    expect(fakes.builder.calls.count('build')).toBe(1);
    expect(fakes.deployer.calls.count('created')).toBe(1);
  });

  it('rebuilds exactly once on a fresh machine', async () => {
    const { deps, fakes } = setup();
    const job = await submitted(deps);
    await interruptAt(deps, job.jobId, 'deployer', 'deploy');
    expect(fakes.builder.calls.count('build')).toBe(1);
    // Another machine: a store of build outputs that holds nothing of this job.
    const fresh = { ...deps, ports: { ...deps.ports, buildOutputs: createMemoryBuildOutputs(fakes.files) } };
    await fresh.ports.buildOutputs.discard({ jobId: job.jobId });
    const result = await runJob(fresh, { jobId: job.jobId });
    expect(result.outcome).toBe('COMPLETED');
    expect(fakes.builder.calls.count('build')).toBe(2);
    expect(result.job.executionLogs.some((l) => /building it again/.test(l.message))).toBe(true);
  });

  it('rebuilds exactly once without a build output store', async () => {
    const { deps, fakes } = setup();
    const job = await submitted(deps);
    await interruptAt(deps, job.jobId, 'deployer', 'deploy');
    const { buildOutputs: _none, ...ports } = deps.ports;
    const result = await runJob({ ...deps, ports }, { jobId: job.jobId });
    expect(result.outcome).toBe('COMPLETED');
    expect(fakes.builder.calls.count('build')).toBe(2);
  });
});

describe('runWorker', () => {
  it('adds no abort listener per poll while idle', async () => {
    const { deps } = setup();
    const stop = new AbortController();
    let polls = 0;
    const store = new Proxy(deps.ports.store, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (key !== 'listRunnable') return value;
        return (...args: unknown[]) => {
          polls++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const running = runWorker(
      { ...deps, ports: { ...deps.ports, store } },
      {
        concurrency: 1,
        pollIntervalMs: 1,
        signal: stop.signal,
      },
    );
    await waitFor(() => polls >= 30);
    expect(getEventListeners(stop.signal, 'abort').length).toBeLessThanOrEqual(1);
    stop.abort();
    await running;
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
  });

  it('keeps polling through a store outage and runs the job once the store answers', async () => {
    const { deps, fakes } = setup();
    const job = await submitted(deps);
    const outage = deps.settings.retry.maxAttempts * 2 + 1;
    const store = withFaults(deps.ports.store, { listRunnable: { kind: 'transient', times: outage } });
    const stop = new AbortController();
    const pollErrors: string[] = [];
    const summary = await runWorker(
      { ...deps, ports: { ...deps.ports, store } },
      {
        concurrency: 1,
        pollIntervalMs: 1,
        signal: stop.signal,
        onResult: () => stop.abort(),
        onPollError: (error) => pollErrors.push(error.code),
      },
    );
    expect(summary.outcomes.COMPLETED).toBe(1);
    expect(pollErrors).toEqual(['TRANSIENT', 'TRANSIENT']);
    expect(fakes.notifier.sent.map((n) => n.jobId)).toEqual([job.jobId]);
    expect(fakes.logger.entries.some((l) => /Could not ask the store/.test(l.message))).toBe(true);
  });
});

describe('what a job delivers', () => {
  const withTemplate = (manifest: Partial<TemplateManifest>, files: Record<string, string> = {}) => {
    const { deps, fakes } = setup();
    const templates = createMemoryTemplateSource(fakes.files, {
      landing: {
        manifest: { ...MEMORY_TEMPLATE_MANIFEST, ...manifest },
        files: { 'src/index.html': '<h1>{{name}}</h1>', ...files },
      },
    });
    return { deps: { ...deps, ports: { ...deps.ports, templates } }, fakes };
  };

  it('fails AI_DEVELOPMENT, naming the files, when the generator changes a protected file', async () => {
    const { deps, fakes } = withTemplate(
      { protectedFiles: ['lib/auth.ts', 'lib/checks/'] },
      { 'lib/auth.ts': 'export const auth = true;', 'lib/checks/a.ts': 'a', 'lib/free.ts': 'free' },
    );
    const generate = deps.ports.generator.generate.bind(deps.ports.generator);
    const generator = {
      ...deps.ports.generator,
      generate: async (options: Parameters<typeof generate>[0]) => {
        fakes.files.write(`${options.workspace.dir}/lib/auth.ts`, 'export const auth = false;');
        fakes.files.write(`${options.workspace.dir}/lib/checks/b.ts`, 'planted');
        fakes.files.write(`${options.workspace.dir}/lib/free.ts`, 'changed');
        return generate(options);
      },
    };
    const patched = { ...deps, ports: { ...deps.ports, generator } };
    const job = await submitted(patched);
    const { job: done } = await runJob(patched, { jobId: job.jobId });
    expect(done.status).toBe('FAILED');
    expect(done.currentStep).toBe('AI_DEVELOPMENT');
    expect(done.errors.at(-1)?.message).toContain('protects: lib/auth.ts, lib/checks/b.ts');
    expect(done.errors.at(-1)?.message).not.toContain('lib/free.ts');
  });

  it('says "landing page only" and lists every key feature as not built on a template without a model', async () => {
    const { deps } = setup();
    const job = await submitted(deps);
    const { job: done } = await runJob(deps, { jobId: job.jobId });
    expect(done.status).toBe('COMPLETED');
    const delivery = deliveryOf(done);
    expect(delivery?.kind).toBe('landing-page-only');
    expect(delivery?.features.length).toBeGreaterThan(0);
    expect(delivery?.features.every((f) => f.builtBy === null)).toBe(true);
    expect(done.executionLogs.map((l) => l.message).join('\n')).toMatch(/Landing page only/);
  });

  it('picks the template the spec asks for unless the request names one', async () => {
    const { deps, fakes } = setup();
    const staticSpec = sampleSpec({ userId: 'user_1', productId: 'product_2' });
    staticSpec.specifications = {
      ...staticSpec.specifications,
      technicalRequirements: { framework: 'Static' },
    };
    await fakes.specs.register(staticSpec);
    const app = { ...deps, settings: { ...deps.settings, defaultTemplate: 'app' } };
    expect((await submitJob(app, { userId: 'user_1', productId: 'product_2' })).job.template).toBe('landing');
    expect((await submitJob(app, { userId: 'user_1', productId: 'product_1' })).job.template).toBe('app');
    expect(
      (await submitJob(app, { userId: 'user_1', productId: 'product_2', template: 'app' })).job.template,
    ).toBe('app');
  });

  it('refuses a spec with a bad app model before creating a job', async () => {
    const { deps, fakes } = setup();
    const spec = sampleSpec({ userId: 'user_1', productId: 'product_3' });
    spec.specifications = {
      ...spec.specifications,
      app: {
        version: 1,
        app: { name: 'X' },
        entities: [{ name: 'session', fields: [{ name: 'a', type: 'blob' }] }],
      },
    } as never;
    await fakes.specs.register(spec);
    await expect(submitJob(deps, { userId: 'user_1', productId: 'product_3' })).rejects.toThrow(
      /specifications\.app[\s\S]*entities\[0\]/,
    );
    expect((await fakes.store.listByUser({ userId: 'user_1' })).jobs).toEqual([]);
  });
});

describe('the journey check of a server app', () => {
  const report = (ok: boolean): JourneyReport => ({
    mode: 'http',
    ok,
    results: [
      { name: 'sign-up', ok: true, durationMs: 5 },
      ok
        ? { name: 'access:rsvp', ok: true, durationMs: 5 }
        : { name: 'access:rsvp', ok: false, failure: 'GET /api/rsvps/1 answered 200', durationMs: 5 },
    ],
  });

  function appPipeline(results: JourneyReport[]) {
    const { deps, fakes } = setup();
    const templates = createMemoryTemplateSource(fakes.files, {
      landing: {
        manifest: {
          ...MEMORY_TEMPLATE_MANIFEST,
          model: 'app.model.json',
          start: { portEnv: 'PORT', readyPath: '/' },
        },
        files: { 'src/index.html': '<h1>{{name}}</h1>' },
      },
    });
    const databaseCalls: string[] = [];
    const databases: DatabaseProvisioner = {
      specificationVersion: 'v1',
      async provision({ purpose }) {
        databaseCalls.push(`provision ${purpose}`);
        const resource = {
          provider: 'fake',
          purpose,
          database: 'db',
          role: 'r',
          host: 'h:1',
          secretRef: 'ref',
        };
        return { resource, connectionUrl: 'postgresql://r:pw@h:1/db', created: true };
      },
      async describe() {
        return { resource: undefined };
      },
      async release({ purpose }) {
        databaseCalls.push(`release ${purpose}`);
        return { removed: true };
      },
    };
    const checked: string[] = [];
    const appChecker: AppChecker = {
      specificationVersion: 'v1',
      async check({ databaseUrl }) {
        checked.push(databaseUrl);
        return results.shift() ?? report(true);
      },
    };
    const appDeps = { ...deps, ports: { ...deps.ports, templates, databases, appChecker } };
    filesOf.set(appDeps, fakes.files);
    return {
      deps: appDeps,
      databaseCalls,
      checked,
    };
  }

  it('sends a job whose journey fails back to AI_DEVELOPMENT with the failure, then lets the passing build through', async () => {
    const { deps, databaseCalls, checked } = appPipeline([report(false)]);
    const job = await submitted(deps);
    const { job: done } = await runJob(deps, { jobId: job.jobId });
    expect(done.status).toBe('COMPLETED');
    expect(done.repairRounds).toBe(1);
    expect(done.errors.at(-1)?.message).toMatch(/1 of 2 journeys failed \(access:rsvp\)/);
    expect(done.checkpoints.BUILDING?.journeys?.ok).toBe(true);
    expect(deliveryOf(done)?.kind).toBe('app');
    expect(checked).toEqual(['postgresql://r:pw@h:1/db', 'postgresql://r:pw@h:1/db']);
    // A throwaway database per check, released after each.
    expect(databaseCalls).toEqual(['provision check', 'release check', 'provision check', 'release check']);
  });

  it('fails the job when the journeys still fail after the last repair round, saying which', async () => {
    const { deps } = appPipeline([report(false), report(false), report(false)]);
    const job = await submitted(deps);
    const { job: done } = await runJob(deps, { jobId: job.jobId });
    expect(done.status).toBe('FAILED');
    expect(done.errors.at(-1)?.message).toMatch(
      /after 2 repair rounds: 1 of 2 journeys failed \(access:rsvp\)/,
    );
  });

  /** The head commit's files of the job's repository. */
  const headFiles = (deps: PipelineDeps) => {
    const repos = (
      deps.ports.repos as unknown as {
        repos: Map<string, { head?: string; commits: Map<string, { files: Record<string, string> }> }>;
      }
    ).repos;
    const repo = [...repos.values()][0]!;
    return repo.commits.get(repo.head!)!.files;
  };

  it("accepts the workbench's own change of a protected file, and still fails a direct write after it", async () => {
    for (const direct of [false, true]) {
      const { deps } = appPipeline([]);
      const manifest = { protectedFiles: ['package.json'] };
      const templates = createMemoryTemplateSource(fakesOf(deps), {
        landing: {
          manifest: {
            ...MEMORY_TEMPLATE_MANIFEST,
            model: 'app.model.json',
            start: { portEnv: 'PORT', readyPath: '/' },
            ...manifest,
          },
          files: { 'src/index.html': '<h1>{{name}}</h1>', 'package.json': '{"dependencies":{}}' },
        },
      });
      const builder = {
        ...deps.ports.builder,
        async addDependency({ workspace }: { workspace: { dir: string } }) {
          fakesOf(deps).write(`${workspace.dir}/package.json`, '{"dependencies":{"zod":"4.1.0"}}');
          return { ok: true, version: '4.1.0', output: 'Added zod@4.1.0' };
        },
      };
      const inner = deps.ports.generator;
      const generator = {
        ...inner,
        generate: async (options: Parameters<typeof inner.generate>[0]) => {
          const added = await options.workbench!.addDependency({ name: 'zod' });
          expect(added.ok).toBe(true);
          if (direct)
            fakesOf(deps).write(`${options.workspace.dir}/package.json`, '{"dependencies":{"evil":"1.0.0"}}');
          return inner.generate(options);
        },
      };
      const patched = { ...deps, ports: { ...deps.ports, templates, builder, generator } };
      const job = await submitted(patched);
      const { job: done } = await runJob(patched, { jobId: job.jobId });
      if (direct) {
        expect(done.status).toBe('FAILED');
        expect(done.errors.at(-1)?.message).toContain('protects: package.json');
      } else {
        expect(done.status).toBe('COMPLETED');
        expect(headFiles(patched)['package.json']).toContain('zod');
      }
    }
  });

  it('ships the baseline alone from a fresh checkout when the developer on it runs out of budget', async () => {
    const { deps } = appPipeline([]);
    const baseline = deps.ports.generator;
    const developer = {
      specificationVersion: 'v1' as const,
      async generate(options: Parameters<typeof baseline.generate>[0]) {
        fakesOf(deps).write(`${options.workspace.dir}/src/half-done.tsx`, 'export const x = ');
        throw new BudgetExceededError('Cost budget exhausted: Claude spent $5.0000 of $5');
      },
    };
    const generator = withFallbackGenerator(onBaseline(baseline, developer), baseline);
    const patched = { ...deps, ports: { ...deps.ports, generator } };
    const job = await submitted(patched);
    const { job: done } = await runJob(patched, { jobId: job.jobId });
    expect(done.status).toBe('COMPLETED');
    expect(done.checkpoints.AI_DEVELOPMENT?.generator).toMatch(/\(fallback after budget_exceeded\)$/);
    const shipped = headFiles(patched);
    expect(Object.keys(shipped).some((f) => f.endsWith('half-done.tsx'))).toBe(false);
    expect(done.executionLogs.map((l) => l.message).join('\n')).toMatch(
      /Cost budget exhausted.*fallback generator/,
    );
  });

  it("hands the check database's CA to the build and to the journeys with its URL", async () => {
    const { deps } = appPipeline([]);
    const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const provision = deps.ports.databases!.provision.bind(deps.ports.databases);
    const databases = {
      ...deps.ports.databases!,
      provision: async (o: never) => ({ ...(await provision(o)), ca }),
    };
    const seen: string[] = [];
    const build = deps.ports.builder.build.bind(deps.ports.builder);
    const builder = {
      ...deps.ports.builder,
      build: async (o: Parameters<typeof build>[0]) => {
        seen.push(`build ${o.databaseCa === ca}`);
        return build(o);
      },
    };
    const check = deps.ports.appChecker!.check.bind(deps.ports.appChecker);
    const appChecker = {
      ...deps.ports.appChecker!,
      check: async (o: Parameters<typeof check>[0]) => {
        seen.push(`check ${o.databaseCa === ca}`);
        return check(o);
      },
    };
    const patched = { ...deps, ports: { ...deps.ports, databases, builder, appChecker } };
    const job = await submitted(patched);
    const { job: done } = await runJob(patched, { jobId: job.jobId });
    expect(done.status).toBe('COMPLETED');
    expect(seen).toEqual(['build true', 'check true']);
  });

  it('walks the live journeys in DEPLOYING: a member on staging with its headers, production read-only', async () => {
    const { deps } = appPipeline([]);
    const walks: string[] = [];
    const deployer = {
      ...deps.ports.deployer,
      deploy: async (o: Parameters<typeof deps.ports.deployer.deploy>[0]) => ({
        ...(await deps.ports.deployer.deploy(o)),
        stagingUrl: 'https://staging.example',
        productionUrl: 'https://prod.example',
        stagingHeaders: { 'x-vercel-protection-bypass': 'bypass-1' },
      }),
    };
    let fail = 1;
    const appChecker = {
      ...deps.ports.appChecker!,
      async checkDeployed(o: {
        url: string;
        readOnly?: boolean;
        headers?: Readonly<Record<string, string>>;
      }) {
        walks.push(`${o.url} ${o.readOnly ? 'read-only' : 'member'} ${o.headers ? 'headers' : 'no headers'}`);
        const ok = !(o.url.includes('staging') && fail-- > 0);
        return {
          mode: 'http' as const,
          ok,
          results: [
            { name: 'sign-up', ok, durationMs: 1, ...(ok ? {} : { failure: 'sign-up answered 500' }) },
          ],
        };
      },
    };
    const siteChecker = {
      ...deps.ports.siteChecker,
      check: async () => ({ ok: true, checker: 'fake', problems: [] }),
    };
    const patched = { ...deps, ports: { ...deps.ports, deployer, appChecker, siteChecker } };
    const job = await submitted(patched as never);
    const { job: done } = await runJob(patched as never, { jobId: job.jobId });
    expect(done.status).toBe('COMPLETED');
    // The first walk failed (transient): DEPLOYING tried again and passed.
    expect(done.errors.at(-1)?.message).toMatch(/live journeys failed: sign-up: sign-up answered 500/);
    expect(walks).toEqual([
      'https://staging.example member headers',
      'https://staging.example member headers',
      'https://prod.example read-only no headers',
    ]);
    expect(done.checkpoints.DEPLOYING?.journeys?.production.ok).toBe(true);
    expect(JSON.stringify(done)).not.toContain('bypass-1');
  });

  it('fails BUILDING clearly when no database provisioner is configured', async () => {
    const { deps } = appPipeline([]);
    const { databases: _none, ...ports } = deps.ports;
    const bare = { ...deps, ports };
    const job = await submitted(bare);
    const { job: done } = await runJob(bare, { jobId: job.jobId });
    expect(done.status).toBe('FAILED');
    expect(done.errors.at(-1)?.message).toMatch(/no DatabaseProvisioner is configured/);
  });
});
