import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createSecretRegistry, databaseName } from '@mvp-pipeline/core';
import { type DatabaseProvisionerHarness, databaseProvisionerContract } from '@mvp-pipeline/core/testing';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPgliteProvisioner, type PgliteProvisioner } from './pglite.js';

const t = { describe, it, expect, beforeEach, afterEach };

async function query(url: string, sql: string) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const result = await client.query(sql);
    return {
      ok: true as const,
      rows: (Array.isArray(result) ? [] : result.rows) as Record<string, unknown>[],
    };
  } catch (error) {
    return { ok: false as const, error: String((error as Error).message) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A lock file naming a live process that is not us: the database is served elsewhere. */
async function heldElsewhere(dir: string, name: string): Promise<void> {
  await mkdir(path.join(dir, name), { recursive: true });
  await writeFile(path.join(dir, name, 'lock'), `${process.ppid}\n`);
}

/*
 * One folder for the file: its template data dir is made once (a child process running
 * initdb, the slow part), and the tests' job ids never meet.
 */
let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mvp-pglite-test-'));
  const warm = createPgliteProvisioner({ dir });
  await warm.provision({ jobId: 'job_warmup', purpose: 'check' });
  await warm.release({ jobId: 'job_warmup', purpose: 'check' });
  await warm.close();
}, 180_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

databaseProvisionerContract(t, 'pglite', async () => {
  const registered: string[] = [];
  const provisioner = createPgliteProvisioner({ dir, registerSecret: (v) => registered.push(v) });
  const busyDir = await mkdtemp(path.join(os.tmpdir(), 'mvp-pglite-busy-'));
  const busy = createPgliteProvisioner({ dir: busyDir });
  // The role lives in the database's own data dir: both go with the folder.
  const held = (name: string) => existsSync(path.join(dir, name, 'pgdata'));
  return {
    provisioner,
    query,
    databaseExists: async (name) => held(name),
    roleExists: async (name) => held(name),
    registeredSecrets: () => registered,
    checksPasswords: true,
    confinesRoles: false,
    unreachable: () => ({
      specificationVersion: 'v1',
      provision: async (o) => {
        await heldElsewhere(busyDir, databaseName(o.jobId, o.purpose));
        return busy.provision(o);
      },
      describe: (o) => busy.describe(o),
      release: (o) => busy.release(o),
    }),
    dispose: async () => {
      await provisioner.close();
      await busy.close();
      await rm(busyDir, { recursive: true, force: true });
    },
  } satisfies DatabaseProvisionerHarness;
});

describe('the PGlite provisioner', () => {
  let provisioners: PgliteProvisioner[] = [];
  const make = () => {
    const registry = createSecretRegistry();
    const p = createPgliteProvisioner({ dir, registerSecret: registry.add, maxConnections: 5 });
    provisioners.push(p);
    return Object.assign(p, { registry });
  };
  beforeEach(() => {
    provisioners = [];
  });
  afterEach(async () => {
    for (const p of provisioners) await p.close();
  });

  it('keeps an app database across a restart, on the same port', async () => {
    const first = make();
    const db = await first.provision({ jobId: 'job_restart', purpose: 'app' });
    await query(db.connectionUrl, "CREATE TABLE kept AS SELECT 'still here' AS v");
    await first.close();
    expect((await query(db.connectionUrl, 'SELECT 1')).ok).toBe(false);
    // A new process would hold a new provisioner: the data dir, port and password are found again.
    const second = make();
    expect((await second.describe({ jobId: 'job_restart', purpose: 'app' })).resource).toEqual(db.resource);
    const again = await second.provision({ jobId: 'job_restart', purpose: 'app' });
    expect(again.created).toBe(false);
    expect(again.connectionUrl).toBe(db.connectionUrl);
    expect(await query(again.connectionUrl, 'SELECT v FROM kept')).toEqual({
      ok: true,
      rows: [{ v: 'still here' }],
    });
    expect(second.registry.redact(again.connectionUrl)).not.toContain(new URL(again.connectionUrl).password);
  }, 60_000);

  it('takes over a database whose lock names a process that has ended', async () => {
    const p = make();
    const name = databaseName('job_stale', 'app');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    await mkdir(path.join(dir, name), { recursive: true });
    await writeFile(path.join(dir, name, 'lock'), `${dead}\n`);
    const db = await p.provision({ jobId: 'job_stale', purpose: 'app' });
    expect((await query(db.connectionUrl, 'SELECT 1 AS one')).ok).toBe(true);
    // A lock left empty (a crash between making and writing it) is taken over too, after a wait.
    const empty = databaseName('job_stale', 'check');
    await mkdir(path.join(dir, empty), { recursive: true });
    await writeFile(path.join(dir, empty, 'lock'), '');
    const check = await p.provision({ jobId: 'job_stale', purpose: 'check' });
    expect((await query(check.connectionUrl, 'SELECT 1 AS one')).ok).toBe(true);
  }, 60_000);

  it('refuses a database held by another live process with a TransientError, leaving it alone', async () => {
    const p = make();
    const name = databaseName('job_busy', 'app');
    await heldElsewhere(dir, name);
    await expect(p.provision({ jobId: 'job_busy', purpose: 'app' })).rejects.toMatchObject({
      code: 'TRANSIENT',
    });
    await expect(p.release({ jobId: 'job_busy', purpose: 'app' })).rejects.toMatchObject({
      code: 'TRANSIENT',
    });
    expect(existsSync(path.join(dir, name, 'lock'))).toBe(true);
  }, 60_000);

  it('serves several connections at once: an app pool, transactions and a migration run', async () => {
    const p = make();
    const db = await p.provision({ jobId: 'job_many', purpose: 'app' });
    const migration = new pg.Client({ connectionString: db.connectionUrl });
    await migration.connect();
    await migration.query('BEGIN');
    await migration.query('CREATE TABLE item (id serial PRIMARY KEY, n int NOT NULL)');
    const pool = new pg.Pool({ connectionString: db.connectionUrl, max: 3 });
    try {
      // The pool's queries wait for the migration's transaction, then see its table.
      const waiting = Promise.all(
        [1, 2, 3, 4, 5, 6, 7, 8].map((n) => pool.query('INSERT INTO item (n) VALUES ($1)', [n])),
      );
      await migration.query('COMMIT');
      await waiting;
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('INSERT INTO item (n) VALUES (100)');
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
      // A client that leaves inside a transaction: its work is rolled back, the others go on.
      const leaving = new pg.Client({ connectionString: db.connectionUrl });
      leaving.on('error', () => undefined);
      await leaving.connect();
      await leaving.query('BEGIN');
      await leaving.query('INSERT INTO item (n) VALUES (1000)');
      (leaving as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
      const { rows } = await pool.query('SELECT count(*)::int AS c, sum(n)::int AS s FROM item');
      expect(rows).toEqual([{ c: 8, s: 36 }]);
      // The session is the database's own role (parity with a server), not the superuser.
      const who = await pool.query('SELECT current_user AS u, current_database() AS d');
      expect(who.rows).toEqual([{ u: db.resource.role, d: db.resource.database }]);
      // Small shared buffers: memory per running database stays around 50 MB.
      expect((await pool.query('SHOW shared_buffers')).rows).toEqual([{ shared_buffers: '16MB' }]);
    } finally {
      await pool.end();
      await migration.end();
    }
  }, 60_000);

  it('checks user, database and password, and refuses connections beyond the limit', async () => {
    const p = make();
    const db = await p.provision({ jobId: 'job_door', purpose: 'app' });
    const other = new URL(db.connectionUrl);
    other.username = 'postgres';
    expect((await query(other.toString(), 'SELECT 1')).error).toMatch(/password authentication failed/);
    const noPassword = new URL(db.connectionUrl);
    noPassword.password = '';
    expect((await query(noPassword.toString(), 'SELECT 1')).ok).toBe(false);
    const otherDb = new URL(db.connectionUrl);
    otherDb.pathname = '/postgres';
    expect((await query(otherDb.toString(), 'SELECT 1')).error).toMatch(/does not exist/);
    const held = await Promise.all(
      [1, 2, 3, 4, 5].map(async () => {
        const c = new pg.Client({ connectionString: db.connectionUrl });
        await c.connect();
        return c;
      }),
    );
    try {
      expect((await query(db.connectionUrl, 'SELECT 1')).error).toMatch(/too many clients/);
    } finally {
      await Promise.all(held.map((c) => c.end()));
    }
    // Slots come back when clients leave.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await query(db.connectionUrl, 'SELECT 1 AS one')).ok).toBe(true);
  }, 60_000);

  it('ends open connections on release, one inside a transaction too', async () => {
    const p = make();
    const db = await p.provision({ jobId: 'job_open', purpose: 'app' });
    const client = new pg.Client({ connectionString: db.connectionUrl });
    const ended = new Promise((resolve) => client.once('error', resolve));
    await client.connect();
    await client.query('BEGIN');
    await client.query('CREATE TABLE half (x int)');
    expect(await p.release({ jobId: 'job_open', purpose: 'app' })).toEqual({ removed: true });
    expect(String(await ended)).toMatch(/terminated|ECONNRESET|closed/i);
    expect(existsSync(path.join(dir, db.resource.database))).toBe(false);
  }, 60_000);

  it('keeps the password in a 0600 file that the resource points at', async () => {
    const p = make();
    const db = await p.provision({ jobId: 'job_file', purpose: 'check' });
    expect(db.resource.provider).toBe('postgres-pglite');
    expect((await stat(db.resource.secretRef)).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(dir, db.resource.database))).mode & 0o777).toBe(0o700);
  }, 60_000);
});
