import { createServer } from 'node:net';
import { PermanentError, PipelineError, type TemplateManifest } from '@mvp-pipeline/core';
import { runCommand, type StartedCommand, startCommand } from '@mvp-pipeline/workspace';

// Starting a built server app and making its owner: shared by the journey checker and the host.

/** What a server app's manifest declares for running it. */
export interface ServerAppManifest {
  start: string[];
  claim: string[] | undefined;
  migrate: string[] | undefined;
  portEnv: string;
  readyPath: string;
  model: string | undefined;
}

/** The run-time half of a manifest; PermanentError naming what is missing when it is not a server app. */
export function serverAppOf(
  manifest: TemplateManifest,
  needs: readonly ('claim' | 'model')[] = [],
): ServerAppManifest {
  const missing = [
    manifest.start ? undefined : 'start',
    manifest.commands['start'] ? undefined : 'commands.start',
    needs.includes('claim') && !manifest.commands['claim'] ? 'commands.claim' : undefined,
    needs.includes('model') && !manifest.model ? 'model' : undefined,
  ].filter(Boolean);
  if (missing.length > 0 || !manifest.start || !manifest.commands['start']) {
    throw new PermanentError(
      `The template "${manifest.name}" is not a server app: its manifest lacks ${missing.join(', ')}`,
    );
  }
  return {
    start: manifest.commands['start'],
    claim: manifest.commands['claim'],
    migrate: manifest.commands['migrate'],
    portEnv: manifest.start.portEnv,
    readyPath: manifest.start.readyPath,
    model: manifest.model,
  };
}

export const APP_HOST = '127.0.0.1';
/** Characters of an app's output quoted when it does not start. */
const OUTPUT_TAIL_CHARS = 3_000;

/** A port free on 127.0.0.1 right now (the app binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, APP_HOST, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * The start command bound to 127.0.0.1: `HOSTNAME` is set for servers that read it, but
 * `next start` takes its host from `-H` only (its port from `PORT`), so that form gets `-H`.
 */
export function startArgv(argv: readonly string[]): string[] {
  const at = argv.findIndex(
    (arg, i) => arg === 'start' && i > 0 && /(^|[/\\])next(\.mjs|\.js)?$/.test(argv[i - 1]!),
  );
  const hasHost = argv.some((arg) => arg === '-H' || arg === '--hostname' || arg.startsWith('--hostname='));
  return at === -1 || hasHost ? [...argv] : [...argv.slice(0, at + 1), '-H', APP_HOST, ...argv.slice(at + 1)];
}

export interface RunningApp {
  /** `http://127.0.0.1:<port>`: where it listens. */
  url: string;
  port: number;
  process: StartedCommand;
  stop(): Promise<void>;
}

