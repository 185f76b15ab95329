import {
  type Builder,
  type BuildOutputStore,
  type BuildResult,
  type CodeGenerator,
  type Deployer,
  type GenerateResult,
  type JobNotification,
  type JobRequest,
  type JobTrigger,
  NotFoundError,
  type Notifier,
  PermanentError,
  type RepoHost,
  type RepoRef,
  type SiteChecker,
  shortHash,
  stableHash,
  type TemplateManifest,
  type TemplateSource,
  type WorkspaceProvider,
} from '@mvp-pipeline/core';
import { CallLog, Script } from './call-log.js';
import type { MemoryFiles } from './memory-files.js';

const throwIfAborted = (signal?: AbortSignal) => {
  if (signal?.aborted) throw signal.reason;
};

export function createMemoryWorkspaceProvider(files: MemoryFiles): WorkspaceProvider & { calls: CallLog } {
  const calls = new CallLog();
  let n = 0;
  return {
    specificationVersion: 'v1',
    calls,
    async create({ jobId }) {
      calls.record('create');
      const dir = `/memory/workspaces/${jobId}-${++n}`;
      files.mkdir(dir);
      return { workspace: { jobId, dir } };
    },
    async digest({ workspace, paths }) {
      const out: Record<string, string> = {};
      for (const file of files.list(workspace.dir)) {
        if (paths.some((p) => (p.endsWith('/') ? file.startsWith(p) : file === p)))
          out[file] = stableHash(files.read(`${workspace.dir}/${file}`) ?? '');
      }
      return out;
    },
    async dispose({ workspace }) {
      calls.record('dispose');
      files.removeDir(workspace.dir);
    },
  };
}

export const MEMORY_TEMPLATE_MANIFEST: TemplateManifest = {
  name: 'landing',
  outputDir: 'dist',
  commands: { build: ['node', 'build.mjs'] },
};

/** Serves named templates from memory: each is a manifest and its files. */
export function createMemoryTemplateSource(
  files: MemoryFiles,
  templates: Record<string, { manifest: TemplateManifest; files: Record<string, string> }> = {
    landing: { manifest: MEMORY_TEMPLATE_MANIFEST, files: { 'src/index.html': '<h1>{{name}}</h1>' } },
  },
): TemplateSource & { calls: CallLog } {
  const calls = new CallLog();
  return {
    specificationVersion: 'v1',
    calls,
    async fetchTemplate({ template, workspace, signal }) {
      calls.record('fetchTemplate');
      throwIfAborted(signal);
      const found = templates[template];
      if (!found) throw new NotFoundError(`No template named ${template}`);
      files.restore(workspace.dir, {
        ...found.files,
        'mvp.template.json': JSON.stringify(found.manifest),
      });
      return { manifest: found.manifest, ref: stableHash(found) };
    },
    async readManifest({ workspace }) {
      const text = files.read(`${workspace.dir}/mvp.template.json`);
      if (!text) throw new NotFoundError(`No mvp.template.json in ${workspace.dir}`);
      return { manifest: JSON.parse(text) as TemplateManifest };
    },
  };
}

interface MemoryCommit {
  id: string;
  parent: string | undefined;
  message: string;
  files: Record<string, string>;
}

interface MemoryRepo {
  jobId: string;
  ref: RepoRef;
  head: string | undefined;
  commits: Map<string, MemoryCommit>;
}

