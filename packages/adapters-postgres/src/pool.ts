import { postgresTlsOptions } from '@mvp-pipeline/core';
import pg from 'pg';

/** How to reach the database when this package creates the pool itself. */
export interface PoolSettings {
  /** A PostgreSQL URL (FOUNDERDASH_DB_URL). A secret: it never appears in a message. */
  connectionString: string;
  /**
   * The PEM certificate(s) of the CA the server's certificate chains to (FOUNDERDASH_DB_CA, or
   * its secret): DigitalOcean's managed PostgreSQL chains to DigitalOcean's own CA, which Node
   * does not trust. Given, the pool verifies the server against it (chain and host name) and
   * the URL's `sslmode` may only ask for TLS (require, verify-ca, verify-full), never turn it off.
   */
  ca?: string;
  /** Give up opening a connection after this long. Default 10 s. */
  connectTimeoutMs?: number;
  /** The server cancels a statement that runs longer. Default 15 s. */
  statementTimeoutMs?: number;
  /** Connections the pool may open. Default 4: one job reads one spec at a time. */
  maxConnections?: number;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 15_000;

/**
 * A pg pool with a connect timeout and a client-side statement backstop. No startup
 * parameters beyond `application_name`: DigitalOcean's connection pools (PgBouncer) refuse
 * others, `statement_timeout` among them; the statement timeout is `SET LOCAL` in each
 * transaction instead (see spec-source.ts).
 */
export function createPool(settings: PoolSettings): pg.Pool {
  const statementTimeoutMs = settings.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  return new pg.Pool({
    ...postgresTlsOptions(settings.connectionString, settings.ca),
    connectionTimeoutMillis: settings.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    // A server that stops answering without closing the socket never cancels anything itself.
    query_timeout: statementTimeoutMs + 5_000,
    max: settings.maxConnections ?? 4,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: 'mvp-pipeline',
    // An idle pool must not keep a finished CLI or runner alive.
    allowExitOnIdle: true,
  });
}

/**
 * Checks a client out, runs `work`, and gives it back; a client that failed or was aborted is
 * destroyed rather than reused. Errors a checked-out client emits while idle are absorbed here
 * (pg would otherwise throw them as unhandled 'error' events).
 */
export async function withClient<T>(
  pool: pg.Pool,
  signal: AbortSignal | undefined,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  signal?.throwIfAborted();
  const client = await connect(pool, signal);
  let released = false;
  const release = (destroy: boolean) => {
    if (released) return;
    released = true;
    // A destroyed client keeps the listener: a late socket error must not become unhandled.
    if (!destroy) client.removeListener('error', onError);
    signal?.removeEventListener('abort', onAbort);
    client.release(destroy);
  };
  const onError = () => release(true);
  const onAbort = () => release(true);
  client.on('error', onError);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    signal?.throwIfAborted();
    const result = await work(client);
    release(false);
    return result;
  } catch (error) {
    release(true);
    if (signal?.aborted) throw signal.reason;
    throw error;
  }
}

/** pool.connect(), given up on when `signal` aborts (a connection that arrives later is destroyed). */
function connect(pool: pg.Pool, signal: AbortSignal | undefined): Promise<pg.PoolClient> {
  const connecting = pool.connect();
  if (!signal) return connecting;
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      connecting.then((client) => client.release(true)).catch(() => undefined);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    connecting.then(
      (client) => {
        signal.removeEventListener('abort', onAbort);
        resolve(client);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