export interface StartServerAppOptions {
  /** The app's directory (the built workspace, or a published deployment). */
  dir: string;
  app: ServerAppManifest;
  /** A secret: it reaches the app's environment only. */
  databaseUrl: string;
  /** The PEM CA the database server's certificate chains to, when it is not a public one (DATABASE_CA). */
  databaseCa?: string | undefined;
  /** The port to listen on (default: a free one). */
  port?: number;
  /** `APP_URL` of the app, the address people use (default: its own URL). */
  appUrl?: string;
  /** How long it has to answer its readyPath with 200. */
  timeoutMs: number;
  /** More of its environment (a session secret, settings), passed as secrets like the database URL. */
  secretEnv?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * Starts the app with startCommand (isolated under the uid of `dir`, port in `portEnv`, bound to
 * 127.0.0.1, `APP_URL`, `DATABASE_URL` as a secret) and waits until its readyPath answers 200.
 * Returns the running app, or why it did not start (it exited, or did not answer in time) with
 * the redacted tail of its output; it is stopped then. An aborted signal stops it and rejects.
 */
export async function startServerApp(
  options: StartServerAppOptions,
): Promise<{ ok: true; running: RunningApp } | { ok: false; failure: string }> {
  const { app, signal } = options;
  const port = options.port ?? (await freePort());
  const url = `http://${APP_HOST}:${port}`;
  const started = await startCommand({
    argv: startArgv(app.start),
    cwd: options.dir,
    workspace: options.dir,
    env: {
      [app.portEnv]: String(port),
      HOSTNAME: APP_HOST,
      APP_URL: options.appUrl ?? url,
      ...(options.databaseCa ? { DATABASE_CA: options.databaseCa } : {}),
    },
    secretEnv: { ...options.secretEnv, DATABASE_URL: options.databaseUrl },
    ...(signal ? { signal } : {}),
  });
  try {
    const failure = await waitReady(started, `${url}${app.readyPath}`, options.timeoutMs, signal);
    signal?.throwIfAborted();
    if (failure) {
      await started.stop();
      return { ok: false, failure };
    }
  } catch (error) {
    await started.stop();
    throw error;
  }
  return { ok: true, running: { url, port, process: started, stop: () => started.stop() } };
}

/** Polls `url` until it answers 200: undefined when ready, else why not with the output's tail. */
async function waitReady(
  app: StartedCommand,
  url: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<string | undefined> {
  let exited: string | undefined;
  void app.exited.then(
    (r) => {
      exited = `exited (${r.exitCode ?? r.signal})`;
    },
    (error: unknown) => {
      exited = `failed: ${PipelineError.isInstance(error) ? error.message : String(error)}`;
    },
  );
  const path = new URL(url).pathname;
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    if (signal?.aborted) return 'aborted';
    const status = await fetch(url, { signal: AbortSignal.timeout(5_000), redirect: 'manual' }).then(
      async (r) => {
        await r.body?.cancel();
        return r.status;
      },
      (error: unknown) =>
        error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : '',
    );
    if (status === 200) return undefined;
    last = typeof status === 'number' ? `answered ${status}` : status || 'no answer';
    if (exited) return `The app ${exited} before ${path} answered:\n${outputTail(app.output())}`;
    if (Date.now() > deadline) {
      return `The app did not answer ${path} with 200 within ${timeoutMs} ms (last: ${last}):\n${outputTail(app.output())}`;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export function outputTail(output: string): string {
  const text = output.trim();
  return text.length > OUTPUT_TAIL_CHARS ? `…${text.slice(-OUTPUT_TAIL_CHARS)}` : text || '(no output)';
}

/** What the claim command did: the one-time owner link (a secret), or the app has an owner already. */
export type ClaimOutcome =
  | { kind: 'link'; url: string }
  | { kind: 'owned' }
  | { kind: 'failed'; failure: string };

/** Exit code of the claim command when the app already has an owner. */
export const CLAIM_OWNED_EXIT = 3;

/**
 * Runs the app's claim command in `dir` (DATABASE_URL as a secret, APP_URL) and takes the last
 * line of its output as the owner link, which must start with `appUrl`. Exit 3: already owned.
 */
export async function claimOwner(options: {
  dir: string;
  app: ServerAppManifest;
  databaseUrl: string;
  databaseCa?: string | undefined;
  appUrl: string;
  timeoutMs: number;
  signal?: AbortSignal;
}): Promise<ClaimOutcome> {
  const { app, signal } = options;
  if (!app.claim) throw new PermanentError('The app declares no claim command');
  const result = await runCommand({
    argv: app.claim,
    cwd: options.dir,
    workspace: options.dir,
    timeoutMs: options.timeoutMs,
    env: { APP_URL: options.appUrl, ...(options.databaseCa ? { DATABASE_CA: options.databaseCa } : {}) },
    secretEnv: { DATABASE_URL: options.databaseUrl },
    ...(signal ? { signal } : {}),
  });
  if (result.exitCode === CLAIM_OWNED_EXIT) return { kind: 'owned' };
  const base = options.appUrl.replace(/\/+$/, '');
  const url = result.output.trim().split('\n').at(-1)?.trim() ?? '';
  // A link the redactor mangled (it looked like a token) would be useless: say so, never pass it.
  if (result.exitCode === 0 && url.startsWith(`${base}/`) && !url.includes('[REDACTED]')) {
    return { kind: 'link', url };
  }
  const what = result.exitCode === 0 ? 'printed no owner link' : `exited ${result.exitCode ?? result.signal}`;
  return { kind: 'failed', failure: `${app.claim.join(' ')} ${what}:\n${outputTail(result.output)}` };
}
