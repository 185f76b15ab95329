// Applies migrations/*.sql in name order, each once, each in its own transaction.
// Applied names are kept in schema_migrations; an advisory lock keeps two runners apart.
// Usage: DATABASE_URL=postgres://… node scripts/migrate.mjs
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { databaseConfig } from '../lib/database-config.mjs';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'migrations');
const LOCK = 727_001; // any constant shared by every runner of this app

export async function migrate(connectionString, log = console.log) {
  const client = new pg.Client(databaseConfig(connectionString));
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const applied = new Map(
      (await client.query('SELECT name, checksum FROM schema_migrations')).rows.map((r) => [
        r.name,
        r.checksum,
      ]),
    );
    const files = (await readdir(dir)).filter((f) => /^\d+_[a-z0-9_]+\.sql$/.test(f)).sort();
    let count = 0;
    for (const file of files) {
      const sql = await readFile(join(dir, file), 'utf8');
      const checksum = createHash('sha256').update(sql).digest('hex').slice(0, 16);
      if (applied.has(file)) {
        if (applied.get(file) !== checksum) log(`migrate: ${file} changed after it was applied (not re-run)`);
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [
          file,
          checksum,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`migrate: ${file} failed: ${error.message}`);
      }
      log(`migrate: applied ${file}`);
      count += 1;
    }
    log(`migrate: ${count} applied, ${files.length - count} already up to date`);
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK]).catch(() => undefined);
    await client.end();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!process.env.DATABASE_URL) {
    console.error('migrate: DATABASE_URL is not set');
    process.exit(2);
  }
  migrate(process.env.DATABASE_URL).catch((error) => {
    console.error(error.message);
    process.exit(1);
  });
}
