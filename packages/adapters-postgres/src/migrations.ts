import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PermanentError, type Redactor } from '@mvp-pipeline/core';
import type pg from 'pg';
import { connectionSecrets, databaseRedactor, toDatabaseError } from './errors.js';
import { withClient } from './pool.js';

/**
 * The package's own migrations folder: next to src/ and dist/, or beside the running file in
 * the bundled runner (its build copies the folder there).
 */
export const MIGRATIONS_DIR =
  [new URL('./migrations/', import.meta.url), new URL('../migrations/', import.meta.url)]
    .map((url) => fileURLToPath(url))
    .find((dir) => existsSync(dir)) ?? fileURLToPath(new URL('../migrations/', import.meta.url));

/** Migration files are `<number>_<name>.sql`, applied in numeric order. */
const MIGRATION_FILE = /^(\d+)_([a-z0-9_]+)\.sql$/;

/** Any constant works; this one keeps two concurrent `migrate` runs from interleaving. */
const MIGRATION_LOCK = 4_242_017;

export interface Migration {
  /** The number, without leading zeros: "1" for 001_founderdash_schema.sql. */
  version: string;
  file: string;
  sql: string;
  checksum: string;
}

export interface ApplyMigrationsOptions {
  pool: pg.Pool;
  /** Where the .sql files are. Default: this package's `migrations/`. */
  directory?: string;
  signal?: AbortSignal;
  /** The application's redactor; the pool's own secrets are added to it. */
  redact?: Redactor;
}

export interface ApplyMigrationsResult {
  /** Files applied by this call, in order. */
  applied: string[];
  /** Files found applied already. */
  skipped: string[];
}

/** The migrations in `directory`, in the order they apply. */
export async function readMigrations(directory: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(directory)).filter((f) => MIGRATION_FILE.test(f));
  const migrations = await Promise.all(
    files.map(async (file) => {
      const sql = await readFile(join(directory, file), 'utf8');
      const version = String(Number(MIGRATION_FILE.exec(file)![1]));
      return { version, file, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
  migrations.sort((a, b) => Number(a.version) - Number(b.version));
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]!.version === migrations[i - 1]!.version) {
      throw new PermanentError(
        `Migrations ${migrations[i - 1]!.file} and ${migrations[i]!.file} share the number ${migrations[i]!.version}`,
      );
    }
  }
  return migrations;
}

/**
 * Applies the migrations not applied yet, in one transaction under an advisory lock, and
 * records each in `schema_migrations` (in the first schema of the search_path). Idempotent:
 * a second run applies nothing. A recorded migration whose file has changed since is a
 * PermanentError (write a new migration instead of editing an applied one).
 */
export async function applyMigrations(options: ApplyMigrationsOptions): Promise<ApplyMigrationsResult> {
  const migrations = await readMigrations(options.directory);
  const redact = databaseRedactor(connectionSecrets(options.pool.options.connectionString), options.redact);
  let current = 'Migrating the FounderDash database';
  try {
    return await withClient(options.pool, options.signal, async (client) => {
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
        await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
          version    text PRIMARY KEY,
          file       text NOT NULL,
          checksum   text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`);
        const { rows } = await client.query<{ version: string; file: string; checksum: string }>(
          'SELECT version, file, checksum FROM schema_migrations',
        );
        const done = new Map(rows.map((r) => [r.version, r]));
        const result: ApplyMigrationsResult = { applied: [], skipped: [] };
        for (const migration of migrations) {
          const recorded = done.get(migration.version);
          if (recorded) {
            if (recorded.checksum !== migration.checksum) {
              throw new PermanentError(
                `Migration ${migration.file} changed after it was applied (as ${recorded.file}); add a new migration instead`,
              );
            }
            result.skipped.push(migration.file);
            continue;
          }
          current = `Applying migration ${migration.file}`;
          await client.query(migration.sql);
          await client.query('INSERT INTO schema_migrations (version, file, checksum) VALUES ($1, $2, $3)', [
            migration.version,
            migration.file,
            migration.checksum,
          ]);
          result.applied.push(migration.file);
        }
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  } catch (error) {
    throw toDatabaseError(error, current, redact);
  }
}
