import { connect, createServer, type Server, type Socket } from 'node:net';
import { createRedactor, type DatabaseProvisioner, type Redactor, ValidationError } from '@mvp-pipeline/core';
import { type RunningApp, startServerApp } from './server-app.js';
import { type AppSite, deploymentDir, readSites } from './sites.js';

export interface AppHostSettings {
  /** The data directory the local app deployer publishes to (`<root>/apps/`). */
  root: string;
  /** Where each app's `app` database comes from (provision is idempotent: it finds the existing one). */
  databases: DatabaseProvisioner;
  /** An app with no connection for this long is stopped (and started again on the next one). */
  idleMs: number;
  /** The address the sites listen on. Default 127.0.0.1. */
  baseHost?: string;
  /** How long an app has to answer its readyPath. Default 90 000 ms. */
  startTimeoutMs?: number;
  /** How often sites.json is read again for new sites and deployments. Default 2 000 ms; 0: never. */
  reloadMs?: number;
  /** false: the listeners do not keep the process alive (a batch run that deploys, checks, exits). */
  keepAlive?: boolean;
  /** Lines about starts, stops and failures (never a secret). */
  log?: (message: string, level?: 'info' | 'warn' | 'error') => void;
  redact?: Redactor;
}

export interface HostedAppState {
  slug: string;
  jobId: string;
  port: number;
  /** The deployment running now, and its internal port; undefined when stopped. */
  running?: { deploymentId: string; internalPort: number };
  connections: number;
}

export interface AppHost {
  /** Reads sites.json again: listens on new sites' ports, retires apps of replaced deployments. */
  refresh(): Promise<void>;
  /** Starts the job's latest deployment now unless it runs: its internal URL, or why it did not start. */
  ensureRunning(
    jobId: string,
  ): Promise<{ ok: true; url: string } | { ok: false; failure: string; notListening?: true }>;
  /** What is listened on and what runs. */
  state(): HostedAppState[];
  /** Closes every listener and connection and stops every app. */
  close(): Promise<void>;
}

interface Hosted {
  site: AppSite;
  server: Server;
  sockets: Set<Socket>;
  app?: { deploymentId: string; running: RunningApp } | undefined;
  starting?: Promise<{ ok: true; running: RunningApp } | { ok: false; failure: string }> | undefined;
  idle?: NodeJS.Timeout | undefined;
}

const DEFAULT_START_TIMEOUT_MS = 90_000;
const DEFAULT_RELOAD_MS = 2_000;

/**
 * Serves the published apps on their ports, starting each on demand: the first connection to a
 * site's port starts its latest deployment (startServerApp: isolated, on an internal free port,
 * `APP_URL` the public URL, `DATABASE_URL` from `databases.provision({ purpose: 'app' })`), waits
 * for its readyPath, and pipes the connection to it (TCP: HTTP, keep-alive and websockets alike).
 * An app without connections for `idleMs` is stopped; one that does not start gets its
 * connections a 503. A new deployment in sites.json (read every `reloadMs`, or on refresh())
 * replaces the running app: the old one is stopped, the next connection starts the new one.
 */
