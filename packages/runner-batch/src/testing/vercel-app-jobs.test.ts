// App jobs in production shape through the CLI: the `app` template (Next.js + PostgreSQL), its
// baseline kept by Claude (scripted, through the Messages stand-in), pushed
// to the GitHub stand-in and deployed on the Vercel stand-in, which builds and runs each source
// deployment here (install from the machine's cache, `next build`, `next start` with the env the
// project holds: DATABASE_URL and the rest). Databases: the `server` provisioner on
// TEST_DATABASE_URL (skipped without it). Slow (installs and Next.js builds): in CI, and locally
// with MVP_SLOW_TESTS=1.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  endTurn,
  type MessagesStandIn,
  scripted,
  startMessagesStandIn,
  toolCalls,
} from '@mvp-pipeline/adapters-claude/testing';
import { type GitHubStandIn, startGitHubStandIn } from '@mvp-pipeline/adapters-github/testing';
import {
  claimOwner,
  createProcessBuilder,
  runHttpJourneys,
  serverAppOf,
  startServerApp,
} from '@mvp-pipeline/adapters-local';
import { hashSite, PROTECTION_BYPASS_HEADER } from '@mvp-pipeline/adapters-vercel';
import {
  type RunningSource,
  type SourceRun,
  startVercelStandIn,
  type VercelStandIn,
} from '@mvp-pipeline/adapters-vercel/testing';
import { type Job, parseAppModel, parseTemplateManifest, type TemplateManifest } from '@mvp-pipeline/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, removeDir, runCli, SECRET_NEEDLES, tempDir } from './harness.js';

const slow = Boolean(process.env['CI'] || process.env['MVP_SLOW_TESTS']);
const databaseUrl = process.env['TEST_DATABASE_URL'];
const enabled = slow && Boolean(databaseUrl);
if (!enabled)
  console.warn(
    `\n!!! Vercel app jobs end-to-end test SKIPPED: ${slow ? 'TEST_DATABASE_URL is not set' : 'slow: set MVP_SLOW_TESTS=1 (and TEST_DATABASE_URL) to run it; CI runs it'}.\n`,
  );

/** The dependency cache the other app suites share: the first job installs, the rest link. */
const CACHE_DIR = join(tmpdir(), 'mvp-test-cache');
const GITHUB_TOKEN = 'ghp_' + 'standInToken000000000000000000000002';
const ANTHROPIC_API_KEY = `sk-ant-${'standin-vercel-apps-0000000000000'}`;
const VERCEL_TOKEN = 'vercel-standin-token-000000000002';

