import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createAppHost, type HostedAppState } from '@mvp-pipeline/adapters-local';
import {
  backoffDelay,
  ConfigError,
  type JobStore,
  type Logger,
  type PipelineDeps,
  type PipelineSettings,
  runWorker,
  TOKENS,
  type WorkerSummary,
} from '@mvp-pipeline/core';
import type { RunnerConfig } from '../config.js';
import { type CreatePipelineOptions, createPipeline, type Pipeline } from '../container.js';
import { checkDataDir } from '../data-dir.js';
import type { JobChanges } from '../http/job-events.js';
import { toNodeListener } from '../http/node.js';
import { createStatusApi, json } from '../http/status-api.js';
import type { HttpRoute } from '../http/types.js';
import { createGate, isLoopback, requiredToken } from './auth.js';
import { dashboardResponse } from './dashboard.js';
import { serveSite } from './sites.js';

export interface ServeOptions {
  config: RunnerConfig;
  /** The interface to bind. Default 127.0.0.1; anything beyond loopback needs `token`. */
  host?: string;
  /** The port. Default 4173; 0 picks a free one. */
  port?: number;
  /** MVP_SERVE_TOKEN: required off loopback, optional on it. */
  token?: string;
  /** Jobs the in-process worker runs at the same time. Default 2. */
  concurrency?: number;
  /** Run submitted jobs here (when the config uses the in-process trigger). Default true. */
  worker?: boolean;
  /** Rebinds ports before they are built (createPipeline's `configure`). */
  configure?: CreatePipelineOptions['configure'];
  settings?: Partial<PipelineSettings>;
  logger?: Logger;
  /** The lowest level the default logger writes. Default info. */
  logLevel?: CreatePipelineOptions['logLevel'];
  /** The largest request body accepted, in bytes. Default 256 KiB. */
  maxBodyBytes?: number;
}

export interface RunningServer {
  /** Where the dashboard is, e.g. `http://127.0.0.1:4173`. */
  url: string;
  pipeline: Pipeline;
  /** The deps the server's API and worker use (the store reports its writes to open event streams). */
  deps: PipelineDeps;
  /** Stops taking requests, interrupts running jobs (they stay resumable) and releases the pipeline. */
  /** The published apps this server hosts: each site's port and what runs. */
  apps(): HostedAppState[];
  close(): Promise<WorkerSummary | undefined>;
}

/** A hosted app with no request for this long is stopped (the next request starts it again). */
const APP_IDLE_MS = 10 * 60_000;

/**
 * `mvp serve`: one node:http server with the status API (the same handlers FounderDash mounts),
 * each job's live event stream, the dashboard, and the sites the static deployer published (so a
 * job's URLs open in a browser: the pipeline's site base URL is this server's unless
 * MVP_SITE_BASE_URL says otherwise). Submitted jobs run in an in-process worker.
 * Refuses to start beyond loopback without a token (ConfigError naming MVP_SERVE_TOKEN).
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const token = requiredToken(host, options.token);
  await checkDataDir(options.config.dataDir);
  let route: HttpRoute = async () => json(503, { error: 'Starting' });
  const listener = toNodeListener((request) => route(request), {
    ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}),
  });
  const server = createServer((req, res) => listener(req, res));
  await listen(server, host, options.port ?? 4173);
  const { port } = server.address() as AddressInfo;
  const url = `http://${urlHost(host)}:${port}`;

  const listeners = new Set<(jobId: string) => void>();
  const changes: JobChanges = (listener) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
  let pipeline: Pipeline;
  try {
    pipeline = await createPipeline({
      config: { ...options.config, siteBaseUrl: options.config.siteBaseUrl ?? url },
      // The apps are served by this server's app host below, not by the deployer.
      hostApps: false,
      configure: (container) => {
        options.configure?.(container);
        // Whatever store is bound, the one resolved tells open event streams about its writes.
        container.onActivation(TOKENS.JobStore, (_context, store) =>
          reportingStore(store, (jobId) => {
            for (const listener of listeners) listener(jobId);
          }),
        );
      },
      ...(options.settings ? { settings: options.settings } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.logLevel ? { logLevel: options.logLevel } : {}),
    });
  } catch (error) {
    await stop(server);
    throw error;
  }
  const deps: PipelineDeps = pipeline.deps;
  const specs = pipeline.specFiles;
  // Every published app on its own port, started on the first request and stopped when idle.
  const { databases, logger } = deps.ports;
  const apps =
    databases && pipeline.config.deployer !== 'vercel'
      ? createAppHost({
          root: pipeline.config.dataDir,
          databases,
          idleMs: APP_IDLE_MS,
          redact: pipeline.redact,
          log: (message, level = 'info') => logger[level](message),
        })
      : undefined;
  await apps?.refresh();
  const api = createStatusApi({
    deps,
    ...(specs ? { registerSpec: (spec: unknown) => specs.register(spec, 'submitted spec') } : {}),
    ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}),
    events: { changes },
  });
  const gate = createGate({ host, token });
  const sitesDir = join(pipeline.config.dataDir, 'sites');

  route = async (request) => {
    const stopped = gate.check(request);
    if (stopped) return stopped;
    const method = request.method.toUpperCase();
    if (request.path === '/api/mvp/users') {
      if (method !== 'GET' && method !== 'HEAD')
        return json(405, { error: 'Use GET here' }, { allow: 'GET, HEAD' });
      return json(200, { users: (await specs?.users()) ?? [] });
    }
    const answer = await api.route(request);
    if (answer) return answer;
    if (request.path.startsWith('/sites/')) {
      if (method !== 'GET' && method !== 'HEAD')
        return json(405, { error: 'Use GET here' }, { allow: 'GET, HEAD' });
      return serveSite(sitesDir, request.path.slice('/sites/'.length));
    }
    return dashboardResponse(method, request.path) ?? json(404, { error: `Nothing at ${request.path}` });
  };

  const stopWorker = new AbortController();
  const runWorkerHere = options.worker !== false && pipeline.localTrigger !== undefined;
  const trigger = pipeline.localTrigger;
  const worker = runWorkerHere
    ? keepWorking(deps, stopWorker.signal, () =>
        runWorker(deps, {
          concurrency: options.concurrency ?? 2,
          signal: stopWorker.signal,
          subscribe: (wake) => trigger!.subscribe(wake),
          onError: (jobId, error) =>
            deps.ports.logger.error('Job could not run', {
              jobId,
              error: error instanceof Error ? error.message : String(error),
            }),
        }),
      )
    : undefined;

  let closing: Promise<WorkerSummary | undefined> | undefined;
  return {
    url,
    apps: () => apps?.state() ?? [],
    pipeline,
    deps,
    close() {
      closing ??= (async () => {
        stopWorker.abort(new Error('the server is stopping'));
        const summary = await worker;
        await stop(server);
        await apps?.close();
        await pipeline.close();
        return summary;
      })();
      return closing;
    },
  };
}

/**
 * Runs the worker until `signal` stops it. A worker that fails (its poll of the store failed:
 * the store is down, the disk is gone) is started again after the pipeline's retry backoff,
 * for as long as the failures last, so an outage never takes the server down.
 */
