import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createFilePasswordStore } from '@mvp-pipeline/adapters-local';
import { databaseName } from '@mvp-pipeline/core';
import { type DatabaseProvisionerHarness, databaseProvisionerContract } from '@mvp-pipeline/core/testing';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createNeonProvisioner } from './neon-provisioner.js';
import { type NeonStandIn, startNeonStandIn } from './testing/stand-in.js';

const t = { describe, it, expect, beforeEach, afterEach };
const adminUrl = process.env['TEST_DATABASE_URL'];
if (!adminUrl)
  console.warn(
    '\n!!! Neon provisioner tests SKIPPED: they need a PostgreSQL server, set TEST_DATABASE_URL.\n',
  );

const API_KEY = 'neon-test-key-0123456789abcdef';

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

const exists = async (sql: string, name: string) => {
  const r = await query(adminUrl ?? '', sql.replace('$1', pg.escapeLiteral(name)));
  return r.ok && r.rows.length === 1;
};

/** A provisioner on the stand-in that keeps what it registers with the redactor; its waits are short. */
function setup(standIn: () => NeonStandIn, dir: () => string, overrides: { apiKey?: string } = {}) {
  const registered: string[] = [];
  const provisioner = createNeonProvisioner({
    apiKey: overrides.apiKey ?? API_KEY,
    apiUrl: standIn().apiUrl,
    passwords: createFilePasswordStore({ dir: dir() }),
    registerSecret: (v) => registered.push(v),
    sleep: (ms, signal) =>
      new Promise((r, j) => (signal?.aborted ? j(signal.reason) : setTimeout(r, Math.min(ms, 5)))),
  });
  return { provisioner, registered };
}

