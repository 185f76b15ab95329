import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import {
  createRedactor,
  type DatabaseProvisioner,
  type DatabasePurpose,
  type DatabaseResource,
  databaseName,
  PermanentError,
  TransientError,
} from '@mvp-pipeline/core';
import { portIsFree } from './embedded-postgres.js';
import { toDatabaseError, urlSecrets } from './errors.js';
import { createFilePasswordStore, generatePassword, type PasswordStore } from './password-store.js';
import { startPgliteFront } from './pglite-front.js';
import { POSTGRESQL_CONF, pgliteTemplate } from './pglite-template.js';

export interface PgliteProvisionerSettings {
  /** The folder of every PGlite database (`<data dir>/databases/pglite`); passwords in `<dir>/passwords`. */
  dir: string;
  /** Called with each password and app URL as soon as they exist. */
  registerSecret?: (value: string) => void;
  /** Where passwords are kept. Default: 0600 files under `<dir>/passwords`. */
  passwords?: PasswordStore;
  /** Connections each database accepts at once (the app's pool plus a migration run). Default 20. */
  maxConnections?: number;
}

export type PgliteProvisioner = DatabaseProvisioner & {
  /** Stops every server this provisioner started; the data stays. */
  close(): Promise<void>;
};

export const PGLITE_PROVIDER = 'postgres-pglite';
const DEFAULT_MAX_CONNECTIONS = 20;
/** One database being served by this process: PGlite, its pglite-socket server and the TCP front. */
interface Served {
  port: number;
  stop(): Promise<void>;
}

/*
 * Process-wide, because a PGlite data dir may be opened by one instance only: two provisioners
 * of this process over the same folder share the running servers, and attempts on one
 * database take turns.
 */
const served = new Map<string, Served>();
const turns = new Map<string, Promise<unknown>>();

function inTurn<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = turns.get(key) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(work);
  turns.set(key, next);
  void next
    .catch(() => undefined)
    .then(() => {
      if (turns.get(key) === next) turns.delete(key);
    });
  return next;
}

const marker = (jobId: string, purpose: DatabasePurpose) => `mvp-pipeline job ${jobId} (${purpose})`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const readText = (file: string) =>
  readFile(file, 'utf8').then(
    (text) => text.trim(),
    () => undefined,
  );

/**
 * The DatabaseProvisioner for a machine with only Node.js: per (job, purpose) one PGlite data
 * dir `<dir>/<name>/pgdata` (name from `databaseName`), served on 127.0.0.1 by
 * @electric-sql/pglite-socket behind a front that checks user, database and password (SCRAM).
 * Servers run inside this process, start on first use and keep their port across restarts
 * while it is free. `check` databases are made anew on each provision. See README for what
 * PGlite cannot isolate.
 */
