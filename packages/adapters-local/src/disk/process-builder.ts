import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  type Builder,
  type BuildResult,
  PipelineError,
  type ProgressReporter,
  ValidationError,
} from '@mvp-pipeline/core';
import { type CommandResult, resolveInside, runCommand } from '@mvp-pipeline/workspace';
import {
  installFromCache,
  lockKey,
  resolvePnpm,
  restoreBuildCache,
  saveBuildCache,
} from './dependency-cache.js';

export interface ProcessBuilderSettings {
  /**
   * Where dependencies (`deps/<lockfile key>/`, shared by every job of the machine) and build
   * caches (`build/<key>/`, per job) are kept, e.g. `<data dir>/cache`. Without it `install`
   * runs in each workspace as the template declares it, and no build cache is kept.
   */
  cacheDir?: string;
  /** Time allowed to each command. Default 10 minutes. */
  timeoutMs?: number;
  /** Output kept per command (the tail), and returned for a repair round. Default 16 KiB. */
  maxOutputBytes?: number;
  /**
   * More pnpm options for adding a dependency and installing, e.g. `--registry=<url>` or a scope's registry
   * (`--@acme:registry=<url>`); default none (pnpm's own configuration).
   */
  registryArgs?: readonly string[];
}

export const DEFAULT_BUILD_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_BUILD_OUTPUT_BYTES = 16 * 1024;
/** The commands the builder runs, in this order, when the manifest declares them (`build` always). */
export const BUILD_COMMANDS = ['install', 'generate', 'build', 'migrate', 'test'] as const;
/** Lines of a failing command's output copied into the job log. */
const LOG_TAIL_LINES = 10;
const LOG_LINE_CHARS = 300;

const shortLine = (line: string) =>
  line.length > LOG_LINE_CHARS ? `${line.slice(0, LOG_LINE_CHARS)}…` : line;
