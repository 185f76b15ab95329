import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import {
  type Builder,
  type BuildResult,
  PipelineError,
  type ProgressReporter,
  ValidationError,
} from '@mvp-pipeline/core';
import { resolveInside, runCommand } from '@mvp-pipeline/workspace';
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
  return {
    specificationVersion: 'v1',
    async build({ workspace, manifest, report, signal, databaseUrl }): Promise<BuildResult> {
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
          if (name === 'install' && cacheDir && key) {
            const installed = await installFromCache({
              cacheDir,
              key,
              workspace: workspace.dir,
              installArgv: argv,
              timeoutMs,
              maxOutputBytes,
              report,
              ...(signal ? { signal } : {}),
            });
            if (installed.reused) {
              report.log(
                `install: linked the dependencies of lockfile ${key.slice(0, 12)} from this machine's cache`,
              );
              checks.push(name);
              continue;
            }
            result = installed.result!;
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
              ...(name === 'install' ? { env: { NODE_ENV: 'development' } } : {}),
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
        if (result.timedOut || result.exitCode !== 0) {
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