export function createPgliteProvisioner(settings: PgliteProvisionerSettings): PgliteProvisioner {
  const dir = path.resolve(settings.dir);
  const passwords = settings.passwords ?? createFilePasswordStore({ dir: path.join(dir, 'passwords') });
  const maxConnections = settings.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const secrets = new Set<string>();
  const register = (value: string) => {
    for (const secret of urlSecrets(value)) {
      secrets.add(secret);
      settings.registerSecret?.(secret);
    }
  };
  const redact = (text: string) => createRedactor(secrets)(text);
  const started = new Set<string>();

  const home = (name: string) => path.join(dir, name);
  const files = (name: string) => ({
    home: home(name),
    pgdata: path.join(home(name), 'pgdata'),
    owner: path.join(home(name), 'owner'),
    port: path.join(home(name), 'port'),
    lock: path.join(home(name), 'lock'),
  });

  const resourceOf = (name: string, purpose: DatabasePurpose, port: number): DatabaseResource => ({
    provider: PGLITE_PROVIDER,
    purpose,
    database: name,
    role: name,
    host: `127.0.0.1:${port}`,
    secretRef: passwords.ref(name),
  });

  /** Throws unless the folder of `name` is absent or (job, purpose)'s own. */
  async function assertOurs(name: string, jobId: string, purpose: DatabasePurpose): Promise<boolean> {
    const owner = await readText(files(name).owner);
    if (owner !== undefined && owner !== marker(jobId, purpose)) {
      throw new PermanentError(
        `A PGlite database named ${name} exists and is not job ${jobId}'s: left alone`,
      );
    }
    return owner !== undefined;
  }

  /**
   * Takes the data dir for this process (a pid file): PGlite must never open one data dir twice.
   * Held by another live process is a TransientError; a dead holder's file is taken over.
   */
  async function lock(name: string): Promise<void> {
    const file = files(name).lock;
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        await writeFile(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const pid = Number(await readText(file));
      // Ours: served by this process, or left by a stop that failed half-way.
      if (pid === process.pid) return;
      const written = Number.isInteger(pid) && pid > 0;
      // Empty: another process may have just made it and not yet written its pid; empty for
      // long, it was left by a crash between the two.
      if (!written && attempt < 2) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      if (written && alive(pid)) {
        throw new TransientError(`The PGlite database ${name} is in use by process ${pid}; try again later`);
      }
      await rm(file, { force: true });
    }
    throw new TransientError(`Could not take the PGlite database ${name}: its lock keeps changing`);
  }

  async function loadPglite(): Promise<typeof PGlite> {
    return (await import('@electric-sql/pglite')).PGlite;
  }

  /** A new data dir holding a login role `name` (no superuser, no createdb/createrole) and a database it owns. */
  async function init(name: string, jobId: string, purpose: DatabasePurpose): Promise<void> {
    const f = files(name);
    await rm(f.pgdata, { recursive: true, force: true });
    await cp(await pgliteTemplate(dir), f.pgdata, { recursive: true });
    const Pglite = await loadPglite();
    const db = await Pglite.create(f.pgdata, { postgresqlconf: POSTGRESQL_CONF });
    try {
      await db.exec(
        `CREATE ROLE ${name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS`,
      );
      await db.exec(`CREATE DATABASE ${name} OWNER ${name} TEMPLATE template0 ENCODING 'UTF8'`);
    } finally {
      await db.close();
    }
    // Written last: a folder without it is a half-made database, made again by the next provision.
    await writeFile(f.owner, `${marker(jobId, purpose)}\n`, { mode: 0o600 });
  }

  async function serve(name: string, password: string): Promise<Served> {
    const running = served.get(files(name).home);
    if (running) return running;
    const f = files(name);
    await lock(name);
    const kept = Number(await readText(f.port));
    const wanted = Number.isInteger(kept) && kept > 0 && (await portIsFree(kept)) ? kept : 0;
    const Pglite = await loadPglite();
    const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
    // The socket PGlite listens on: a private folder (0700), so only the front can reach it.
    const socketDir = await mkdtemp(path.join(os.tmpdir(), 'mvp-pglite-'));
    const steps: (() => Promise<unknown>)[] = [
      () => rm(socketDir, { recursive: true, force: true }),
      () => rm(f.lock, { force: true }),
    ];
    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        const errors: unknown[] = [];
        for (const step of steps.reverse()) await step().catch((error) => errors.push(error));
        served.delete(f.home);
        if (errors.length) throw toDatabaseError(`Stopping PGlite database ${name}`, errors[0], redact);
      })();
      return stopping;
    };
    try {
      // The session opens as the database's own role: an app needing superuser fails here as it
      // would on a server (parity, not a boundary: see README).
      const db = await Pglite.create(f.pgdata, {
        username: name,
        database: name,
        postgresqlconf: POSTGRESQL_CONF,
      });
      steps.push(() => db.close());
      const backendPath = path.join(socketDir, 's');
      // More than the front admits: pglite-socket frees a slot a tick after a client leaves.
      const socketServer = new PGLiteSocketServer({
        db,
        path: backendPath,
        maxConnections: maxConnections * 2,
      });
      await socketServer.start();
      steps.push(async () => {
        // The front has ended every connection; pglite-socket rolls back a transaction one left
        // open as it notices, a tick later. Waited for, so that no ROLLBACK meets a closed PGlite.
        for (let i = 0; i < 100 && socketServer.getStats().activeConnections > 0; i++) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await socketServer.stop();
      });
      const front = await startPgliteFront({
        backendPath,
        user: name,
        database: name,
        password,
        port: wanted,
        maxConnections,
      }).catch((error) => {
        // The kept port was taken between the check and the listen: any free one will do.
        if (wanted && (error as NodeJS.ErrnoException).code === 'EADDRINUSE')
          return startPgliteFront({
            backendPath,
            user: name,
            database: name,
            password,
            port: 0,
            maxConnections,
          });
        throw error;
      });
      steps.push(() => front.close());
      await writeFile(f.port, `${front.port}\n`, { mode: 0o600 });
      const entry: Served = { port: front.port, stop };
      served.set(f.home, entry);
      return entry;
    } catch (error) {
      await stop().catch(() => undefined);
      throw toDatabaseError(`Starting PGlite database ${name}`, error, redact);
    }
  }

  return {
    specificationVersion: 'v1',

    async provision({ jobId, purpose, signal }) {
      const name = databaseName(jobId, purpose);
      signal?.throwIfAborted();
      const f = files(name);
      // Marked before any wait, so a close() called meanwhile queues behind this and stops it.
      started.add(f.home);
      const password = await passwords.ensure(name, generatePassword);
      register(password);
      return inTurn(f.home, async () => {
        signal?.throwIfAborted();
        const exists = await assertOurs(name, jobId, purpose);
        await mkdir(dir, { recursive: true, mode: 0o700 });
        await mkdir(f.home, { recursive: true, mode: 0o700 });
        // Taken before any change: another process serving it keeps it.
        await lock(name);
        const fresh = !exists || purpose === 'check';
        if (fresh) {
          // A check database is empty on each provision: its server is stopped and its data made anew.
          await served.get(f.home)?.stop();
          await lock(name);
          try {
            await init(name, jobId, purpose);
          } catch (error) {
            throw toDatabaseError(`Creating PGlite database ${name}`, error, redact);
          }
        }
        const { port } = await serve(name, password);
        const url = new URL(`postgresql://127.0.0.1:${port}/${name}`);
        url.username = name;
        url.password = password;
        const connectionUrl = url.toString();
        register(connectionUrl);
        return { resource: resourceOf(name, purpose, port), connectionUrl, created: fresh };
      }).catch((error) => {
        if (signal?.aborted) throw signal.reason;
        throw toDatabaseError(`Provisioning PGlite database ${name}`, error, redact);
      });
    },

    async describe({ jobId, purpose, signal }) {
      const name = databaseName(jobId, purpose);
      signal?.throwIfAborted();
      const f = files(name);
      const owner = await readText(f.owner);
      const port = Number(await readText(f.port));
      if (owner !== marker(jobId, purpose) || !(port > 0)) return { resource: undefined };
      return { resource: resourceOf(name, purpose, port) };
    },

    async release({ jobId, purpose, signal }) {
      const name = databaseName(jobId, purpose);
      signal?.throwIfAborted();
      const f = files(name);
      const removed = await inTurn(f.home, async () => {
        await assertOurs(name, jobId, purpose);
        if (!existsSync(f.home)) return false;
        await lock(name);
        // Open connections end with the server.
        await served.get(f.home)?.stop();
        started.delete(f.home);
        await rm(f.home, { recursive: true, force: true });
        return true;
      }).catch((error) => {
        throw toDatabaseError(`Removing PGlite database ${name}`, error, redact);
      });
      const hadPassword = await passwords.remove(name);
      return { removed: removed || hadPassword };
    },

    async close() {
      const keys = [...started];
      started.clear();
      const results = await Promise.allSettled(
        keys.map((key) => inTurn(key, async () => served.get(key)?.stop())),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}
