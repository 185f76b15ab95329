import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createSecretRegistry } from '@mvp-pipeline/core';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findPostgresBinaries } from './embedded-postgres.js';
import { createLocalDatabaseProvisioner, type LocalDatabase } from './local-database.js';

describe('createLocalDatabaseProvisioner', () => {
  let dir = '';
  let opened: LocalDatabase[] = [];
  const open = (settings: Omit<Parameters<typeof createLocalDatabaseProvisioner>[0], 'dir'>) => {
    const local = createLocalDatabaseProvisioner({ dir, ...settings });
    opened.push(local);
    return local;
  };
  /** A folder holding (empty) initdb and pg_ctl: what findPostgresBinaries looks for. */
  const fakeBinaries = async () => {
    const bin = await mkdtemp(path.join(dir, 'bin-'));
    for (const program of ['initdb', 'pg_ctl']) {
      await writeFile(path.join(bin, program), '#!/bin/sh\nexit 1\n');
      await chmod(path.join(bin, program), 0o755);
    }
    return bin;
  };
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mvp-localdb-'));
    opened = [];
  });
  afterEach(async () => {
    for (const local of opened) await local.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('auto: the server when an admin URL is set, else embedded when initdb is there, else pglite', async () => {
    const adminUrl = 'postgresql://postgres:pw-auto@127.0.0.1:1/postgres';
    expect(open({ mode: 'auto', adminUrl }).kind).toBe('server');
    expect(open({ mode: 'auto', adminUrl: undefined, binDir: await fakeBinaries() }).kind).toBe('embedded');
    expect(open({ mode: 'auto', binDir: path.join(dir, 'no-bin') }).kind).toBe('pglite');
    // This machine's own answer, whatever it has.
    expect(open({ mode: 'auto' }).kind).toBe(findPostgresBinaries() ? 'embedded' : 'pglite');
  });

  it('server: administers the admin URL, a secret kept out of its errors', async () => {
    const registry = createSecretRegistry();
    const local = open({
      mode: 'server',
      adminUrl: 'postgresql://postgres:pw-server-hidden@127.0.0.1:1/postgres',
      registerSecret: registry.add,
    });
    expect(local.kind).toBe('server');
    const error = await local.provisioner.provision({ jobId: 'job_srv', purpose: 'app' }).catch((e) => e);
    expect(error.code).toBe('TRANSIENT');
    expect(String(error.message)).not.toContain('pw-server-hidden');
    expect(registry.redact('pw-server-hidden')).not.toContain('pw-server-hidden');
    expect(() => open({ mode: 'server' })).toThrow(/admin URL/);
  });

  it.runIf(process.env['TEST_DATABASE_URL'])(
    'server: provisions on the configured server',
    async () => {
      const local = open({ mode: 'server', adminUrl: process.env['TEST_DATABASE_URL'] });
      const jobId = `job_local_${Date.now().toString(36)}`;
      const db = await local.provisioner.provision({ jobId, purpose: 'app' });
      expect(db.resource.provider).toBe('postgres-server');
      await local.provisioner.release({ jobId, purpose: 'app' });
    },
    60_000,
  );

  it('embedded: refuses, naming the programs, when the machine has no initdb and pg_ctl', async () => {
    let error: unknown;
    try {
      open({ mode: 'embedded', binDir: path.join(dir, 'no-bin') });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'PERMANENT' });
    expect(String((error as Error).message)).toMatch(/initdb and pg_ctl/);
    // Not started until the first provision: choosing it runs nothing.
    expect(open({ mode: 'embedded', binDir: await fakeBinaries() }).kind).toBe('embedded');
  });

  it('pglite: serves under <dir>/pglite, registers its secrets, and close stops it', async () => {
    const registry = createSecretRegistry();
    const local = open({ mode: 'pglite', registerSecret: registry.add });
    expect(local.kind).toBe('pglite');
    const db = await local.provisioner.provision({ jobId: 'job_local', purpose: 'app' });
    expect(db.resource.provider).toBe('postgres-pglite');
    expect(db.resource.secretRef.startsWith(path.join(dir, 'pglite', 'passwords'))).toBe(true);
    expect(registry.redact(db.connectionUrl)).not.toContain(new URL(db.connectionUrl).password);
    const client = new pg.Client({ connectionString: db.connectionUrl });
    await client.connect();
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await client.end();
    await local.close();
    const after = new pg.Client({ connectionString: db.connectionUrl, connectionTimeoutMillis: 2_000 });
    after.on('error', () => undefined);
    await expect(after.connect()).rejects.toThrow();
  }, 60_000);

  it('refuses a mode it does not know', () => {
    expect(() => open({ mode: 'sqlite' as 'auto' })).toThrow(/mode/);
  });
});