describe.runIf(enabled)('app jobs on GitHub and Vercel through the CLI', () => {
  let github: GitHubStandIn;
  let claude: MessagesStandIn;
  let vercel: VercelStandIn;
  let dataDir: string;
  let manifest: TemplateManifest;
  const runs: SourceRun[] = [];
  const jobs: Job[] = [];
  const outputs: string[] = [];
  const builder = createProcessBuilder({ cacheDir: CACHE_DIR });

  /** Built folders by the digest of their source: production reuses staging's identical build. */
  const builds = new Map<string, string>();
  /** Where each deployment's app runs (its built folder), by deployment id. */
  const ranIn = new Map<string, string>();

  /** Vercel's build machine and runtime, here: install (from the cache) and build, then start. */
  async function runSource(source: SourceRun): Promise<RunningSource> {
    runs.push(source);
    const digest = (await hashSite(source.dir)).files.map((f) => `${f.file}:${f.sha}`).join('\n');
    let dir = builds.get(digest);
    if (!dir) {
      // The template's own install and build, as the project's settings name them.
      const build = {
        ...manifest,
        commands: { install: manifest.commands['install']!, build: manifest.commands['build']! },
      };
      const built = await builder.build({
        workspace: { jobId: source.deploymentId, dir: source.dir },
        manifest: build,
        report: { log: () => {} },
      });
      if (!built.ok) throw new Error(`${built.summary}\n${built.output}`);
      builds.set(digest, source.dir);
      dir = source.dir;
    }
    ranIn.set(source.deploymentId, dir);
    const { DATABASE_URL, APP_URL, ...rest } = source.env;
    const started = await startServerApp({
      dir,
      app: serverAppOf(manifest),
      // Only what the project holds: no DATABASE_URL, no app.
      databaseUrl: DATABASE_URL ?? '',
      ...(APP_URL ? { appUrl: APP_URL } : {}),
      secretEnv: rest,
      timeoutMs: 90_000,
    });
    if (!started.ok) throw new Error(started.failure);
    return { url: started.running.url, stop: () => started.running.stop() };
  }

  const env = () => ({
    MVP_DATA_DIR: dataDir,
    MVP_CACHE_DIR: CACHE_DIR,
    MVP_TEMPLATE: 'app',
    MVP_NOTIFIER: 'jsonl',
    MVP_BROWSER_CHECK: 'off',
    MVP_DATABASE_PROVISIONER: 'server',
    MVP_APPS_DATABASE_URL: databaseUrl!,
    MVP_REPO_HOST: 'github',
    GITHUB_TOKEN,
    GITHUB_API_URL: github.url,
    // Claude (scripted) reads the recipes' baseline and keeps it; its gate is the pipeline's check.
    MVP_CODE_GENERATOR: 'claude',
    ANTHROPIC_API_KEY,
    ANTHROPIC_BASE_URL: claude.url,
    MVP_DEPLOYER: 'vercel',
    VERCEL_TOKEN,
    VERCEL_API_URL: vercel.apiUrl,
  });

  const run = async (spec: unknown, name: string) => {
    const file = join(dataDir, `${name}.json`);
    await writeFile(file, JSON.stringify(spec));
    const result = await runCli(['run', '--spec', file, '--json'], { env: env() });
    outputs.push(result.stdout, result.stderr);
    if (result.code !== 0)
      throw new Error(
        `mvp run ${name} exited ${result.code}:\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`,
      );
    const job = JSON.parse(result.stdout) as Job;
    jobs.push(job);
    return job;
  };

  beforeAll(async () => {
    dataDir = await tempDir('vercel-app-jobs');
    manifest = parseTemplateManifest(
      JSON.parse(await readFile(join(REPO_ROOT, 'templates/app/mvp.template.json'), 'utf8')),
      'app',
    );
    github = await startGitHubStandIn({ token: GITHUB_TOKEN });
    vercel = await startVercelStandIn({ token: VERCEL_TOKEN, runSource });
    claude = await startMessagesStandIn({
      apiKey: ANTHROPIC_API_KEY,
      script: scripted([], ({ toolResults }) =>
        toolResults.length === 0
          ? toolCalls([{ name: 'read_file', input: { path: 'app.model.json' } }])
          : endTurn('The recipes cover every key feature; nothing to add.'),
      ),
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([github?.close(), vercel?.close(), claude?.close()]);
    if (dataDir) await removeDir(dataDir);
  }, 60_000);

  it('completes two founders’ EventHub apps with GitHub, Claude and Vercel: two projects, two live apps, journeys passing on staging', async () => {
    const spec = JSON.parse(await readFile(join(REPO_ROOT, 'examples/eventhub.json'), 'utf8'));
    const first = await run(spec, 'first');
    const second = await run(
      {
        ...spec,
        user: { ...spec.user, id: 'user_other', email: 'other@example.com' },
        product: { ...spec.product, id: 'product_other' },
      },
      'second',
    );
    for (const job of [first, second]) {
      expect(job.status).toBe('COMPLETED');
      expect(job.checkpoints.AI_DEVELOPMENT?.generator).toMatch(/^claude:/);
      // DEPLOYING walked staging as a throwaway member (through the bypass) and looked at production.
      const live = job.checkpoints.DEPLOYING?.journeys;
      expect(live?.staging.results.filter((r) => !r.ok)).toEqual([]);
      expect(live?.staging.results.map((r) => r.name)).toEqual(
        expect.arrayContaining(['home', 'ready', 'sign-up']),
      );
      expect(live?.production.results.map((r) => r.name)).toEqual(['home', 'ready']);
    }
    expect(vercel.projects()).toHaveLength(2);
    expect(new Set(jobs.map((j) => j.urls.production)).size).toBe(2);
    // Source deployments: built on "Vercel" from the repository's files, Node pinned.
    for (const project of vercel.projects()) expect(project.nodeVersion).toBe('20.x');
    const uploaded = vercel.deployments().flatMap((d) => d.files.map((f) => f.file));
    expect(uploaded).toContain('package.json');
    expect(uploaded.filter((f) => /(^|\/)node_modules\/|^\.next\/|^\.git\//.test(f))).toEqual([]);

    for (const job of [first, second]) {
      // Production is public and serves the founder's app.
      const home = await fetch(job.urls.production!);
      expect(home.status).toBe(200);
      expect(await home.text()).toContain('EventHub');
      expect((await fetch(`${job.urls.production!.replace(/\/$/, '')}/api/health`)).status).toBe(200);
      // Staging is behind protection; the journeys walk it with the project's bypass.
      const staging = job.urls.staging!.replace(/\/$/, '');
      expect((await fetch(staging)).status).toBe(401);
      const project = vercel.projects().find((p) => p.id === job.resources.vercel?.projectId)!;
      const bypass = project.bypassSecrets[0]!;
      const stagingRun = runs.find(
        (r) =>
          r.target === 'preview' &&
          vercel.deployments().some((d) => d.id === r.deploymentId && d.projectId === project.id),
      )!;
      const claim = await claimOwner({
        dir: ranIn.get(stagingRun.deploymentId)!,
        app: serverAppOf(manifest, ['claim']),
        databaseUrl: stagingRun.env['DATABASE_URL']!,
        appUrl: staging,
        timeoutMs: 60_000,
      });
      expect(claim.kind).toBe('link');
      const model = parseAppModel(JSON.parse(await readFile(join(stagingRun.dir, 'app.model.json'), 'utf8')));
      const withBypass: typeof fetch = (input, init) =>
        fetch(input, {
          ...init,
          headers: { ...(init?.headers as Record<string, string>), [PROTECTION_BYPASS_HEADER]: bypass },
        });
      const report = await runHttpJourneys({
        baseUrl: staging,
        model: model as never,
        claimUrl: claim.kind === 'link' ? claim.url : '',
        fetch: withBypass,
      });
      expect(report.results.filter((r) => !r.ok)).toEqual([]);
    }
    // Each app has its own database.
    const urls = vercel.projects().map((p) => vercel.env(p.id).find((e) => e.key === 'DATABASE_URL')?.value);
    expect(new Set(urls).size).toBe(2);
  }, 1_200_000);

  it('keeps every generated secret out of records, logs, events and notifications', async () => {
    const secrets = new Set<string>([...SECRET_NEEDLES, ANTHROPIC_API_KEY]);
    for (const project of vercel.projects()) {
      for (const e of vercel.env(project.id)) if (e.key !== 'APP_URL') secrets.add(e.value);
      for (const s of project.bypassSecrets) secrets.add(s);
    }
    // The database passwords, from the URLs.
    for (const value of [...secrets]) {
      const password = /^postgres(?:ql)?:\/\/[^:]+:([^@]+)@/.exec(value)?.[1];
      if (password) secrets.add(decodeURIComponent(password));
    }
    expect(secrets.size).toBeGreaterThan(SECRET_NEEDLES.length + 7);
    const texts: [string, string][] = outputs.map((o, i) => [`cli output ${i}`, o]);
    for (const file of await readdir(join(dataDir, 'jobs')))
      texts.push([`jobs/${file}`, await readFile(join(dataDir, 'jobs', file), 'utf8')]);
    texts.push(['notifications.jsonl', await readFile(join(dataDir, 'notifications.jsonl'), 'utf8')]);
    const leaks = texts.flatMap(([where, text]) =>
      [...secrets].filter((s) => text.includes(s)).map((s) => `${where}: ${s.slice(0, 6)}…`),
    );
    expect(leaks).toEqual([]);
  });
});
