import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createSecretRegistry } from '@mvp-pipeline/core';
import { type DatabaseProvisionerHarness, databaseProvisionerContract } from '@mvp-pipeline/core/testing';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createEmbeddedPostgres,
  createEmbeddedPostgresProvisioner,
  type EmbeddedPostgres,
  findPostgresBinaries,
} from './embedded-postgres.js';
import { createFilePasswordStore } from './password-store.js';
import { createPostgresServerProvisioner } from './postgres-server.js';

const t = { describe, it, expect, beforeEach, afterEach };
const binaries = findPostgresBinaries();

async function query(url: string, sql: string) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
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

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
    });
  });
}

/** A temp folder the server's user can reach when we run as root (mkdtemp makes it 0700). */
async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  await chmod(dir, 0o711);
  return dir;
}

const exists = (adminUrl: string, sql: string, name: string) =>
  query(adminUrl, sql.replace('$1', pg.escapeLiteral(name))).then((r) => r.ok && r.rows.length === 1);

function harnessFor(
  adminUrl: () => string,
  checksPasswords: () => boolean,
  make: (
    registerSecret: (value: string) => void,
    passwordsDir: string,
  ) => DatabaseProvisionerHarness['provisioner'],
): () => Promise<DatabaseProvisionerHarness> {
  return async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mvp-dbprov-'));
    const registered: string[] = [];
    return {
      provisioner: make((v) => registered.push(v), dir),
      query,
      databaseExists: (name) => exists(adminUrl(), 'SELECT 1 FROM pg_database WHERE datname = $1', name),
      roleExists: (name) => exists(adminUrl(), 'SELECT 1 FROM pg_roles WHERE rolname = $1', name),
      registeredSecrets: () => registered,
      checksPasswords: checksPasswords(),
      unreachable: () =>
        createPostgresServerProvisioner({
          adminUrl: 'postgresql://postgres:pw-unreachable@127.0.0.1:1/postgres',
          passwords: createFilePasswordStore({ dir }),
        }),
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  };
}

// The server adapter: against TEST_DATABASE_URL when set, else against a cluster of our own.
describe.runIf(process.env['TEST_DATABASE_URL'] || binaries)('the PostgreSQL server provisioner', () => {
  let cluster: EmbeddedPostgres | undefined;
  let clusterDir: string | undefined;
  let adminUrl = process.env['TEST_DATABASE_URL'] ?? '';
  let checksPasswords = true;
  beforeAll(async () => {
    if (adminUrl) {
      // Asked, not assumed: does this server refuse the admin with a wrong password?
      const wrong = new URL(adminUrl);
      wrong.password = 'surely-not-the-password';
      checksPasswords = !(await query(wrong.toString(), 'SELECT 1')).ok;
      return;
    }
    clusterDir = await tempDir('mvp-pgserver-');
    cluster = createEmbeddedPostgres({ dir: clusterDir });
    adminUrl = (await cluster.start()).adminUrl;
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
    if (clusterDir) await rm(clusterDir, { recursive: true, force: true });
  }, 60_000);

  databaseProvisionerContract(
    t,
    'postgres server',
    harnessFor(
      () => adminUrl,
      // The test machine's server trusts local connections; a cluster of our own checks passwords.
      () => checksPasswords,
      (registerSecret, dir) =>
        createPostgresServerProvisioner({
          adminUrl,
          passwords: createFilePasswordStore({ dir }),
          registerSecret,
        }),
    ),
  );

  it('limits the role and keeps PUBLIC out of the database', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mvp-dbprov-'));
    const provisioner = createPostgresServerProvisioner({
      adminUrl,
      passwords: createFilePasswordStore({ dir }),
      connectionLimit: 3,
    });
    const jobId = `job_limits_${Date.now().toString(36)}`;
    try {
      const db = await provisioner.provision({ jobId, purpose: 'app' });
      const role = await query(
        adminUrl,
        `SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolconnlimit, rolpassword LIKE 'SCRAM-SHA-256$%' AS scram FROM pg_authid WHERE rolname = ${pg.escapeLiteral(db.resource.role)}`,
      );
      expect(role).toEqual({
        ok: true,
        rows: [
          {
            rolcanlogin: true,
            rolsuper: false,
            rolcreatedb: false,
            rolcreaterole: false,
            rolconnlimit: 3,
            scram: true,
          },
        ],
      });
      const acl = await query(
        adminUrl,
        `SELECT has_database_privilege('public', oid, 'CONNECT') AS public_connect FROM pg_database WHERE datname = ${pg.escapeLiteral(db.resource.database)}`,
      );
      expect(acl).toEqual({ ok: true, rows: [{ public_connect: false }] });
      // The password is kept as a 0600 file, and that file is what the resource points at.
      const file = db.resource.secretRef;
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect((await readFile(file, 'utf8')).trim()).toBe(
        decodeURIComponent(new URL(db.connectionUrl).password),
      );
    } finally {
      await provisioner.release({ jobId, purpose: 'app' });
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('leaves alone a database of the same name that is not the job’s', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mvp-dbprov-'));
    const provisioner = createPostgresServerProvisioner({
      adminUrl,
      passwords: createFilePasswordStore({ dir }),
    });
    const jobId = `job_foreign_${Date.now().toString(36)}`;
    const { databaseName } = await import('@mvp-pipeline/core');
    const name = databaseName(jobId, 'app');
    await query(adminUrl, `CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    try {
      await expect(provisioner.provision({ jobId, purpose: 'app' })).rejects.toMatchObject({
        code: 'PERMANENT',
      });
      await expect(provisioner.release({ jobId, purpose: 'app' })).rejects.toMatchObject({
        code: 'PERMANENT',
      });
      expect(await exists(adminUrl, 'SELECT 1 FROM pg_database WHERE datname = $1', name)).toBe(true);
    } finally {
      await query(adminUrl, `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)}`);
      await query(adminUrl, `DROP ROLE IF EXISTS ${pg.escapeIdentifier(name)}`);
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('never puts the admin password in an error', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mvp-dbprov-'));
    const port = await closedPort();
    const provisioner = createPostgresServerProvisioner({
      adminUrl: `postgresql://postgres:hunter2-admin-pw@127.0.0.1:${port}/postgres`,
      passwords: createFilePasswordStore({ dir }),
    });
    const error = await provisioner.provision({ jobId: 'job_err', purpose: 'app' }).catch((e) => e);
    expect(error.code).toBe('TRANSIENT');
    expect(String(error.message)).not.toContain('hunter2-admin-pw');
    await rm(dir, { recursive: true, force: true });
  });
});

