import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rewriteUrl, startTestDatabase, type TestDatabase } from '@mvp-pipeline/adapters-postgres/testing';
import type { Job } from '@mvp-pipeline/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './testing/harness.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const PASSWORD = 'pg-s3cret-pass';
let db: TestDatabase;
let work: string;
let env: Record<string, string>;

beforeAll(async () => {
  db = await startTestDatabase({ migrate: false });
  work = await mkdtemp(join(tmpdir(), 'mvp-cli-pg-'));
  // The server trusts loopback and ignores the password: it is here to prove it never leaks.
  env = { FOUNDERDASH_DB_URL: rewriteUrl(db.url, { password: PASSWORD }), MVP_DATA_DIR: join(work, '.mvp') };
}, 120_000);
afterAll(async () => {
  await db?.close();
  await rm(work, { recursive: true, force: true });
});

const mvp = (args: string[], extra: Record<string, string> = {}) =>
  runCli(args, { env: { ...env, ...extra }, cwd: work });

describe('mvp with the spec in PostgreSQL', () => {
  it('migrates, seeds, and runs a job whose spec comes from the database', async () => {
    const migrate = await mvp(['db', 'migrate']);
    expect(migrate.code, migrate.stderr).toBe(0);
    const seed = await mvp([
      'db',
      'seed',
      join(root, 'examples/eventhub.json'),
      join(root, 'examples/minimal.json'),
    ]);
    expect(seed.code, seed.stderr).toBe(0);

    const run = await mvp(['run', '--user', 'user_12345', '--product', 'product_67890', '--json'], {
      MVP_SPEC_SOURCE: 'postgres',
    });
    expect(run.code, run.stderr).toBe(0);
    const job = JSON.parse(run.stdout) as Job;
    expect(job).toMatchObject({ status: 'COMPLETED', businessName: 'EventHub', userId: 'user_12345' });
    expect(await readFile(fileURLToPath(job.urls.production!), 'utf8')).toContain('Door check-in on mobile');

    // Another user's product is not found, and no job is made for it.
    const intruder = await mvp(['run', '--user', 'u1', '--product', 'product_67890'], {
      MVP_SPEC_SOURCE: 'postgres',
    });
    expect(intruder.code).not.toBe(0);
    expect(intruder.stderr).toMatch(/No product product_67890 for user u1|not found/i);

    for (const out of [migrate, seed, run, intruder]) {
      expect(out.stdout + out.stderr).not.toContain(PASSWORD);
    }
    const record = await readFile(join(work, '.mvp', 'jobs', `${job.jobId}.json`), 'utf8');
    expect(record).not.toContain(PASSWORD);
  });
});
