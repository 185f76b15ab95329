import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import {
  createRedactor,
  type DatabaseProvisioner,
  type DatabasePurpose,
  databaseName,
  NotFoundError,
  PermanentError,
  TransientError,
} from '@mvp-pipeline/core';
import { openPathTo } from '@mvp-pipeline/workspace';
import { createFilePasswordStore, generatePassword, type PasswordStore } from './password-store.js';
import { createPostgresServerProvisioner } from './postgres-server.js';

/** Where PostgreSQL's server programs (initdb, pg_ctl, postgres) are looked for, in order, after `binDir`. */
const BIN_CANDIDATES = [
  '/usr/local/bin',
  '/usr/bin',
  '/usr/lib/postgresql/17/bin',
  '/usr/lib/postgresql/16/bin',
  '/usr/lib/postgresql/15/bin',
];

/**
 * The folder holding `initdb` and `pg_ctl`, or undefined when this machine has none: `binDir`
 * if given, else the folders of PATH, else the usual Debian places.
 */
export function findPostgresBinaries(binDir?: string): string | undefined {
  const dirs = binDir
    ? [binDir]
    : [...(process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean), ...BIN_CANDIDATES];
  return dirs.find((dir) => existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'pg_ctl')));
}

export interface EmbeddedPostgresSettings {
  /** The cluster's folder (`<data dir>/databases/embedded`): its data, log and admin password. */
  dir: string;
  /** Where initdb and pg_ctl are (default: found with findPostgresBinaries). */
  binDir?: string;
  /**
   * The system user the server runs as when we are root (PostgreSQL refuses to run as root):
   * default `postgres` when that user exists, else `nobody`. Every folder above `dir` must be
   * searchable by it.
   */
  runAs?: string;
  /** How long start and stop may take. Default 60 s. */
  timeoutMs?: number;
  /** Called with the admin password and URL as soon as they exist. */
  registerSecret?: (value: string) => void;
}

export interface EmbeddedPostgres {
  /**
   * Creates the cluster on first use (initdb, SCRAM authentication, 127.0.0.1 only, no unix
   * socket), starts it on a free port unless it already runs (a cluster left running by an
   * earlier runner is adopted), and returns the admin URL (a secret). Idempotent.
   */
  start(options?: { signal?: AbortSignal }): Promise<{ adminUrl: string; port: number }>;
  /** Stops the server if it runs (fast shutdown: open connections are ended). Idempotent. */
  stop(): Promise<void>;
}

const ADMIN = 'mvp_admin';

interface RunAs {
  uid: number;
  gid: number;
  name: string;
}

/** The uid and gid of a system user, from /etc/passwd. */
function lookupUser(name: string): RunAs | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [user, , uid, gid] = line.split(':');
      if (user === name && uid && gid) return { name, uid: Number(uid), gid: Number(gid) };
    }
  } catch {
    // No /etc/passwd: nobody to run as.
  }
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * A PostgreSQL cluster the runner owns: `initdb` into `<dir>/pgdata` and `pg_ctl` to start and
 * stop it. Authentication is SCRAM for every connection (`--auth=scram-sha-256`), the server
 * listens on 127.0.0.1 only, on a port chosen free at first start and kept while it stays free.
 */
