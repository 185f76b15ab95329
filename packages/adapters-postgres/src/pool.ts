import { ConfigError } from '@mvp-pipeline/core';
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

/** The URL parameters through which the connection string would set TLS itself. */
const TLS_PARAMETERS = ['sslmode', 'ssl', 'sslrootcert', 'sslcert', 'sslkey', 'uselibpqcompat'];
const TLS_MODES = ['require', 'verify-ca', 'verify-full'];

/** The configuration names a TLS error points at: the URL's variable and the CA's. */
export interface TlsVariables {
  url: string;
  ca: string;
}

const SPEC_SOURCE_VARIABLES: TlsVariables = { url: 'FOUNDERDASH_DB_URL', ca: 'FOUNDERDASH_DB_CA' };

/**
 * The connection string and TLS options for a pg pool or client. Without a CA the URL decides,
 * as pg reads it (`sslmode=require` verifies against Node's CAs). With one, the URL's TLS
 * parameters are taken out (pg lets them replace the `ssl` option silently) and the connection
 * verifies the server against the CA; a URL that asks for no TLS, or for another CA file, is a
 * ConfigError naming the variables (`names`, default FOUNDERDASH_DB_URL / FOUNDERDASH_DB_CA),
 * never the URL.
 */
export function tlsOptions(
  connectionString: string,
  ca: string | undefined,
  names: TlsVariables = SPEC_SOURCE_VARIABLES,
) {
  if (ca === undefined) return { connectionString };
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError(names.ca, 'is not a PEM certificate (-----BEGIN CERTIFICATE-----)');
  }
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    throw new ConfigError(names.url, 'is not a URL');
  }
  const mode = url.searchParams.get('sslmode');
  if (
    (mode !== null && !TLS_MODES.includes(mode)) ||
    ['0', 'false'].includes(url.searchParams.get('ssl') ?? '')
  ) {
    throw new ConfigError(
      names.url,
      `asks for sslmode=${mode ?? 'off'} while ${names.ca} is set: use sslmode=require or verify-full, or unset the CA`,
    );
  }
  if (url.searchParams.has('sslrootcert')) {
    throw new ConfigError(names.url, `names an sslrootcert while ${names.ca} is set: keep one of them`);
  }
  for (const name of TLS_PARAMETERS) url.searchParams.delete(name);
  // Node checks the chain and the host name; the server's certificate must name the host.
  return { connectionString: url.toString(), ssl: { ca, rejectUnauthorized: true } };
}

/**
 * A pg pool with a connect timeout and a client-side statement backstop. No startup
 * parameters beyond `application_name`: DigitalOcean's connection pools (PgBouncer) refuse
 * others, `statement_timeout` among them; the statement timeout is `SET LOCAL` in each
 * transaction instead (see spec-source.ts).
 */
export function createPool(settings: PoolSettings): pg.Pool {
  const statementTimeoutMs = settings.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  return new pg.Pool({
    ...tlsOptions(settings.connectionString, settings.ca),
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