const shown = (argv: readonly string[]) =>
  argv.map((a) => (/^[\w./:=@+-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');

function logTail(report: ProgressReporter, output: string): void {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  for (const line of lines.slice(-LOG_TAIL_LINES)) report.log(shortLine(line), 'error');
}

/**
 * Builds a workspace with the commands its manifest declares: `install`, `generate`, `build`,
 * `migrate` (against `databaseUrl`, as DATABASE_URL), `test` (each if declared; `build` always),
 * with `pnpm` run from our own copy; with a `cacheDir`, `install` links the dependencies of the
 * lockfile from the machine's cache (see dependency-cache.ts) and the manifest's `buildCache`
 * folder is restored before `build` and saved after it. Each command runs with `runCommand` (argument arrays, no shell, the timeout, the output
 * cap, an environment without secrets) in the workspace, then checks that
 * `<workspace>/<manifest.outputDir>/index.html` exists (a server app, one whose manifest declares
 * `start`, is the built workspace itself). A missing program, a non-zero exit, a
 * timeout or a missing index.html is `ok: false` with a one-line summary and the output tail; an
 * abort rejects with the signal's reason. Progress goes to `report.log`: a line per command, and
 * at most 10 lines of a failing command's output.
 */
export function createProcessBuilder(settings: ProcessBuilderSettings = {}): Builder {
  const timeoutMs = settings.timeoutMs ?? DEFAULT_BUILD_TIMEOUT_MS;
  const cacheDir = settings.cacheDir;
  const maxOutputBytes = settings.maxOutputBytes ?? DEFAULT_BUILD_OUTPUT_BYTES;
  if (!(timeoutMs > 0) || !(maxOutputBytes > 0)) {
    throw new ValidationError('process builder settings', [
      { path: 'timeoutMs/maxOutputBytes', message: 'must be positive numbers' },
    ]);
  }
  /**
   * The template's install: linked from the machine's cache when there is one (undefined: no
   * command ran), else run in the workspace.
   */
  const install = async (
    dir: string,
    argv: readonly string[],
    key: string | undefined,
    report: ProgressReporter,
    signal: AbortSignal | undefined,
  ): Promise<CommandResult | undefined> => {
    if (cacheDir && key) {
      const installed = await installFromCache({
        cacheDir,
        key,
        workspace: dir,
        installArgv: argv,
        ...(settings.registryArgs ? { extraArgs: settings.registryArgs } : {}),
        timeoutMs,
        maxOutputBytes,
        report,
        ...(signal ? { signal } : {}),
      });
      if (installed.reused) {
        report.log(
          `install: linked the dependencies of lockfile ${key.slice(0, 12)} from this machine's cache`,
        );
        return undefined;
      }
      return installed.result!;
    }
    return runCommand({
      argv: [...resolvePnpm(argv), ...(argv[0] === 'pnpm' ? (settings.registryArgs ?? []) : [])],
      cwd: dir,
      timeoutMs,
      maxOutputBytes,
      env: { NODE_ENV: 'development' },
      ...(signal ? { signal } : {}),
    });
  };
  const failedCommand = (result: CommandResult): boolean => result.timedOut || result.exitCode !== 0;

  return {
    specificationVersion: 'v1',
    async install({ workspace, manifest, report, signal }) {
      const argv = manifest.commands['install'];
      if (!argv) return { ok: true, output: 'The template declares no install command: nothing to install' };
      const key = cacheDir ? await lockKey(workspace.dir, argv) : undefined;
      const result = await install(workspace.dir, argv, key, report, signal);
      if (!result) return { ok: true, output: 'Dependencies linked from the lockfile' };
      return { ok: !failedCommand(result), output: result.output };
    },
    async addDependency({ workspace, manifest, name, version, report, signal }) {
      const refused = dependencyProblem(name, version);
      if (refused) return { ok: false, output: refused };
      const argv = manifest.commands['install'];
      if (argv?.[0] !== 'pnpm') {
        return { ok: false, output: 'The template installs without pnpm: dependencies cannot be added here' };
      }
      const spec = `${name}@${version ?? 'latest'}`;
      report.log(`Adding the dependency ${spec}`);
      // The registry resolves the version; the lockfile alone changes here (no install scripts),
      // then the install below brings the packages in as every install does.
      const lockOnly = (target: string, cwd: string) =>
        runCommand({
          argv: resolvePnpm([
            'pnpm',
            'add',
            target,
            '--save-exact',
            '--lockfile-only',
            '--ignore-scripts',
            '--ignore-pnpmfile',
            ...(settings.registryArgs ?? []),
          ]),
          cwd,
          timeoutMs,
          maxOutputBytes,
          ...(signal ? { signal } : {}),
        });
      // pnpm keeps a range it is given as the specifier: resolve it alone first, then pin that.
      const scratch = await mkdtemp(path.join(tmpdir(), 'mvp-resolve-'));
      let exact: string | undefined;
      try {
        await writeFile(path.join(scratch, 'package.json'), '{"name":"resolve","private":true}\n');
        const resolved = await lockOnly(spec, scratch);
        if (failedCommand(resolved)) {
          return { ok: false, output: `${spec} could not be added: ${registryReason(resolved.output)}` };
        }
        exact = lockedVersion(await readFile(path.join(scratch, 'pnpm-lock.yaml'), 'utf8'), name);
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
      if (!exact) return { ok: false, output: `${spec} could not be added: pnpm resolved no version` };
      const added = await lockOnly(`${name}@${exact}`, workspace.dir);
      if (failedCommand(added)) {
        return { ok: false, output: `${name}@${exact} could not be added: ${registryReason(added.output)}` };
      }
      const pinned = await pinnedVersion(workspace.dir, name);
      const key = cacheDir ? await lockKey(workspace.dir, argv) : undefined;
      const installed = await install(workspace.dir, argv, key, report, signal);
      if (installed && failedCommand(installed)) {
        return {
          ok: false,
          ...(pinned ? { version: pinned } : {}),
          output: `${name}@${pinned ?? '?'} was added to package.json, but the install failed:\n${installed.output}`,
        };
      }
      return {
        ok: true,
        ...(pinned ? { version: pinned } : {}),
        output: `Added ${name}@${pinned ?? '?'} (exact version, lockfile updated, install scripts off)`,
      };
    },
    async build({ workspace, manifest, report, signal, databaseUrl, databaseCa }): Promise<BuildResult> {
      signal?.throwIfAborted();
      const checks: string[] = [];
      let lastOutput = '';
      const installArgv = manifest.commands['install'];
      const key = cacheDir && installArgv ? await lockKey(workspace.dir, installArgv) : undefined;
      // Per job: a build cache written by one job's (untrusted) build is never read by another's.
      const buildKey =
        key && createHash('sha256').update(`${workspace.jobId}\0${key}`).digest('hex').slice(0, 24);
      for (const name of BUILD_COMMANDS) {
        const argv = manifest.commands[name];
        if (!argv) continue;
        if (name === 'migrate' && !databaseUrl) {
          const summary = 'migrate needs a database, and the builder was given none';
          report.log(summary, 'error');
          return { ok: false, summary, output: summary };
        }
        report.log(`${name}: ${shortLine(shown(argv))}`);
        let result: Awaited<ReturnType<typeof runCommand>>;
        try {
          if (name === 'install') {
            const installed = await install(workspace.dir, argv, key, report, signal);
            if (!installed) {
              checks.push(name);
              continue;
            }
            result = installed;
          } else {
            if (name === 'build' && buildKey && manifest.buildCache) {
              const into = await resolveInside(workspace.dir, manifest.buildCache);
              if (await restoreBuildCache(cacheDir!, buildKey, into))
                report.log('build: restored the build cache');
            }
            result = await runCommand({
              argv: resolvePnpm(argv),
              cwd: workspace.dir,
              timeoutMs,
              maxOutputBytes,
              ...(name === 'migrate' && databaseUrl ? { secretEnv: { DATABASE_URL: databaseUrl } } : {}),
              ...(name === 'migrate' && databaseCa ? { env: { DATABASE_CA: databaseCa } } : {}),
              ...(signal ? { signal } : {}),
            });
          }
        } catch (error) {
          if (signal?.aborted || !PipelineError.isInstance(error)) throw error;
          // A program that is missing or cannot start is the workspace's fault: a failed build.
          const summary = `${name} failed: ${error.message}`;
          report.log(summary, 'error');
          return { ok: false, summary, output: error.message };
        }
        lastOutput = result.output;
        const seconds = (result.durationMs / 1000).toFixed(1);
        if (failedCommand(result)) {
          const why = result.timedOut
            ? `timed out after ${Math.round(timeoutMs / 1000)} s`
            : result.exitCode === null
              ? `was killed by ${result.signal ?? 'a signal'}`
              : `exited with code ${result.exitCode}`;
          const summary = `${name} failed: \`${shortLine(shown(argv))}\` ${why}`;
          report.log(`${summary} (${seconds} s)`, 'error');
          logTail(report, result.output);
          return { ok: false, summary, output: result.output || summary };
        }
        report.log(`${name} passed in ${seconds} s`);
        checks.push(name);
        if (name === 'build' && buildKey && manifest.buildCache) {
          await saveBuildCache(cacheDir!, buildKey, await resolveInside(workspace.dir, manifest.buildCache));
        }
      }
      // A server app is its built workspace; it is started, not served as files.
      if (manifest.start) {
        report.log(`Built the app (${manifest.framework ?? manifest.name})`);
        return { ok: true, outputDir: workspace.dir, checks };
      }
      // The manifest lives in the workspace a generator edits: keep its outputDir inside too.
      let outputDir: string;
      let index: string;
      try {
        outputDir = await resolveInside(workspace.dir, manifest.outputDir);
        index = await resolveInside(workspace.dir, `${manifest.outputDir}/index.html`);
      } catch (error) {
        if (!PipelineError.isInstance(error)) throw error;
        const summary = `The output directory is not usable: ${error.message}`;
        report.log(summary, 'error');
        return { ok: false, summary, output: lastOutput || summary };
      }
      const hasIndex = await stat(index).then(
        (s) => s.isFile(),
        () => false,
      );
      if (!hasIndex) {
        const summary = `The build wrote no ${manifest.outputDir.replace(/\/+$/, '')}/index.html`;
        report.log(summary, 'error');
        return { ok: false, summary, output: lastOutput || summary };
      }
      checks.push('index.html');
      report.log(`Built the site in ${manifest.outputDir}`);
      return { ok: true, outputDir, checks };
    },
  };
}

// An npm package name (scoped or not, lower case) and a version or range without shell or URL syntax.
const PACKAGE_NAME = /^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;
const VERSION = /^[0-9A-Za-z.^~<>=*| +-]{1,64}$/;

/** Why `name@version` is not something to ask the registry for (a URL, a path, a git spec), if it is not. */
export function dependencyProblem(name: string, version: string | undefined): string | undefined {
  if (name.length > 214 || !PACKAGE_NAME.test(name)) {
    return `"${name}" is not an npm package name (lower case, optionally @scope/name; no URLs, paths or git specs)`;
  }
  if (version !== undefined && !VERSION.test(version)) {
    return `"${version}" is not a version or range (e.g. 1.2.3, ^1.2.0, latest)`;
  }
  return undefined;
}

/** The registry's reason in pnpm's output: its ERR_PNPM line, else the last lines. */
function registryReason(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const error = lines.find((l) => l.includes('ERR_PNPM_') || /no matching version|not found|404/i.test(l));
  return shortLine(error ?? (lines.slice(-3).join(' / ') || 'pnpm failed without a message'));
}

/** The version pnpm's lockfile (v9) resolved `name` to for the root project. */
export function lockedVersion(lockfile: string, name: string): string | undefined {
  const key = name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const entry = new RegExp(`\\n {6}'?${key}'?:\\n {8}specifier: [^\\n]*\\n {8}version: ([^\\s(]+)`).exec(
    lockfile,
  );
  return entry?.[1];
}

async function pinnedVersion(dir: string, name: string): Promise<string | undefined> {
  const manifest = JSON.parse(await readFile(`${dir}/package.json`, 'utf8')) as Record<
    string,
    Record<string, string> | undefined
  >;
  return manifest['dependencies']?.[name] ?? manifest['devDependencies']?.[name];
}