export function createAppHost(settings: AppHostSettings): AppHost {
  if (!(settings.idleMs > 0)) {
    throw new ValidationError('app host settings', [
      { path: 'idleMs', message: 'must be a positive number' },
    ]);
  }
  const host = settings.baseHost ?? '127.0.0.1';
  const startTimeoutMs = settings.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const redact = settings.redact ?? createRedactor();
  const log = (message: string, level: 'info' | 'warn' | 'error' = 'info') =>
    settings.log?.(redact(message), level);
  const hosted = new Map<string, Hosted>();
  let closed = false;

  const stopApp = async (entry: Hosted, why: string) => {
    const app = entry.app;
    if (!app) return;
    entry.app = undefined;
    if (entry.idle) clearTimeout(entry.idle);
    log(`Stopping ${entry.site.slug} (${app.deploymentId}): ${why}`);
    await app.running.stop();
  };

  const start = (entry: Hosted) => {
    if (entry.starting) return entry.starting;
    const starting = (async () => {
      const site = entry.site;
      if (!site.deploymentId || !site.app) return { ok: false as const, failure: 'nothing deployed yet' };
      const deploymentId = site.deploymentId;
      try {
        const { connectionUrl, ca } = await settings.databases.provision({
          jobId: site.jobId,
          purpose: 'app',
        });
        log(`Starting ${site.slug} (${deploymentId}) for ${urlOf(host, site.port)}`);
        const started = await startServerApp({
          dir: deploymentDir(settings.root, deploymentId),
          app: site.app,
          databaseUrl: connectionUrl,
          databaseCa: ca,
          appUrl: urlOf(host, site.port),
          timeoutMs: startTimeoutMs,
        });
        if (!started.ok) {
          log(`${site.slug} did not start: ${started.failure}`, 'error');
          return started;
        }
        const app = { deploymentId, running: started.running };
        if (closed || entry.site.deploymentId !== deploymentId) {
          // Closed, or redeployed while it started: this one is not wanted any more.
          await app.running.stop();
          return { ok: false as const, failure: 'replaced while starting' };
        }
        const previous = entry.app;
        entry.app = app;
        // A connection started the new deployment before a reload retired the old one.
        if (previous) void previous.running.stop();
        void app.running.process.exited.then(
          (result) => {
            if (entry.app !== app) return;
            entry.app = undefined;
            log(`${site.slug} exited (${result.exitCode ?? result.signal}) on its own`, 'warn');
          },
          () => undefined,
        );
        armIdle(entry);
        return started;
      } catch (error) {
        const failure = error instanceof Error ? error.message : String(error);
        log(`${site.slug} did not start: ${failure}`, 'error');
        return { ok: false as const, failure };
      }
    })();
    entry.starting = starting;
    void starting.finally(() => {
      if (entry.starting === starting) entry.starting = undefined;
    });
    return starting;
  };

  const armIdle = (entry: Hosted) => {
    if (entry.idle) clearTimeout(entry.idle);
    entry.idle = undefined;
    if (entry.sockets.size > 0 || !entry.app) return;
    entry.idle = setTimeout(() => {
      if (entry.sockets.size === 0) void stopApp(entry, `no connection for ${settings.idleMs} ms`);
    }, settings.idleMs);
    entry.idle.unref();
  };

  const onConnection = (entry: Hosted, socket: Socket) => {
    socket.pause();
    entry.sockets.add(socket);
    if (entry.idle) clearTimeout(entry.idle);
    socket.once('close', () => {
      entry.sockets.delete(socket);
      armIdle(entry);
    });
    socket.on('error', () => socket.destroy());
    const upstreamOf = async () => {
      if (entry.app && entry.app.deploymentId === entry.site.deploymentId) return entry.app.running.port;
      const started = await start(entry);
      return started.ok ? started.running.port : started.failure;
    };
    void upstreamOf().then((port) => {
      if (socket.destroyed) return;
      if (typeof port !== 'number') {
        const body = 'The app could not start. Try again in a minute.\n';
        socket.end(
          `HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
        );
        return;
      }
      const upstream = connect({ host: '127.0.0.1', port });
      upstream.on('error', () => socket.destroy());
      socket.on('close', () => upstream.destroy());
      upstream.on('close', () => socket.destroy());
      socket.pipe(upstream).pipe(socket);
      socket.resume();
    });
  };

  const listen = (site: AppSite) =>
    new Promise<void>((resolve) => {
      const server = createServer();
      const entry: Hosted = { site, server, sockets: new Set() };
      server.on('connection', (socket) => onConnection(entry, socket));
      server.once('error', (error: NodeJS.ErrnoException) => {
        log(
          `Cannot listen for ${site.slug} on ${host}:${site.port}: ${error.code ?? error.message}`,
          'error',
        );
        resolve();
      });
      server.listen(site.port, host, () => {
        if (settings.keepAlive === false) server.unref();
        hosted.set(site.jobId, entry);
        resolve();
      });
    });

  const closeEntry = async (entry: Hosted, why: string) => {
    hosted.delete(entry.site.jobId);
    await new Promise<void>((resolve) => {
      entry.server.close(() => resolve());
      for (const socket of entry.sockets) socket.destroy();
    });
    await entry.starting;
    await stopApp(entry, why);
  };

  let refreshing: Promise<void> | undefined;
  const refresh = async () => {
    if (closed) return;
    const sites = (await readSites(settings.root)).filter((s) => s.deploymentId && s.app);
    for (const site of sites) {
      const entry = hosted.get(site.jobId);
      if (!entry) {
        await listen(site);
        continue;
      }
      if (entry.site.port !== site.port) {
        await closeEntry(entry, 'its port changed');
        await listen(site);
        continue;
      }
      entry.site = site;
      if (entry.app && entry.app.deploymentId !== site.deploymentId) {
        await stopApp(entry, `replaced by ${site.deploymentId}`);
      }
    }
    for (const entry of [...hosted.values()]) {
      if (!sites.some((s) => s.jobId === entry.site.jobId)) await closeEntry(entry, 'its site is gone');
    }
  };
  const serialRefresh = () => {
    // One refresh at a time; a call during one waits for it and runs again.
    const next = (refreshing ?? Promise.resolve()).then(refresh, refresh);
    refreshing = next.finally(() => {
      if (refreshing === next) refreshing = undefined;
    });
    return next;
  };

  const reloadMs = settings.reloadMs ?? DEFAULT_RELOAD_MS;
  const timer =
    reloadMs > 0
      ? setInterval(() => {
          serialRefresh().catch((error: unknown) =>
            log(`Cannot read the sites: ${error instanceof Error ? error.message : String(error)}`, 'error'),
          );
        }, reloadMs)
      : undefined;
  timer?.unref();

  return {
    refresh: serialRefresh,
    async ensureRunning(jobId) {
      await serialRefresh();
      const entry = hosted.get(jobId);
      if (!entry)
        return { ok: false, failure: `no site of ${jobId} is listened on here`, notListening: true };
      if (entry.app && entry.app.deploymentId === entry.site.deploymentId) {
        return { ok: true, url: entry.app.running.url };
      }
      const started = await start(entry);
      return started.ok ? { ok: true, url: started.running.url } : started;
    },
    state() {
      return [...hosted.values()].map((entry) => ({
        slug: entry.site.slug,
        jobId: entry.site.jobId,
        port: entry.site.port,
        ...(entry.app
          ? { running: { deploymentId: entry.app.deploymentId, internalPort: entry.app.running.port } }
          : {}),
        connections: entry.sockets.size,
      }));
    },
    async close() {
      closed = true;
      if (timer) clearInterval(timer);
      await refreshing?.catch(() => undefined);
      await Promise.all([...hosted.values()].map((entry) => closeEntry(entry, 'the host closes')));
    },
  };
}

export const urlOf = (host: string, port: number) => `http://${host}:${port}`;
