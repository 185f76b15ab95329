import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createRedactor,
  isLeaseLive,
  type Job,
  type JobStore,
  type PipelineDeps,
  type PipelineSettings,
  type ProductSpec,
  submitJob,
} from '@mvp-pipeline/core';
import type { Container } from 'inversify';
import { loadConfig, secretsOf } from '../config.js';
import { createPipeline, PORT_TOKENS as PIPELINE_PORT_TOKENS, type Pipeline } from '../container.js';
import { createLogger } from '../logger.js';

/** The repository root, found from this file in src or dist. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** The built CLI the process-level proofs run. */
export const CLI = join(REPO_ROOT, 'packages/runner-batch/dist/cli.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `mvp` CLI in a process of its own, as a user would, and collects what it printed. */
export function runCli(
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; cwd?: string } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...options.env },
      cwd: options.cwd ?? REPO_ROOT,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Secret-shaped values set in every proof's environment, so that any leak into an output, a
 * record, a log line or a notification is found by grepping for them.
 */
export const FAKE_SECRETS = {
  GITHUB_TOKEN: 'ghp_' + 'PROOFgithubTOKEN0123456789abcdefABCD',
  ANTHROPIC_API_KEY: 'sk-ant-' + 'api03-PROOF-anthropic-key-0123456789-abcdefghijklmnop',
  VERCEL_TOKEN: 'vercelPROOFtoken0123456789xyz',
  FOUNDERDASH_DB_URL: 'postgres://founder:PROOFdbPassw0rd@db.internal.example:5432/founderdash',
} as const;

/** The values to grep for: each secret, and the password alone (URLs may be taken apart). */
export const SECRET_NEEDLES: readonly string[] = [...Object.values(FAKE_SECRETS), 'PROOFdbPassw0rd'];