async function keepWorking(
  deps: PipelineDeps,
  signal: AbortSignal,
  work: () => Promise<WorkerSummary>,
): Promise<WorkerSummary> {
  const total: WorkerSummary = { runs: 0, outcomes: {} };
  let failures = 0;
  while (!signal.aborted) {
    const started = Date.now();
    try {
      const summary = await work();
      total.runs += summary.runs;
      for (const [outcome, count] of Object.entries(summary.outcomes) as Array<
        [keyof WorkerSummary['outcomes'], number]
      >)
        total.outcomes[outcome] = (total.outcomes[outcome] ?? 0) + count;
      if (signal.aborted) break;
    } catch (error) {
      if (signal.aborted) break;
      const { retry, random } = deps.settings;
      // A worker that ran a while before failing starts the backoff over.
      failures = Date.now() - started > retry.maxDelayMs ? 1 : failures + 1;
      const waitMs = backoffDelay(retry, failures, random);
      deps.ports.logger.error('The worker could not reach the job store; trying again', {
        error: error instanceof Error ? error.message : String(error),
        failures,
        retryInMs: waitMs,
      });
      await deps.ports.clock.sleep(waitMs, signal).catch(() => undefined);
    }
  }
  return total;
}

/** The store, telling `changed` about every write, so open event streams see it at once. */
function reportingStore(store: JobStore, changed: (jobId: string) => void): JobStore {
  const after =
    <A extends { jobId: string }, R>(call: (args: A) => Promise<R>) =>
    async (args: A): Promise<R> => {
      const result = await call(args);
      changed(args.jobId);
      return result;
    };
  return {
    specificationVersion: 'v1',
    create: async (args) => {
      const result = await store.create(args);
      changed(result.job.jobId);
      return result;
    },
    get: (args) => store.get(args),
    update: after((args) => store.update(args)),
    acquireLease: after((args) => store.acquireLease(args)),
    renewLease: after((args) => store.renewLease(args)),
    releaseLease: after((args) => store.releaseLease(args)),
    listByUser: (args) => store.listByUser(args),
    listRunnable: (args) => store.listRunnable(args),
    readHistory: (args) => store.readHistory(args),
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
      if (error.code === 'EADDRINUSE') reject(new ConfigError('--port', `${where} is already in use`));
      else if (error.code === 'EACCES')
        reject(new ConfigError('--port', `${where} needs privileges this process lacks`));
      else if (error.code === 'EADDRNOTAVAIL')
        reject(new ConfigError('--host', `${host} is not an address of this machine`));
      else reject(error);
    });
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function stop(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Event streams stay open until their connections are closed.
    server.closeAllConnections();
  });
}

/** The host part of the server's URL: a wildcard bind is reached through loopback here. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  if (isLoopback(host) && host.includes(':')) return `[${host.replace(/^\[|\]$/g, '')}]`;
  return host.includes(':') ? `[${host}]` : host;
}
