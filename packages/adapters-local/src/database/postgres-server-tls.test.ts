import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  makeTestCertificates,
  type PostgresFront,
  startPostgresFront,
  type TestCertificates,
} from '@mvp-pipeline/adapters-postgres/testing';
import { databaseName, postgresTlsOptions as tlsOptions } from '@mvp-pipeline/core';
import { type DatabaseProvisionerHarness, databaseProvisionerContract } from '@mvp-pipeline/core/testing';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEmbeddedPostgres, type EmbeddedPostgres, findPostgresBinaries } from './embedded-postgres.js';
import { createFilePasswordStore } from './password-store.js';
import {
  createPostgresServerProvisioner,
  type PostgresServerProvisionerSettings,
} from './postgres-server.js';

/**
 * The server provisioner as production runs it: TLS to the server verified against a CA of its
 * own (a TLS front on loopback terminates TLS with a certificate from a self-signed CA, then
 * pipes to the test server), a pooler's address for the apps, and no startup parameter a
 * pooler refuses (the fronts record every startup message). Against TEST_DATABASE_URL, else a
 * cluster of its own; skipped when neither exists.
 */
const binaries = findPostgresBinaries();
const t = { describe, it, expect, beforeEach, afterEach };

const PGBOUNCER = '/usr/sbin/pgbouncer';

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function until(ready: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await ready()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('PgBouncer did not start');
}

/** What PgBouncer accepts in a startup message without `ignore_startup_parameters`. */
const POOLER_PARAMETERS = ['user', 'database', 'application_name', 'client_encoding'];

