import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { applyMigrations } from '../migrations.js';

/** A PostgreSQL database of one's own for a test file. */
export interface TestDatabase {
  /** `server`: the one TEST_DATABASE_URL names, in a fresh schema; `embedded`: PGlite. */
  readonly kind: 'server' | 'embedded';
  /** A connection string that reaches this database (and, on a server, only its schema). */
  readonly url: string;
  /** The loopback host and port the database listens on (for proxies). */
  readonly host: string;
  readonly port: number;
  /** A pool for setting up and inspecting data; ended by `close()`. */
  readonly pool: pg.Pool;
  /** Empties users, products and mvp_specifications. */
  reset(): Promise<void>;
  /** Drops the schema (server) or stops the embedded database. Idempotent. */
  close(): Promise<void>;
}

export interface StartTestDatabaseOptions {
  /** Apply the package's migrations first. Default true. */
  migrate?: boolean;
  /** Default: process.env.TEST_DATABASE_URL. */
  serverUrl?: string | undefined;
}

/**
 * Starts a database for one test file: a fresh schema on the server named by TEST_DATABASE_URL
 * (dropped on close, so parallel files never meet), or else an embedded PGlite behind its socket
 * server, reached by the same `pg` client. PGlite takes a few seconds and ~500 MB: start one per
 * file and `reset()` between tests.
 */
export async function startTestDatabase(options: StartTestDatabaseOptions = {}): Promise<TestDatabase> {
  const serverUrl = 'serverUrl' in options ? options.serverUrl : process.env['TEST_DATABASE_URL'];
  const db = serverUrl ? await onServer(serverUrl) : await embedded();
  if (options.migrate ?? true) {
    try {
      await applyMigrations({ pool: db.pool });
    } catch (error) {
      await db.close();
      throw error;
    }
  }
  return db;
}

async function onServer(serverUrl: string): Promise<TestDatabase> {
  const schema = `mvp_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: serverUrl, max: 1 });
  admin.on('error', () => undefined);
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = withSearchPath(serverUrl, schema);
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => undefined);
  const { hostname, port } = new URL(serverUrl);
  let closed: Promise<void> | undefined;
  return {
    kind: 'server',
    url,
    host: hostname || '127.0.0.1',
    port: Number(port || 5432),
    pool,
    reset: () => truncate(pool),
    close: () => {
      closed ??= (async () => {
        await pool.end().catch(() => undefined);
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await admin.end();
      })();
      return closed;
    },
  };
}

async function embedded(): Promise<TestDatabase> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create();
  // PGlite is one backend; the socket server multiplexes its clients onto it.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 16 });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw error;
  }
  const [host, port] = splitHostPort(server.getServerConn());
  const url = `postgres://postgres@${host}:${port}/postgres`;
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => undefined);
  let closed: Promise<void> | undefined;
  return {
    kind: 'embedded',
    url,
    host,
    port,
    pool,
    reset: () => truncate(pool),
    close: () => {
      closed ??= (async () => {
        await pool.end().catch(() => undefined);
        await server.stop().catch(() => undefined);
        await db.close();
      })();
      return closed;
    },
  };
}

async function truncate(pool: pg.Pool): Promise<void> {
  await pool.query('TRUNCATE users, products, mvp_specifications');
}

/** The URL with `search_path` set to `schema` at connection start (the `options` parameter). */
export function withSearchPath(url: string, schema: string): string {
  const parsed = new URL(url);
  const previous = parsed.searchParams.get('options');
  parsed.searchParams.set('options', `${previous ? `${previous} ` : ''}-c search_path=${schema}`);
  return parsed.toString();
}

/** The URL with another host and port (to route it through a proxy), or with a password. */
export function rewriteUrl(url: string, change: { host?: string; port?: number; password?: string }): string {
  const parsed = new URL(url);
  if (change.host !== undefined) parsed.hostname = change.host;
  if (change.port !== undefined) parsed.port = String(change.port);
  if (change.password !== undefined) parsed.password = encodeURIComponent(change.password);
  return parsed.toString();
}

function splitHostPort(conn: string): [string, number] {
  const at = conn.lastIndexOf(':');
  return [conn.slice(0, at), Number(conn.slice(at + 1))];
}