/** A repo host in memory with git-like commits (content-addressed ids), counted calls. */
export function createMemoryRepoHost(files: MemoryFiles): RepoHost & {
  calls: CallLog<'ensureRepo' | 'created' | 'push' | 'pushed' | 'checkout'>;
  repos: Map<string, MemoryRepo>;
} {
  const calls = new CallLog<'ensureRepo' | 'created' | 'push' | 'pushed' | 'checkout'>();
  const repos = new Map<string, MemoryRepo>();
  // What each workspace has checked out, as a local clone's .git would know.
  const workspaceHeads = new Map<string, string>();
  const repoOf = (ref: RepoRef) => {
    const repo = repos.get(ref.name);
    if (!repo) throw new NotFoundError(`No repository ${ref.name}`);
    return repo;
  };
  return {
    specificationVersion: 'v1',
    calls,
    repos,
    async ensureRepo({ jobId, name, signal }) {
      calls.record('ensureRepo');
      throwIfAborted(signal);
      const mine = [...repos.values()].find((r) => r.jobId === jobId);
      if (mine) return { repo: mine.ref, created: false, provider: 'memory' };
      let candidate = name;
      for (let i = 2; repos.has(candidate); i++) candidate = `${name}-${i}`;
      const ref: RepoRef = {
        name: candidate,
        fullName: `memory/${candidate}`,
        url: `memory://repos/${candidate}`,
        cloneUrl: `memory://repos/${candidate}.git`,
        branch: 'main',
      };
      repos.set(candidate, { jobId, ref, head: undefined, commits: new Map() });
      calls.record('created');
      return { repo: ref, created: true, provider: 'memory' };
    },
    async push({ repo: ref, workspace, message, date, signal }) {
      calls.record('push');
      throwIfAborted(signal);
      const repo = repoOf(ref);
      const snapshot = files.snapshot(workspace.dir);
      const parent = workspaceHeads.get(workspace.dir);
      const parentFiles = parent ? repo.commits.get(parent)?.files : undefined;
      let id = parent;
      if (!parent || stableHash(parentFiles) !== stableHash(snapshot)) {
        id = shortHash(stableHash({ snapshot, parent, message, date: date.toISOString() })).padEnd(40, '0');
        repo.commits.set(id, { id, parent, message, files: snapshot });
      }
      workspaceHeads.set(workspace.dir, id!);
      if (repo.head === id) return { commit: id!, pushed: false };
      repo.head = id;
      calls.record('pushed');
      return { commit: id!, pushed: true };
    },
    async checkout({ repo: ref, workspace, commit, signal }) {
      calls.record('checkout');
      throwIfAborted(signal);
      const repo = repoOf(ref);
      const id = commit ?? repo.head;
      const found = id ? repo.commits.get(id) : undefined;
      if (!found) throw new NotFoundError(`No commit ${id ?? '(none)'} in ${ref.name}`);
      files.restore(workspace.dir, found.files);
      workspaceHeads.set(workspace.dir, found.id);
      return { commit: found.id };
    },
  };
}

/** Writes a page naming the product and its features; results can be scripted. */
export function createMemoryCodeGenerator(files: MemoryFiles): CodeGenerator & {
  calls: CallLog;
  script: Script<GenerateResult | Error>;
} {
  const calls = new CallLog();
  const script = new Script<GenerateResult | Error>();
  return {
    specificationVersion: 'v1',
    calls,
    script,
    async generate({ spec, workspace, repair, signal }) {
      calls.record('generate');
      throwIfAborted(signal);
      const scripted = script.next();
      if (scripted instanceof Error) throw scripted;
      if (scripted) return scripted;
      const features = (spec.specifications?.keyFeatures ?? [])
        .map((f) => `<section>${f}</section>`)
        .join('');
      files.write(`${workspace.dir}/src/index.html`, `<h1>${spec.product.name}</h1>${features}`);
      files.write(`${workspace.dir}/MVP_SPECS.md`, `# ${spec.product.name}\n`);
      return {
        generator: 'memory',
        summary: repair ? `Fix the build (round ${repair.round})` : `Build ${spec.product.name}`,
        filesChanged: ['src/index.html', 'MVP_SPECS.md'],
      };
    },
  };
}

/** Copies src/index.html to the output dir; scripted results stand in for failing builds. */
export function createMemoryBuilder(
  files: MemoryFiles,
): Builder & { calls: CallLog; script: Script<BuildResult | Error> } {
  const calls = new CallLog();
  const script = new Script<BuildResult | Error>();
  return {
    specificationVersion: 'v1',
    calls,
    script,
    async build({ workspace, manifest, signal }) {
      calls.record('build');
      throwIfAborted(signal);
      const scripted = script.next();
      if (scripted instanceof Error) throw scripted;
      if (scripted) return scripted;
      const page = files.read(`${workspace.dir}/src/index.html`);
      if (page === undefined)
        return { ok: false, summary: 'src/index.html is missing', output: 'ENOENT src/index.html' };
      const outputDir = `${workspace.dir}/${manifest.outputDir}`;
      files.write(`${outputDir}/index.html`, page);
      return { ok: true, outputDir, checks: ['build', 'index.html'] };
    },
  };
}