/** The example spec every proof job builds. */
export async function exampleSpec(file = 'eventhub.json'): Promise<ProductSpec> {
  return JSON.parse(await readFile(join(REPO_ROOT, 'examples', file), 'utf8')) as ProductSpec;
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `mvp-proof-${prefix}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/**
 * The port names of `PipelinePorts` that do work on the proofs' (landing) jobs, with their
 * container tokens. The databases and the app checker work only on app jobs: not here.
 */
const {
  trigger: _trigger,
  clock: _clock,
  ids: _ids,
  logger: _logger,
  databases: _databases,
  appChecker: _appChecker,
  ...workPorts
} = PIPELINE_PORT_TOKENS;
export const PORT_TOKENS = workPorts;

export type WorkPort = keyof typeof PORT_TOKENS;

export interface ProofPipeline {
  pipeline: Pipeline;
  deps: PipelineDeps;
  dataDir: string;
  /** Every structured log line the pipeline wrote (JSON, redacted as in production). */
  logs: string[];
  /** Registers the spec and submits a job for it. */
  submit(spec?: ProductSpec): Promise<Job>;
  close(): Promise<void>;
}

/**
 * What every proof pipeline runs with: the fake secrets, notifications in a JSONL file, and the
 * HTTP/file site check (the Chromium check has its own tests; here its start-up time would eat
 * into the short deadlines of the hang cells).
 */
export const PROOF_ENV = {
  MVP_NOTIFIER: 'jsonl',
  MVP_BROWSER_CHECK: 'off',
  MVP_TEMPLATE: 'landing',
  ...FAKE_SECRETS,
};

export interface OpenOptions {
  dataDir: string;
  /** More environment for loadConfig (PROOF_ENV is always set). */
  env?: Record<string, string>;
  settings?: Partial<PipelineSettings>;
  configure?: (container: Container) => void;
}

/**
 * The whole embedded pipeline through the composition root, on `dataDir`, with the fake
 * secrets in its configuration and its log captured.
 */
export async function openPipeline(options: OpenOptions): Promise<ProofPipeline> {
  const config = loadConfig({ MVP_DATA_DIR: options.dataDir, ...PROOF_ENV, ...options.env }, options.dataDir);
  const logs: string[] = [];
  const logger = createLogger({
    format: 'json',
    level: 'debug',
    redact: createRedactor(secretsOf(config)),
    write: (line) => logs.push(line),
  });
  const pipeline = await createPipeline({
    config,
    logger,
    ...(options.settings ? { settings: options.settings } : {}),
    ...(options.configure ? { configure: options.configure } : {}),
  });
  const submit = async (given?: ProductSpec) => {
    const spec = given ?? (await exampleSpec());
    if (!pipeline.specFiles) throw new Error('the proof pipelines use the JSON spec source');
    await pipeline.specFiles.register(spec);
    return (await submitJob(pipeline.deps, { userId: spec.user.id, productId: spec.product.id })).job;
  };
  return {
    pipeline,
    deps: pipeline.deps,
    dataDir: options.dataDir,
    logs,
    submit,
    close: () => pipeline.close(),
  };
}

/** What the adapters themselves hold for one job: the evidence that a side effect happened. */
export interface Evidence {
  /** Bare repositories under `<dataDir>/repos` owned by the job (git config mvp.jobId). */
  repos: number;
  /** Commits on the job's repository (template + generated = 2 for a finished job). */
  commits: number;
  /** Deployment records of the job under `<dataDir>/deployments`. */
  deployments: number;
  /** Lines for the job in `<dataDir>/notifications.jsonl`. */
  notifications: number;
}

export async function evidence(dataDir: string, jobId: string): Promise<Evidence> {
  const reposDir = join(dataDir, 'repos');
  const owned: string[] = [];
  for (const name of await readdir(reposDir).catch(() => [] as string[])) {
    if (!name.endsWith('.git')) continue;
    const config = await readFile(join(reposDir, name, 'config'), 'utf8').catch(() => '');
    if (new RegExp(`^\\s*jobId = ${jobId}\\s*$`, 'm').test(config)) owned.push(name);
  }
  let commits = 0;
  for (const repo of owned) {
    const count = spawnSync('git', ['--git-dir', join(reposDir, repo), 'rev-list', '--count', '--all'], {
      encoding: 'utf8',
    });
    commits += Number(count.stdout.trim()) || 0;
  }
  let deployments = 0;
  const deploymentsDir = join(dataDir, 'deployments');
  for (const name of await readdir(deploymentsDir).catch(() => [] as string[])) {
    if (!/^dpl_.*\.json$/.test(name)) continue;
    const record = JSON.parse(await readFile(join(deploymentsDir, name), 'utf8')) as { jobId?: string };
    if (record.jobId === jobId) deployments++;
  }
  const lines = (await readFile(join(dataDir, 'notifications.jsonl'), 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { jobId?: string });
  const notifications = lines.filter((n) => n.jobId === jobId).length;
  return { repos: owned.length, commits, deployments, notifications };
}

/** Waits until nobody holds a live lease on the job (a dead runner's lease ran out). */
export async function leaseLapsed(store: JobStore, jobId: string, timeoutMs = 30_000): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { job } = await store.get({ jobId });
    if (!job) throw new Error(`job ${jobId} is gone`);
    if (!isLeaseLive(job.lease, new Date())) return job;
    if (Date.now() > deadline) throw new Error(`the lease on ${jobId} is still live after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Resolves `promise`, or rejects naming `what` when it takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Files under `dir` (recursively, .git objects skipped) whose text contains one of `needles`. */
export async function filesContaining(dir: string, needles: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  const walk = async (at: string) => {
    for (const entry of await readdir(at, { withFileTypes: true }).catch(() => [])) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'objects') await walk(path);
      } else if (entry.isFile()) {
        // Files may vanish while walked (a runner's temp files and locks).
        const text = await readFile(path, 'latin1').catch(() => '');
        if (needles.some((needle) => text.includes(needle))) found.push(path);
      }
    }
  };
  await walk(dir);
  return found;
}

/** The secrets that occur in `text`. */
export function leakedIn(text: string): string[] {
  return SECRET_NEEDLES.filter((needle) => text.includes(needle));
}

/** A listing of every entry under `dir` with its size and mtime: compare two to see a write. */
export async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (at: string, prefix: string) => {
    const entries = await readdir(at, { withFileTypes: true }).catch(() => []);
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(at, entry.name);
      const info = await stat(path).catch(() => undefined);
      out.push(`${prefix}${entry.name} ${info?.size ?? '?'} ${info?.mtimeMs ?? '?'}`);
      if (entry.isDirectory()) await walk(path, `${prefix}${entry.name}/`);
    }
  };
  await walk(dir, '');
  return out;
}