describe.runIf(adminUrl)('the Neon provisioner against the Neon stand-in', () => {
  let standIn: NeonStandIn;
  let dir = '';
  beforeAll(async () => {
    standIn = await startNeonStandIn({ adminUrl: adminUrl ?? '', apiKey: API_KEY });
    dir = await mkdtemp(path.join(os.tmpdir(), 'mvp-neon-'));
  });
  afterAll(async () => {
    await standIn?.close();
    await rm(dir, { recursive: true, force: true });
  });

  databaseProvisionerContract(t, 'neon', async (): Promise<DatabaseProvisionerHarness> => {
    const { provisioner, registered } = setup(
      () => standIn,
      () => dir,
    );
    const port = await closedPort();
    return {
      provisioner,
      query,
      databaseExists: (name) => exists('SELECT 1 FROM pg_database WHERE datname = $1', name),
      roleExists: (name) => exists('SELECT 1 FROM pg_roles WHERE rolname = $1', name),
      registeredSecrets: () => registered,
      // The test machine's server trusts local connections.
      checksPasswords: !(
        await query(
          Object.assign(new URL(adminUrl ?? ''), { password: 'surely-not-it' }).toString(),
          'SELECT 1',
        )
      ).ok,
      unreachable: () =>
        createNeonProvisioner({
          apiKey: API_KEY,
          apiUrl: `http://127.0.0.1:${port}/api/v2`,
          passwords: createFilePasswordStore({ dir }),
        }),
    };
  });

  it('finds the project again on a retry, from a fresh provisioner, and makes no second one', async () => {
    const jobId = `job_neon_retry_${Date.now().toString(36)}`;
    const first = setup(
      () => standIn,
      () => dir,
    ).provisioner;
    const again = setup(
      () => standIn,
      () => dir,
    ).provisioner;
    try {
      const creates = () =>
        standIn.requests.filter((r) => r.method === 'POST' && r.path === '/api/v2/projects');
      const a = await first.provision({ jobId, purpose: 'app' });
      const created = creates().length;
      const b = await again.provision({ jobId, purpose: 'app' });
      expect(b.created).toBe(false);
      expect(b.resource).toEqual(a.resource);
      expect(creates()).toHaveLength(created);
      expect(a.resource.ids?.['projectId']).toMatch(/./);
      expect(a.resource.ids?.['branchId']).toMatch(/^br-/);
      const name = databaseName(jobId, 'app');
      expect(standIn.projects().filter((p) => p.name === name)).toHaveLength(1);
    } finally {
      await first.release({ jobId, purpose: 'app' });
    }
  }, 60_000);

  it('waits out a 423 Locked while the project runs an operation, then goes on', async () => {
    const jobId = `job_neon_lock_${Date.now().toString(36)}`;
    const { provisioner } = setup(
      () => standIn,
      () => dir,
    );
    try {
      await provisioner.provision({ jobId, purpose: 'app' });
      const before = standIn.requests.length;
      const check = await provisioner.provision({ jobId, purpose: 'check' });
      const calls = standIn.requests.slice(before);
      const locked = calls.findIndex((r) => r.status === 423);
      expect(locked).toBeGreaterThanOrEqual(0);
      // After the 423: the operations were read, then the same call made again and answered.
      const after = calls.slice(locked + 1);
      expect(after.some((r) => r.path.includes('/operations'))).toBe(true);
      expect(
        after.some(
          (r) => r.method === calls[locked]?.method && r.path === calls[locked]?.path && r.status < 300,
        ),
      ).toBe(true);
      expect((await query(check.connectionUrl, 'SELECT 1 AS one')).ok).toBe(true);
    } finally {
      await provisioner.release({ jobId, purpose: 'check' });
      await provisioner.release({ jobId, purpose: 'app' });
    }
  }, 60_000);

  it('keeps out the role of another MVP, and the project owner is not the app role', async () => {
    const [jobA, jobB] = [`job_neon_a_${Date.now().toString(36)}`, `job_neon_b_${Date.now().toString(36)}`];
    const { provisioner } = setup(
      () => standIn,
      () => dir,
    );
    try {
      const a = await provisioner.provision({ jobId: jobA, purpose: 'app' });
      const b = await provisioner.provision({ jobId: jobB, purpose: 'app' });
      const intrude = new URL(a.connectionUrl);
      intrude.pathname = `/${b.resource.database}`;
      const refused = await query(intrude.toString(), 'SELECT 1');
      expect(refused.ok).toBe(false);
      expect(refused.ok ? '' : refused.error).toMatch(/permission denied/);
      const role = await query(
        adminUrl ?? '',
        `SELECT rolcreatedb, rolcreaterole, rolsuper FROM pg_roles WHERE rolname = ${pg.escapeLiteral(a.resource.role)}`,
      );
      expect(role).toEqual({
        ok: true,
        rows: [{ rolcreatedb: false, rolcreaterole: false, rolsuper: false }],
      });
    } finally {
      await provisioner.release({ jobId: jobA, purpose: 'app' });
      await provisioner.release({ jobId: jobB, purpose: 'app' });
    }
  }, 60_000);

  it('keeps every password out of the resource and out of every request line', async () => {
    const jobId = `job_neon_secret_${Date.now().toString(36)}`;
    const { provisioner, registered } = setup(
      () => standIn,
      () => dir,
    );
    try {
      const db = await provisioner.provision({ jobId, purpose: 'app' });
      const password = decodeURIComponent(new URL(db.connectionUrl).password);
      const described = JSON.stringify(db.resource);
      const lines = standIn.requests.map((r) => `${r.method} ${r.path}`).join('\n');
      // The owner's password (from Neon) is registered too.
      const passwords = registered.filter((s) => !s.includes('://') && s !== API_KEY);
      expect(passwords).toContain(password);
      expect(passwords.length).toBeGreaterThan(1);
      for (const secret of [...passwords, API_KEY]) {
        expect(described).not.toContain(secret);
        expect(lines).not.toContain(secret);
      }
      expect(registered).toContain(API_KEY);
    } finally {
      await provisioner.release({ jobId, purpose: 'app' });
    }
  }, 60_000);

  it('answers a wrong API key with a PermanentError that names NEON_API_KEY, not the key', async () => {
    const wrongKey = 'wrong-neon-key-zyxwvu987654';
    const { provisioner } = setup(
      () => standIn,
      () => dir,
      { apiKey: wrongKey },
    );
    const error = await provisioner.provision({ jobId: 'job_neon_401', purpose: 'app' }).catch((e) => e);
    expect(error.code).toBe('PERMANENT');
    expect(error.message).toContain('NEON_API_KEY');
    expect(error.message).not.toContain(wrongKey);
    expect(standIn.requests.at(-1)?.status).toBe(401);
  });
});
