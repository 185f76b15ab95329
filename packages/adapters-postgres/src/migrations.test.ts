import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deriveAppModel } from '@mvp-pipeline/core';
import { sampleSpec } from '@mvp-pipeline/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runDbCommand } from './commands.js';
import { loadSpecs } from './load-specs.js';
import { applyMigrations, MIGRATIONS_DIR, readMigrations } from './migrations.js';
import { createPgSpecSource } from './spec-source.js';
import { rewriteUrl, startTestDatabase, type TestDatabase } from './testing/database.js';
import { startTcpProxy } from './testing/tcp-proxy.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));
const PASSWORD = 'Seed-Pa55word-never-shown';

let db: TestDatabase;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  // Migrations are the subject here: start from an empty database.
  db = await startTestDatabase({ migrate: false });
}, 180_000);

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await db?.close();
});

async function tables(): Promise<string[]> {
  const { rows } = await db.pool.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}

async function cli(...args: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runDbCommand(args, {
    databaseUrl: rewriteUrl(db.url, { password: PASSWORD }),
    stdout: (l) => stdout.push(l),
    stderr: (l) => stderr.push(l),
    cwd: EXAMPLES,
  });
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
}

describe('applyMigrations', () => {
  it('creates the schema once; a second run applies nothing', async () => {
    const first = await applyMigrations({ pool: db.pool });
    expect(first).toEqual({ applied: ['001_founderdash_schema.sql'], skipped: [] });
    expect(await tables()).toEqual(['mvp_specifications', 'products', 'schema_migrations', 'users']);
    const second = await applyMigrations({ pool: db.pool });
    expect(second).toEqual({ applied: [], skipped: ['001_founderdash_schema.sql'] });
    const { rows } = await db.pool.query('SELECT version, file FROM schema_migrations');
    expect(rows).toEqual([{ version: '1', file: '001_founderdash_schema.sql' }]);
  });

  it('applies only the new migrations, in numeric order', async () => {
    await applyMigrations({ pool: db.pool });
    const dir = await mkdtemp(join(tmpdir(), 'mvp-migrations-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    cleanups.push(() => db.pool.query("DELETE FROM schema_migrations WHERE version IN ('2', '10')"));
    cleanups.push(() => db.pool.query('DROP TABLE IF EXISTS extra_two, extra_ten'));
    const first = await readFile(join(MIGRATIONS_DIR, '001_founderdash_schema.sql'), 'utf8');
    await writeFile(join(dir, '001_founderdash_schema.sql'), first);
    await writeFile(
      join(dir, '010_extra_ten.sql'),
      'CREATE TABLE extra_ten (id int REFERENCES extra_two (id));',
    );
    await writeFile(join(dir, '002_extra_two.sql'), 'CREATE TABLE extra_two (id int PRIMARY KEY);');
    await writeFile(join(dir, 'README.md'), 'not a migration');
    expect((await readMigrations(dir)).map((m) => m.file)).toEqual([
      '001_founderdash_schema.sql',
      '002_extra_two.sql',
      '010_extra_ten.sql',
    ]);
    expect(await applyMigrations({ pool: db.pool, directory: dir })).toEqual({
      applied: ['002_extra_two.sql', '010_extra_ten.sql'],
      skipped: ['001_founderdash_schema.sql'],
    });
  });

  it('refuses a migration edited after it was applied, and a failing one leaves nothing behind', async () => {
    await applyMigrations({ pool: db.pool });
    const dir = await mkdtemp(join(tmpdir(), 'mvp-migrations-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, '001_founderdash_schema.sql'), '-- edited\nSELECT 1;');
    const edited = await applyMigrations({ pool: db.pool, directory: dir }).catch((e) => e);
    expect(edited.code).toBe('PERMANENT');
    expect(edited.message).toContain('Migration 001_founderdash_schema.sql changed after it was applied');

    const first = await readFile(join(MIGRATIONS_DIR, '001_founderdash_schema.sql'), 'utf8');
    await writeFile(join(dir, '001_founderdash_schema.sql'), first);
    await writeFile(
      join(dir, '002_half.sql'),
      'CREATE TABLE half_done (id int); SELECT * FROM no_such_table;',
    );
    const broken = await applyMigrations({ pool: db.pool, directory: dir }).catch((e) => e);
    expect(broken.code).toBe('PERMANENT');
    expect(broken.message).toMatch(/^Applying migration 002_half\.sql failed: .*no_such_table/);
    expect(await tables()).not.toContain('half_done');
    const { rows } = await db.pool.query("SELECT 1 FROM schema_migrations WHERE version = '2'");
    expect(rows).toEqual([]);
  });

  it('two concurrent runs apply each migration once', async () => {
    await db.pool.query('DROP TABLE IF EXISTS mvp_specifications, products, users, schema_migrations');
    const results = await Promise.all([
      applyMigrations({ pool: db.pool }),
      applyMigrations({ pool: db.pool }),
    ]);
    expect(results.flatMap((r) => r.applied)).toEqual(['001_founderdash_schema.sql']);
  });
});

describe('loadSpecs', () => {
  beforeEach(async () => {
    await applyMigrations({ pool: db.pool });
    await db.reset();
  });

  it("keeps specifications.app under customizations' app key and reads it back apart", async () => {
    const spec = JSON.parse(await readFile(join(EXAMPLES, 'tool-library.json'), 'utf8'));
    spec.specifications.customizations = { tone: 'friendly' };
    await loadSpecs({ pool: db.pool, specs: [spec] });
    const { rows } = await db.pool.query(
      'SELECT customizations FROM mvp_specifications WHERE product_id = $1',
      [spec.product.id],
    );
    expect(rows[0].customizations).toEqual({ tone: 'friendly', app: spec.specifications.app });
    const source = createPgSpecSource({ connectionString: db.url });
    cleanups.push(() => source.close());
    const read = (await source.getSpec({ userId: spec.user.id, productId: spec.product.id })).spec;
    expect(read.specifications?.customizations).toEqual({ tone: 'friendly' });
    expect(read.specifications?.app).toEqual(spec.specifications.app);
    expect(deriveAppModel(read).model.entities.map((e) => e.name)).toEqual(['tool', 'borrow_request']);
    delete spec.specifications.customizations;
    await loadSpecs({ pool: db.pool, specs: [spec] });
    const again = (await source.getSpec({ userId: spec.user.id, productId: spec.product.id })).spec;
    expect(again.specifications?.customizations).toBeUndefined();
    expect(again.specifications?.app).toEqual(spec.specifications.app);
  });

  it('upserts: loading a changed spec again updates it, and dropping specifications removes them', async () => {
    const spec = sampleSpec({ userId: 'u1', productId: 'p1' });
    await loadSpecs({ pool: db.pool, specs: [spec] });
    await loadSpecs({
      pool: db.pool,
      specs: [{ ...spec, product: { ...spec.product, name: 'EventHub 2' } }],
    });
    const source = createPgSpecSource({ connectionString: db.url });
    cleanups.push(() => source.close());
    expect((await source.getSpec({ userId: 'u1', productId: 'p1' })).spec.product.name).toBe('EventHub 2');
    const { specifications: _, ...bare } = spec;
    await loadSpecs({ pool: db.pool, specs: [bare] });
    expect((await source.getSpec({ userId: 'u1', productId: 'p1' })).spec.specifications).toBeUndefined();
  });

  it('validates every spec before writing any', async () => {
    const good = sampleSpec({ userId: 'u1', productId: 'p1' });
    const bad = { ...sampleSpec({ userId: 'u2', productId: 'p2' }), user: { id: 'u2', email: 'nope' } };
    const error = await loadSpecs({ pool: db.pool, specs: [good, bad] }).catch((e) => e);
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toBe('Invalid spec 2 (product p2): user.email: must be an email address');
    expect((await db.pool.query('SELECT id FROM products')).rows).toEqual([]);
  });

  it('never moves a product to another user', async () => {
    await loadSpecs({ pool: db.pool, specs: [sampleSpec({ userId: 'alice', productId: 'shared' })] });
    const error = await loadSpecs({
      pool: db.pool,
      specs: [sampleSpec({ userId: 'mallory', productId: 'shared', name: 'Hijacked' })],
    }).catch((e) => e);
    expect(error.code).toBe('PERMANENT');
    expect(error.message).toContain('Product shared belongs to another user');
    const { rows } = await db.pool.query('SELECT user_id, name FROM products');
    expect(rows).toEqual([{ user_id: 'alice', name: 'EventHub' }]);
    expect((await db.pool.query("SELECT id FROM users WHERE id = 'mallory'")).rows).toEqual([]);
  });
});

describe('the mvp-db command', () => {
  it('migrates (idempotently) and seeds the example specs, which the SpecSource then reads', async () => {
    await db.pool.query('DROP TABLE IF EXISTS mvp_specifications, products, users, schema_migrations');
    const migrated = await cli('migrate');
    expect(migrated).toEqual({ code: 0, stdout: 'Applied 001_founderdash_schema.sql', stderr: '' });
    expect((await cli('migrate')).stdout).toBe('Schema up to date (1 migrations applied before)');

    const seeded = await cli('seed', 'eventhub.json', join(EXAMPLES, 'greenleaf.json'), 'minimal.json');
    expect(seeded.stderr).toBe('');
    expect(seeded.code).toBe(0);
    expect(seeded.stdout).toContain(
      'Loaded EventHub (user user_12345, product product_67890) from eventhub.json',
    );
    expect(seeded.stdout.split('\n')).toHaveLength(3);

    const example = JSON.parse(await readFile(join(EXAMPLES, 'eventhub.json'), 'utf8'));
    const source = createPgSpecSource({ connectionString: db.url });
    cleanups.push(() => source.close());
    const { spec } = await source.getSpec({ userId: example.user.id, productId: example.product.id });
    expect(spec).toEqual(example);
  });

  it('names the missing variable, the bad file, and the usage', async () => {
    const lines: string[] = [];
    const missing = await runDbCommand(['migrate'], {
      databaseUrl: undefined,
      stdout: () => {},
      stderr: (l) => lines.push(l),
    });
    expect(missing).toBe(2);
    expect(lines.join('\n')).toMatch(/^FOUNDERDASH_DB_URL: is not set/);

    const nofile = await cli('seed', 'no-such-spec.json');
    expect(nofile.code).toBe(1);
    expect(nofile.stderr).toBe('Invalid spec file no-such-spec.json: no such file');

    expect((await cli('seed')).code).toBe(2);
    const unknown = await cli('drop-everything');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown command: drop-everything');
    expect(unknown.stderr).toContain('seed <spec.json>');
  });

  it('prints no secret when the database is unreachable', async () => {
    const proxy = await startTcpProxy({ host: db.host, port: db.port });
    await proxy.close();
    const url = rewriteUrl(db.url, { host: '127.0.0.1', port: proxy.port, password: PASSWORD });
    const stderr: string[] = [];
    const code = await runDbCommand(['migrate'], {
      databaseUrl: url,
      stdout: (l) => stderr.push(l),
      stderr: (l) => stderr.push(l),
    });
    expect(code).toBe(1);
    const output = stderr.join('\n');
    expect(output).toMatch(/^Migrating the FounderDash database failed: .*ECONNREFUSED/);
    expect(output).not.toContain(PASSWORD);
    expect(output).not.toContain(url);
  });
});