/** Keeps build outputs in the shared file tree under /memory/builds/<job>/<commit>: one machine's disk. */
export function createMemoryBuildOutputs(files: MemoryFiles): BuildOutputStore & { calls: CallLog } {
  const calls = new CallLog();
  const where = (jobId: string, commit: string) => `/memory/builds/${jobId}/${commit}`;
  return {
    specificationVersion: 'v1',
    calls,
    async keep({ jobId, commit, outputDir, signal }) {
      calls.record('keep');
      throwIfAborted(signal);
      const dir = where(jobId, commit);
      files.removeDir(dir);
      files.restore(dir, files.snapshot(outputDir));
      return { outputDir: dir };
    },
    async find({ jobId, commit }) {
      calls.record('find');
      const dir = where(jobId, commit);
      return Object.keys(files.snapshot(dir)).length > 0 ? { outputDir: dir } : {};
    },
    async discard({ jobId }) {
      calls.record('discard');
      files.removeDir(`/memory/builds/${jobId}`);
    },
  };
}

/** Publishes to memory:// URLs; one deployment per (job, commit). */
export function createMemoryDeployer(files: MemoryFiles): Deployer & {
  calls: CallLog<'deploy' | 'created'>;
  deploymentCount(): number;
} {
  const calls = new CallLog<'deploy' | 'created'>();
  const deployments = new Map<string, { id: string; siteName: string }>();
  return {
    specificationVersion: 'v1',
    calls,
    deploymentCount: () => deployments.size,
    async deploy({ jobId, commit, siteName, outputDir, checkpoint, signal }) {
      calls.record('deploy');
      throwIfAborted(signal);
      const key = `${jobId}:${commit}`;
      let deployment = deployments.get(key);
      if (!deployment) {
        if (files.read(`${outputDir}/index.html`) === undefined)
          throw new PermanentError(`The build output ${outputDir} has no index.html to publish`);
        deployment = { id: `dpl_${shortHash(key)}`, siteName };
        deployments.set(key, deployment);
        calls.record('created');
        await checkpoint.save({ deploymentId: deployment.id });
        files.restore(`/memory/sites/${deployment.id}`, files.snapshot(outputDir));
      }
      // Production is the job's own site: another job's product of the same name has its own.
      files.restore(`/memory/sites/${siteName}`, files.snapshot(`/memory/sites/${deployment.id}`));
      return {
        provider: 'memory',
        deploymentId: deployment.id,
        stagingUrl: `memory:///memory/sites/${deployment.id}/index.html`,
        productionUrl: `memory:///memory/sites/${siteName}/index.html`,
      };
    },
  };
}

/** Checks memory:// pages in the shared file tree. */
export function createMemorySiteChecker(files: MemoryFiles): SiteChecker & { calls: CallLog } {
  const calls = new CallLog();
  return {
    specificationVersion: 'v1',
    calls,
    async check({ url, expectText }) {
      calls.record('check');
      const page = url.startsWith('memory://') ? files.read(url.slice('memory://'.length)) : undefined;
      if (page === undefined) return { ok: false, problems: [`${url} does not answer`], checker: 'memory' };
      if (!page.includes(expectText))
        return { ok: false, problems: [`the page does not name ${expectText}`], checker: 'memory' };
      return { ok: true, problems: [], checker: 'memory' };
    },
  };
}

/** Records notifications; like a receiver that honours idempotency keys, it keeps one per key. */
export function createMemoryNotifier(): Notifier & { sent: JobNotification[]; calls: CallLog } {
  const sent: JobNotification[] = [];
  const keys = new Set<string>();
  const calls = new CallLog();
  return {
    specificationVersion: 'v1',
    sent,
    calls,
    async notify({ notification, idempotencyKey, signal }) {
      calls.record('notify');
      throwIfAborted(signal);
      if (keys.has(idempotencyKey)) return;
      keys.add(idempotencyKey);
      sent.push(structuredClone(notification));
    },
  };
}

export function createMemoryTrigger(): JobTrigger & { requests: JobRequest[]; calls: CallLog } {
  const requests: JobRequest[] = [];
  const calls = new CallLog();
  return {
    specificationVersion: 'v1',
    requests,
    calls,
    async trigger({ request }) {
      calls.record('trigger');
      requests.push({ ...request });
      return { eventId: `evt_${requests.length}` };
    },
  };
}

export type { MemoryCommit, MemoryRepo };