describe.runIf(process.env['TEST_DATABASE_URL'] || binaries)('the server provisioner in production', () => {
  let cluster: EmbeddedPostgres | undefined;
  let clusterDir: string | undefined;
  let upstreamUrl = process.env['TEST_DATABASE_URL'] ?? '';
  let certificates: TestCertificates;
  let front: PostgresFront;
  let poolFront: PostgresFront;
  let dir: string;
  /** The admin URL through the TLS front: `sslmode=require`, host `localhost` (the certificate's name). */
  let adminUrl: string;

  beforeAll(async () => {
    if (!upstreamUrl) {
      clusterDir = await mkdtemp(path.join(os.tmpdir(), 'mvp-pgtls-'));
      await chmod(clusterDir, 0o711);
      cluster = createEmbeddedPostgres({ dir: clusterDir });
      upstreamUrl = (await cluster.start()).adminUrl;
    }
    certificates = makeTestCertificates();
    const upstream = new URL(upstreamUrl);
    const target = { host: upstream.hostname, port: Number(upstream.port || 5432) };
    const tls = { cert: certificates.cert, key: certificates.key };
    front = await startPostgresFront({ upstream: target, tls });
    poolFront = await startPostgresFront({ upstream: target, tls });
    const admin = new URL(upstreamUrl);
    admin.host = `localhost:${front.port}`;
    admin.searchParams.set('sslmode', 'require');
    adminUrl = admin.toString();
    dir = await mkdtemp(path.join(os.tmpdir(), 'mvp-pgtls-pw-'));
  }, 120_000);
  afterAll(async () => {
    await front?.close();
    await poolFront?.close();
    await cluster?.stop();
    if (clusterDir) await rm(clusterDir, { recursive: true, force: true });
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  const provisioner = (extra: Partial<PostgresServerProvisionerSettings> = {}) =>
    createPostgresServerProvisioner({
      adminUrl,
      passwords: createFilePasswordStore({ dir }),
      connectTimeoutMs: 5_000,
      ...extra,
    });

  /** Runs `sql` over `url` as an app would, verifying the server against `ca`. */
  async function query(url: string, sql: string, ca: string | null = certificates.ca) {
    const client = new pg.Client({ ...tlsOptions(url, ca ?? undefined), connectionTimeoutMillis: 5_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const result = await client.query(sql);
      return { ok: true as const, rows: result.rows as Record<string, unknown>[] };
    } catch (error) {
      return { ok: false as const, error: String((error as Error).message) };
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  const exists = (sql: string, name: string) =>
    query(upstreamUrl.replace(/\?.*$/, ''), sql.replace('$1', pg.escapeLiteral(name)), null).then(
      (r) => r.ok && r.rows.length === 1,
    );
  const jobId = (name: string) => `job_${name}_${Date.now().toString(36)}`;

  it('verifies the server against MVP_APPS_DATABASE_CA, and the app URL asks for TLS', async () => {
    const job = jobId('tls');
    const p = provisioner({ ca: certificates.ca });
    const before = front.startups.length;
    try {
      const db = await p.provision({ jobId: job, purpose: 'app' });
      expect(new URL(db.connectionUrl).searchParams.get('sslmode')).toBe('require');
      expect(db.directUrl).toBeUndefined();
      // The app and its migrations must verify the server too: the CA comes with the URL.
      expect(db.ca).toBe(certificates.ca);
      expect(await query(db.connectionUrl, 'SELECT current_user AS role')).toEqual({
        ok: true,
        rows: [{ role: db.resource.role }],
      });
      const seen = front.startups.slice(before);
      expect(seen.some((s) => s.parameters['user'] === db.resource.role)).toBe(true);
      expect(seen.every((s) => s.tls)).toBe(true);
    } finally {
      await p.release({ jobId: job, purpose: 'app' });
    }
  });

  it('fails clearly without that CA (or with another one), creating nothing', async () => {
    const other = makeTestCertificates('Another CA');
    for (const settings of [{}, { ca: other.ca }]) {
      const job = jobId('noca');
      const error = await provisioner(settings)
        .provision({ jobId: job, purpose: 'app' })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'PERMANENT' });
      expect((error as Error).message).toMatch(/self[- ]signed certificate|unable to verify/);
      expect((error as Error).message).toContain('set MVP_APPS_DATABASE_CA');
      expect(await exists('SELECT 1 FROM pg_database WHERE datname = $1', databaseName(job, 'app'))).toBe(
        false,
      );
    }
    // A URL that turns TLS off while a CA is configured, or a CA that is not PEM, is refused at once.
    const plain = new URL(adminUrl);
    plain.searchParams.set('sslmode', 'disable');
    expect(() => provisioner({ adminUrl: plain.toString(), ca: certificates.ca })).toThrow(
      /MVP_APPS_DATABASE_URL: asks for sslmode=disable/,
    );
    expect(() => provisioner({ ca: 'not a certificate' })).toThrow(/MVP_APPS_DATABASE_CA/);
  });

  it('gives the app the pooled URL and migrations the direct one, with no startup parameter a pooler refuses', async () => {
    const job = jobId('pool');
    const p = provisioner({ ca: certificates.ca, poolUrl: `postgresql://localhost:${poolFront.port}` });
    const [beforeDirect, beforePool] = [front.startups.length, poolFront.startups.length];
    try {
      const db = await p.provision({ jobId: job, purpose: 'app' });
      expect(new URL(db.connectionUrl).port).toBe(String(poolFront.port));
      expect(new URL(db.directUrl!).port).toBe(String(front.port));
      expect(db.resource.host).toBe(`localhost:${poolFront.port}`);
      // Limits come from the role, not from the connection: they hold through a pooler.
      expect(await query(db.connectionUrl, 'SHOW statement_timeout')).toEqual({
        ok: true,
        rows: [{ statement_timeout: '1min' }],
      });
      expect((await query(db.directUrl!, 'CREATE TABLE migrated (id int)')).ok).toBe(true);
      expect((await query(db.connectionUrl, 'SELECT count(*)::int AS n FROM migrated')).ok).toBe(true);
      const direct = front.startups.slice(beforeDirect);
      const pooled = poolFront.startups.slice(beforePool);
      // The admin session (the provisioner's) and the migration went direct; the app's through the pool.
      expect(direct.map((s) => s.parameters['user'])).toContain(new URL(adminUrl).username || 'postgres');
      expect(direct.map((s) => s.parameters['application_name'])).toContain('mvp-pipeline-provisioner');
      expect(new Set(pooled.map((s) => s.parameters['user']))).toEqual(new Set([db.resource.role]));
      for (const startup of [...direct, ...pooled]) {
        for (const name of Object.keys(startup.parameters)) expect(POOLER_PARAMETERS).toContain(name);
      }
    } finally {
      await p.release({ jobId: job, purpose: 'app' });
    }
  });

  // A real PgBouncer as the pool (transaction mode, SCRAM against its auth file, Debian's package):
  // the app's URL works through it, one MVP's role still cannot open another's database, and it
  // refuses what node-postgres would send if a timeout were set as a startup parameter.
  describe.runIf(existsSync(PGBOUNCER) && process.getuid?.() === 0)('through PgBouncer', () => {
    let bouncer: ChildProcess | undefined;
    let bouncerDir: string;
    let bouncerPort: number;
    afterAll(async () => {
      bouncer?.kill('SIGTERM');
      if (bouncerDir) await rm(bouncerDir, { recursive: true, force: true });
    });

    it('serves the pooled URL, keeps MVPs apart, and is strict about startup parameters', async () => {
      const [jobA, jobB] = [jobId('bouncer_a'), jobId('bouncer_b')];
      bouncerPort = await freePort();
      const p = provisioner({ ca: certificates.ca, poolUrl: `postgresql://127.0.0.1:${bouncerPort}` });
      try {
        const a = await p.provision({ jobId: jobA, purpose: 'app' });
        const b = await p.provision({ jobId: jobB, purpose: 'app' });
        // PgBouncer checks the client's SCRAM proof against the role's verifier, as the server would.
        const verifiers = await query(
          upstreamUrl.replace(/\?.*$/, ''),
          `SELECT rolname, rolpassword FROM pg_authid WHERE rolname IN (${pg.escapeLiteral(a.resource.role)}, ${pg.escapeLiteral(b.resource.role)})`,
          null,
        );
        if (!verifiers.ok) throw new Error(verifiers.error);
        bouncerDir = await mkdtemp(path.join(os.tmpdir(), 'mvp-bouncer-'));
        await chmod(bouncerDir, 0o777);
        const upstream = new URL(upstreamUrl);
        await writeFile(
          path.join(bouncerDir, 'users.txt'),
          verifiers.rows.map((r) => `"${r['rolname']}" "${r['rolpassword']}"`).join('\n'),
        );
        await writeFile(
          path.join(bouncerDir, 'pgbouncer.ini'),
          [
            '[databases]',
            `* = host=${upstream.hostname} port=${upstream.port || 5432}`,
            '[pgbouncer]',
            'listen_addr = 127.0.0.1',
            `listen_port = ${bouncerPort}`,
            `unix_socket_dir = ${bouncerDir}`,
            'auth_type = scram-sha-256',
            `auth_file = ${path.join(bouncerDir, 'users.txt')}`,
            'pool_mode = transaction',
            `logfile = ${path.join(bouncerDir, 'pgbouncer.log')}`,
          ].join('\n'),
        );
        bouncer = spawn(
          'runuser',
          ['-u', 'postgres', '--', PGBOUNCER, path.join(bouncerDir, 'pgbouncer.ini')],
          {
            stdio: 'ignore',
          },
        );
        await until(() => listening(bouncerPort));
        const plainPool = (url: string) => {
          const u = new URL(url);
          u.searchParams.delete('sslmode');
          return u.toString();
        };
        expect(await query(plainPool(a.connectionUrl), 'SHOW statement_timeout', null)).toEqual({
          ok: true,
          rows: [{ statement_timeout: '1min' }],
        });
        const intruding = new URL(plainPool(a.connectionUrl));
        intruding.pathname = `/${b.resource.database}`;
        expect((await query(intruding.toString(), 'SELECT 1', null)).ok).toBe(false);
        const strict = new pg.Client({
          connectionString: plainPool(a.connectionUrl),
          statement_timeout: 5000,
        });
        const refused = await strict.connect().then(
          () => undefined,
          (error: unknown) => error,
        );
        await strict.end().catch(() => undefined);
        expect(String((refused as Error)?.message)).toMatch(
          /unsupported startup parameter: statement_timeout/,
        );
      } finally {
        await p.release({ jobId: jobA, purpose: 'app' });
        await p.release({ jobId: jobB, purpose: 'app' });
      }
    });
  });

  // Isolation, idempotency, release and errors, over verified TLS.
  databaseProvisionerContract(t, 'postgres server over TLS with a configured CA', async () => {
    const registered: string[] = [];
    const wrong = new URL(upstreamUrl);
    wrong.password = 'surely-not-the-password';
    const checksPasswords = !(await query(wrong.toString(), 'SELECT 1', null)).ok;
    return {
      provisioner: provisioner({ ca: certificates.ca, registerSecret: (v) => registered.push(v) }),
      query: (url, sql) => query(url, sql),
      databaseExists: (name) => exists('SELECT 1 FROM pg_database WHERE datname = $1', name),
      roleExists: (name) => exists('SELECT 1 FROM pg_roles WHERE rolname = $1', name),
      registeredSecrets: () => registered,
      checksPasswords,
      unreachable: () =>
        createPostgresServerProvisioner({
          adminUrl: 'postgresql://postgres:pw-unreachable@localhost:1/postgres?sslmode=require',
          ca: certificates.ca,
          passwords: createFilePasswordStore({ dir }),
        }),
    } satisfies DatabaseProvisionerHarness;
  });
});
