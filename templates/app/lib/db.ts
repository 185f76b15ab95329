// The database layer: one pg pool per process, parameterised queries only, and transactions.
import pg from 'pg';
import { databaseConfig } from './database-config.mjs';

declare global {
  // One pool across hot reloads in development.
  var __appPool: pg.Pool | undefined;
}

function createPool(): pg.Pool {
  const pool = new pg.Pool({ ...databaseConfig(), max: Number(process.env.DATABASE_POOL_MAX ?? 5) });
  pool.on('error', (error) => console.error(`database pool: ${error.message}`));
  return pool;
}

export function pool(): pg.Pool {
  globalThis.__appPool ??= createPool();
  return globalThis.__appPool;
}

export type Db = Pick<pg.PoolClient, 'query'>;

/** Runs `text` with `values` as parameters ($1, $2, …): values are never spliced into SQL. */
export async function query<T extends pg.QueryResultRow>(
  text: string,
  values: readonly unknown[] = [],
  db: Db = pool(),
): Promise<T[]> {
  const result = await db.query<T>(text, values as unknown[]);
  return result.rows;
}

/** Runs `work` in one transaction: committed when it returns, rolled back when it throws. */
export async function transaction<T>(work: (db: Db) => Promise<T>): Promise<T> {
  const client = await pool().connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** True for a unique-constraint violation (SQLSTATE 23505). */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === '23505';
}

/** True for a foreign-key violation (SQLSTATE 23503): the referenced row does not exist. */
export function isForeignKeyViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === '23503';
}