describe.runIf(binaries)('the embedded PostgreSQL provisioner', () => {
  let dir = '';
  let provisioner: ReturnType<typeof createEmbeddedPostgresProvisioner>;
  const registry = createSecretRegistry();
  let adminUrl = '';
  beforeAll(async () => {
    dir = await tempDir('mvp-embedded-');
    provisioner = createEmbeddedPostgresProvisioner({ dir, registerSecret: registry.add });
    adminUrl = (await provisioner.server.start()).adminUrl;
  }, 120_000);
  afterAll(async () => {
    await provisioner?.close();
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  databaseProvisionerContract(
    t,
    'embedded postgres',
    harnessFor(
      () => adminUrl,
      () => true,
      (registerSecret) => {
        // The suite's provisioner shares the running cluster; it registers secrets with the harness.
        const shared = createEmbeddedPostgresProvisioner({ dir, registerSecret });
        return {
          specificationVersion: 'v1',
          provision: (o) => shared.provision(o),
          describe: (o) => shared.describe(o),
          release: (o) => shared.release(o),
        };
      },
    ),
  );

  it('keeps a job’s data across a stop and start, on the same port', async () => {
    const jobId = `job_restart_${Date.now().toString(36)}`;
    const first = await provisioner.provision({ jobId, purpose: 'app' });
    await query(first.connectionUrl, "CREATE TABLE kept AS SELECT 'still here' AS v");
    const { port } = await provisioner.server.start();
    await provisioner.close();
    expect((await query(first.connectionUrl, 'SELECT 1')).ok).toBe(false);
    const again = await provisioner.provision({ jobId, purpose: 'app' });
    expect(new URL(again.connectionUrl).port).toBe(String(port));
    expect(await query(again.connectionUrl, 'SELECT v FROM kept')).toEqual({
      ok: true,
      rows: [{ v: 'still here' }],
    });
    // Its passwords are registered with the redactor it was given.
    expect(registry.redact(again.connectionUrl)).not.toContain(new URL(again.connectionUrl).password);
    expect(registry.redact(adminUrl)).not.toContain(new URL(adminUrl).password);
    await provisioner.release({ jobId, purpose: 'app' });
  }, 120_000);

  it('refuses a wrong admin password (SCRAM for every connection)', async () => {
    const wrong = new URL(adminUrl);
    wrong.password = 'wrong-password';
    expect((await query(wrong.toString(), 'SELECT 1')).ok).toBe(false);
    expect((await query(adminUrl, 'SELECT 1 AS one')).ok).toBe(true);
  });
});
