import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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
import { toDatabaseError, urlSecrets } from './errors.js';
import { createFilePasswordStore, generatePassword, type PasswordStore } from './password-store.js';
import { startPgliteFront } from './pglite-front.js';

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
/**
 * PGlite's default 128 MB of shared buffers costs ~200 MB of memory per running database (and
 * ~800 MB for the first); 16 MB (the embedded cluster's setting) brings that to ~50 MB.
 */
const POSTGRESQL_CONF = ['shared_buffers = 16MB'];
/**
 * Makes an empty PGlite data dir at $TARGET. Run in a child process: PGlite's initdb keeps
 * ~0.5 GB of memory in the process that ran it, and the runner should not carry that.
 */
const INITDB_SCRIPT = `import { PGlite } from '@electric-sql/pglite';
const db = await PGlite.create(process.env.TARGET, { postgresqlconf: ${JSON.stringify(POSTGRESQL_CONF)} });
await db.close();`;
/** Where the child resolves '@electric-sql/pglite' from: this module's folder (src or dist). */
const HERE = path.dirname(fileURLToPath(import.meta.url));

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

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
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
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await writeFile(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const pid = Number(await readText(file));
      // Our own pid without a served entry: left by a stop that failed half-way.
      if (pid === process.pid) return;
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
        throw new TransientError(`The PGlite database ${name} is in use by process ${pid}; try again later`);
      }
      await rm(file, { force: true });
    }
    throw new TransientError(`Could not take the PGlite database ${name}: its lock keeps changing`);
  }

  async function loadPglite(): Promise<typeof PGlite> {
    return (await import('@electric-sql/pglite')).PGlite;
  }

  /**
   * `<dir>/template`: an empty data dir made once by a child process (see INITDB_SCRIPT); each
   * database starts as a copy of it, so no initdb runs in this process.
   */
  async function template(): Promise<string> {
    const target = path.join(dir, 'template');
    return inTurn(target, async () => {
      if (existsSync(path.join(target, 'PG_VERSION'))) return target;
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const temp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}`;
      try {
        await new Promise<void>((resolve, reject) =>
          execFile(
            process.execPath,
            ['--input-type=module', '-e', INITDB_SCRIPT],
            {
              cwd: HERE,
              // Nothing of the runner's environment (its secrets) goes to the child.
              env: { PATH: process.env['PATH'] ?? '', TARGET: temp },
              timeout: 180_000,
              maxBuffer: 4 * 1024 * 1024,
            },
            (error, _stdout, stderr) =>
              error
                ? reject(
                    new PermanentError(
                      `PGlite's initdb failed (${error.code ?? error.signal}): ${stderr.slice(-2000)}`.trim(),
                    ),
                  )
                : resolve(),
          ),
        );
        // Whole or absent: another process that got there first keeps its own.
        await rename(temp, target).catch((error: NodeJS.ErrnoException) => {
          if (!existsSync(path.join(target, 'PG_VERSION'))) throw error;
        });
      } finally {
        await rm(temp, { recursive: true, force: true });
      }
      return target;
    });
  }

  /** A new data dir holding a login role `name` (no superuser, no createdb/createrole) and a database it owns. */
  async function init(name: string, jobId: string, purpose: DatabasePurpose): Promise<void> {
    const f = files(name);
    await rm(f.pgdata, { recursive: true, force: true });
    await cp(await template(), f.pgdata, { recursive: true });
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