export function createEmbeddedPostgres(settings: EmbeddedPostgresSettings): EmbeddedPostgres {
  const dir = path.resolve(settings.dir);
  const pgdata = path.join(dir, 'pgdata');
  const confFile = path.join(pgdata, 'mvp.conf');
  // In pgdata: the server's user writes it.
  const logFile = path.join(pgdata, 'server.log');
  const timeoutMs = settings.timeoutMs ?? 60_000;
  const adminPasswords = createFilePasswordStore({ dir: path.join(dir, 'admin') });
  const secrets: string[] = [];
  const register = (value: string) => {
    secrets.push(value);
    settings.registerSecret?.(value);
  };
  const redact = (text: string) => createRedactor(secrets)(text);

  const bin = () => {
    const found = findPostgresBinaries(settings.binDir);
    if (!found) throw new NotFoundError('No PostgreSQL server programs (initdb, pg_ctl) on this machine');
    return found;
  };
  const runAs = (): RunAs | undefined => {
    if (process.getuid?.() !== 0) return undefined;
    const user = settings.runAs
      ? lookupUser(settings.runAs)
      : (lookupUser('postgres') ?? lookupUser('nobody'));
    if (!user)
      throw new PermanentError(
        `No system user ${settings.runAs ?? 'postgres or nobody'} to run PostgreSQL as`,
      );
    return user;
  };

  const run = (program: string, args: string[], signal?: AbortSignal) =>
    new Promise<{ code: number; output: string }>((resolve, reject) => {
      const user = runAs();
      execFile(
        path.join(bin(), program),
        args,
        {
          cwd: dir,
          env: {
            PATH: process.env['PATH'] ?? '/usr/bin:/bin',
            LANG: 'C.UTF-8',
            LC_ALL: 'C.UTF-8',
            TZ: 'UTC',
          },
          timeout: timeoutMs,
          maxBuffer: 1024 * 1024,
          ...(user ? { uid: user.uid, gid: user.gid } : {}),
          ...(signal ? { signal } : {}),
        },
        (error, stdout, stderr) => {
          if (signal?.aborted) return reject(signal.reason);
          const output = redact(`${stdout}${stderr}`.trim());
          if (error && typeof (error as { code?: unknown }).code === 'string') {
            return reject(new PermanentError(`${program} could not start: ${error.message}`));
          }
          resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output });
        },
      );
    });

  const ownIt = async (target: string) => {
    const user = runAs();
    if (user) await chown(target, user.uid, user.gid);
  };

  async function init(password: string, signal?: AbortSignal): Promise<void> {
    if (existsSync(path.join(pgdata, 'PG_VERSION'))) return;
    // A half-made cluster (initdb interrupted) is removed and made again.
    await rm(pgdata, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    // Searchable (not readable) by the server's user when that is not us, and the way down to it
    // too (a data dir is 0700).
    await chmod(dir, runAs() ? 0o711 : 0o700);
    if (runAs()) await openPathTo(dir);
    await mkdir(pgdata, { mode: 0o700 });
    await ownIt(pgdata);
    const pwfile = path.join(dir, `.initdb-${process.pid}.pw`);
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    await ownIt(pwfile);
    try {
      const result = await run(
        'initdb',
        [
          '-D',
          pgdata,
          '-U',
          ADMIN,
          `--pwfile=${pwfile}`,
          '--auth=scram-sha-256',
          '-E',
          'UTF8',
          '--locale=C',
          '--no-instructions',
        ],
        signal,
      );
      if (result.code !== 0) {
        await rm(pgdata, { recursive: true, force: true });
        const user = runAs();
        throw new PermanentError(
          `initdb failed${user ? ` (as user ${user.name}: every folder above ${dir} must be searchable by it)` : ''}: ${result.output.slice(-2000)}`,
        );
      }
    } finally {
      await rm(pwfile, { force: true });
    }
    await appendFile(path.join(pgdata, 'postgresql.conf'), "\ninclude_if_exists = 'mvp.conf'\n");
  }

  const configuredPort = async (): Promise<number | undefined> => {
    const text = await readFile(confFile, 'utf8').catch(() => '');
    const port = Number(/^port = (\d+)$/m.exec(text)?.[1]);
    return Number.isInteger(port) && port > 0 ? port : undefined;
  };
  const writeConf = async (port: number) => {
    await writeFile(
      confFile,
      [
        `port = ${port}`,
        "listen_addresses = '127.0.0.1'",
        "unix_socket_directories = ''",
        'max_connections = 100',
        'shared_buffers = 16MB',
        "password_encryption = 'scram-sha-256'",
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    await ownIt(confFile);
  };
  const running = async () => (await run('pg_ctl', ['status', '-D', pgdata])).code === 0;

  return {
    async start({ signal } = {}) {
      signal?.throwIfAborted();
      const password = await adminPasswords.ensure(ADMIN, generatePassword);
      register(password);
      await init(password, signal);
      let port = await configuredPort();
      if (!(port && (await running()))) {
        // Keep the port while it is free: the apps' URLs stay the same across restarts.
        const free = port && (await portIsFree(port)) ? port : await freePort();
        port = free;
        await writeConf(port);
        const result = await run(
          'pg_ctl',
          ['start', '-D', pgdata, '-l', logFile, '-w', '-t', String(Math.ceil(timeoutMs / 1000))],
          signal,
        );
        if (result.code !== 0) {
          const log = redact((await readFile(logFile, 'utf8').catch(() => '')).slice(-2000));
          throw new TransientError(`The embedded PostgreSQL did not start: ${result.output} ${log}`.trim());
        }
      }
      const adminUrl = `postgresql://${ADMIN}:${password}@127.0.0.1:${port}/postgres`;
      register(adminUrl);
      return { adminUrl, port };
    },
    async stop() {
      if (!existsSync(path.join(pgdata, 'PG_VERSION'))) return;
      if (!(await running())) return;
      const result = await run('pg_ctl', ['stop', '-D', pgdata, '-m', 'fast', '-w']);
      if (result.code !== 0 && (await running())) {
        throw new TransientError(`The embedded PostgreSQL did not stop: ${result.output}`);
      }
    },
  };
}

/** Whether `port` on 127.0.0.1 can be listened on now. */
export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export interface EmbeddedPostgresProvisionerSettings extends Omit<EmbeddedPostgresSettings, 'dir'> {
  /** The cluster's folder; MVP passwords go in `<dir>/passwords` unless `passwords` is given. */
  dir: string;
  passwords?: PasswordStore;
  connectionLimit?: number;
}

/**
 * The DatabaseProvisioner over an embedded cluster: the server starts on first use (or is
 * adopted when an earlier runner left it running), then behaves as
 * createPostgresServerProvisioner against it (`provider: 'postgres-embedded'`). `close()`
 * stops the server.
 */
export function createEmbeddedPostgresProvisioner(
  settings: EmbeddedPostgresProvisionerSettings,
): DatabaseProvisioner & { close(): Promise<void>; server: EmbeddedPostgres } {
  const server = createEmbeddedPostgres(settings);
  const passwords =
    settings.passwords ?? createFilePasswordStore({ dir: path.join(settings.dir, 'passwords') });
  let inner: Promise<DatabaseProvisioner> | undefined;
  const provisioner = (options: { jobId: string; purpose: DatabasePurpose; signal?: AbortSignal }) => {
    databaseName(options.jobId, options.purpose);
    const { signal } = options;
    signal?.throwIfAborted();
    inner ??= server.start().then(({ adminUrl }) =>
      createPostgresServerProvisioner({
        adminUrl,
        passwords,
        provider: 'postgres-embedded',
        ...(settings.registerSecret ? { registerSecret: settings.registerSecret } : {}),
        ...(settings.connectionLimit ? { connectionLimit: settings.connectionLimit } : {}),
      }),
    );
    inner.catch(() => {
      inner = undefined;
    });
    return inner;
  };
  return {
    specificationVersion: 'v1',
    server,
    provision: async (options) => (await provisioner(options)).provision(options),
    describe: async (options) => (await provisioner(options)).describe(options),
    release: async (options) => (await provisioner(options)).release(options),
    async close() {
      inner = undefined;
      await server.stop();
    },
  };
}
