import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, cp, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createDynamoDocumentClient,
  createDynamoJobStore,
  createJobsTable,
} from '@mvp-pipeline/adapters-aws';
import type { JobStore } from '@mvp-pipeline/core';
// dynalite ships no types: it is a function returning an http.Server.
// @ts-expect-error no declaration file
import dynaliteServer from 'dynalite';

/** The repository root, from this file. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const PACKAGE_DIR = join(REPO_ROOT, 'packages/runner-batch');

/** What the Dockerfile says the container is: where it runs, what it copies, its environment and command. */
export interface ImageSpec {
  from: string;
  user: string | undefined;
  workdir: string;
  /** `COPY` sources (relative to the build context) and their destinations (relative to WORKDIR). */
  copies: Array<{ sources: string[]; destination: string }>;
  env: Record<string, string>;
  cmd: string[];
  entrypoint: string[] | undefined;
  aptPackages: string[];
  /** `RUN node …` build steps (argv), run in WORKDIR after the COPY lines. */
  nodeSteps: string[][];
}

/** Reads the few Dockerfile instructions the image uses (one instruction per logical line). */
export function parseDockerfile(text: string): ImageSpec {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const spec: ImageSpec = {
    from: '',
    user: undefined,
    workdir: '/',
    copies: [],
    env: {},
    cmd: [],
    entrypoint: undefined,
    aptPackages: [],
    nodeSteps: [],
  };
  for (const line of lines) {
    const [instruction = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    switch (instruction.toUpperCase()) {
      case 'FROM':
        spec.from = args;
        break;
      case 'USER':
        spec.user = args;
        break;
      case 'WORKDIR':
        spec.workdir = args;
        break;
      case 'COPY': {
        const parts = rest.filter((p) => !p.startsWith('--'));
        spec.copies.push({ sources: parts.slice(0, -1), destination: parts.at(-1) ?? '.' });
        break;
      }
      case 'ENV':
        for (const [, name, value] of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) {
          spec.env[name!] = value!.replace(/^"|"$/g, '');
        }
        break;
      case 'CMD':
        spec.cmd = JSON.parse(args) as string[];
        break;
      case 'ENTRYPOINT':
        spec.entrypoint = JSON.parse(args) as string[];
        break;
      case 'RUN':
        if (rest[0] === 'node') spec.nodeSteps.push(rest);
        for (const match of args.matchAll(/apt-get install\s+(?:-\S+\s+)*([^&;]+)/g)) {
          spec.aptPackages.push(...match[1]!.trim().split(/\s+/));
        }
        break;
    }
  }
  return spec;
}

/**
 * Lays out the image's WORKDIR in `appDir` by following the Dockerfile's COPY lines from the
 * build context (the bundle folder), then runs its `RUN node …` steps there with the image's
 * ENV, so what runs in the tests is what the image holds.
 */
export async function assembleImage(image: ImageSpec, context: string, appDir: string): Promise<void> {
  await mkdir(appDir, { recursive: true });
  for (const { sources, destination } of image.copies) {
    for (const source of sources) {
      const target =
        destination.endsWith('/') || sources.length > 1
          ? join(appDir, destination, source)
          : join(appDir, destination);
      await cp(join(context, source), target, { recursive: true });
    }
  }
  for (const step of image.nodeSteps) {
    const run = await startProcess(step, appDir, { PATH: process.env.PATH ?? '/usr/bin:/bin', ...image.env })
      .exit;
    if (run.code !== 0) throw new Error(`RUN ${step.join(' ')} exited ${run.code}: ${run.stderr}`);
  }
}

/** Dummy credentials: dynalite checks that requests are signed, not by whom. */
export const DUMMY_CREDENTIALS = { accessKeyId: 'AKIDBUNDLETEST', secretAccessKey: 'bundle-test-secret' };
export const REGION = 'us-east-1';

export interface LocalDynamo {
  endpoint: string;
  tableName: string;
  /** A DynamoDB job store on the table, as the runner builds it. */
  store: JobStore;
  close(): Promise<void>;
}

/** dynalite (in memory) on a free loopback port, with a jobs table. */
export async function startDynamo(tableName: string): Promise<LocalDynamo> {
  const server = (dynaliteServer as (options: object) => import('node:http').Server)({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = createDynamoDocumentClient({ endpoint, region: REGION, credentials: DUMMY_CREDENTIALS });
  await createJobsTable({ client, tableName });
  return {
    endpoint,
    tableName,
    store: createDynamoJobStore({ tableName }, { client }),
    async close() {
      client.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
  };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Started {
  child: ChildProcess;
  /** Resolves when the process has exited and its output is closed. */
  exit: Promise<Exit>;
}

/**
 * Starts a process the way the container would: `argv` from WORKDIR, with exactly `env` (no
 * variable of the test's own environment leaks in). Always asynchronous: dynalite answers from
 * this process.
 */
export function startProcess(argv: readonly string[], cwd: string, env: Record<string, string>): Started {
  const [command, ...args] = argv;
  const child = spawn(command === 'node' ? process.execPath : command!, args, {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const exit = new Promise<Exit>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, exit };
}

/** The structured log lines (JSON, one per line) a run wrote to stderr. */
export function jsonLogLines(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split('\n')
    .filter((l) => l.trim())
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON log line: ${line}`);
      }
    });
}

/** Waits for `check` to hold, polling; fails after `timeoutMs` with `what`. */
export async function waitFor(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A copy of `templatesDir` plus the template `gated`: the landing page, whose build first writes
 * `started` and then waits while `gate` exists. It puts a runner in BUILDING for as long as the
 * test needs (the builder runs commands with a clean environment, so the paths are written in).
 */
export async function gatedTemplates(
  templatesDir: string,
  target: string,
  files: { started: string; gate: string },
): Promise<void> {
  await cp(templatesDir, target, { recursive: true });
  // Builds run under a sandbox uid of their own: let it create the marker (and reach the gate).
  await chmod(dirname(files.started), 0o1777);
  for (let dir = dirname(dirname(files.started)); dir !== dirname(dir); dir = dirname(dir)) {
    await chmod(dir, (await stat(dir)).mode | 0o001);
  }
  const gated = join(target, 'gated');
  await cp(join(templatesDir, 'landing'), gated, { recursive: true });
  const manifest = JSON.parse(await readFile(join(gated, 'mvp.template.json'), 'utf8'));
  manifest.name = 'gated';
  manifest.commands.build = ['node', 'gated-build.mjs'];
  await writeFile(join(gated, 'mvp.template.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(
    join(gated, 'gated-build.mjs'),
    [
      "import { existsSync, writeFileSync } from 'node:fs';",
      // A later attempt runs under another workspace's uid and cannot rewrite the first one's marker.
      `try { writeFileSync(${JSON.stringify(files.started)}, String(process.pid)); } catch (e) { if (e.code !== 'EACCES') throw e; }`,
      `while (existsSync(${JSON.stringify(files.gate)})) await new Promise((r) => setTimeout(r, 50));`,
      "await import('./build.mjs');",
      '',
    ].join('\n'),
  );
}
