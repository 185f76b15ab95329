import {
  createRedactor,
  type DatabaseProvisioner,
  type DatabasePurpose,
  type DatabaseResource,
  databaseName,
  PermanentError,
  type ProvisionedDatabase,
  postgresTlsOptions,
  type TlsVariables,
  ValidationError,
} from '@mvp-pipeline/core';
import pg from 'pg';
import { toDatabaseError, urlSecrets } from './errors.js';
import { generatePassword, type PasswordStore } from './password-store.js';
import { scramVerifier } from './scram.js';

export interface PostgresServerProvisionerSettings {
  /**
   * A PostgreSQL URL of a role that may create roles and databases (`MVP_APPS_DATABASE_URL`).
   * A secret: registered with the redactor, never in a message.
   */
  adminUrl: string;
  /** Where generated passwords are kept (a 0600 file per role locally). */
  passwords: PasswordStore;
  /** Called with every secret as soon as it exists (the admin URL, each password and app URL). */
  registerSecret?: (value: string) => void;
  /** What `resource.provider` says. Default `postgres-server`. */
  provider?: string;
  /** Connections each MVP's role may hold at once. Default 10. */
  connectionLimit?: number;
  /** `host:port` the apps connect to, when it is not the admin URL's (a pooler, say). */
  appHost?: string;
  /**
   * The connection pooler in front of the server (`MVP_APPS_DATABASE_POOL_URL`, e.g. a
   * DigitalOcean connection pool or PgBouncer): a `postgresql://host:port` URL of which only the
   * host, the port and `sslmode` are used. Given, `connectionUrl` goes through it (the app's
   * URL) and `directUrl` goes to the server (migrations). Wins over `appHost`.
   */
  poolUrl?: string;
  /**
   * The PEM certificate(s) of the CA the server's certificate chains to (`MVP_APPS_DATABASE_CA`):
   * the admin connection verifies the server against it (chain and host name), as
   * FOUNDERDASH_DB_CA does for the spec source, and the app URLs ask for TLS (`sslmode=require`).
   * Without it the admin URL's `sslmode` decides (`require` verifies against Node's own CAs).
   */
  ca?: string;
  /** The configuration names errors point at. Default MVP_APPS_DATABASE_URL / MVP_APPS_DATABASE_CA. */
  variables?: TlsVariables;
  /** Give up opening the admin connection after this long. Default 10 s. */
  connectTimeoutMs?: number;
  /**
   * The longest statement of the MVP's role, set on the role (`ALTER ROLE … SET
   * statement_timeout`): a startup parameter would be refused by PgBouncer. Default 60 s.
   */
  roleStatementTimeoutMs?: number;
}

export const DEFAULT_CONNECTION_LIMIT = 10;
export const DEFAULT_ROLE_STATEMENT_TIMEOUT_MS = 60_000;
/** The admin session's own limits, set after connecting (never as startup parameters). */
const ADMIN_STATEMENT_TIMEOUT_MS = 120_000;
const ADMIN_LOCK_TIMEOUT_MS = 60_000;
/** An app's session left idle inside a transaction holds a pooled server connection: ended after this. */
const ROLE_IDLE_IN_TRANSACTION_MS = 60_000;

const DEFAULT_VARIABLES: TlsVariables = { url: 'MVP_APPS_DATABASE_URL', ca: 'MVP_APPS_DATABASE_CA' };

/** What to set when TLS fails for a usual reason. */
const tlsHints = (variables: TlsVariables): Record<string, string> => {
  const ca = `set ${variables.ca} to the CA certificate the server's certificate chains to`;
  return {
    SELF_SIGNED_CERT_IN_CHAIN: ca,
    DEPTH_ZERO_SELF_SIGNED_CERT: ca,
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: ca,
    UNABLE_TO_GET_ISSUER_CERT_LOCALLY: ca,
    ERR_TLS_CERT_ALTNAME_INVALID: `the server's certificate does not name the host of ${variables.url}`,
  };
};

/** What marks a role as this job's: its comment (`COMMENT ON ROLE`), checked before reuse or drop. */
const marker = (jobId: string, purpose: DatabasePurpose) => `mvp-pipeline job ${jobId} (${purpose})`;

const quote = (identifier: string) => pg.escapeIdentifier(identifier);
const literal = (text: string) => pg.escapeLiteral(text);

interface Found {
  role: { comment: string | null } | undefined;
  database: { owner: string } | undefined;
}

/**
 * The DatabaseProvisioner over a PostgreSQL server we administer: per (job, purpose) one login
 * role and one database it owns, both named `databaseName(jobId, purpose)`.
 *
 * - The role: LOGIN, NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS,
 *   CONNECTION LIMIT; its password generated once and kept in `passwords` (the server gets
 *   only its SCRAM verifier, so no statement log holds it); marked as the job's by a comment.
 * - The database: owned by the role, created from template0, `REVOKE CONNECT, TEMPORARY ON
 *   DATABASE … FROM PUBLIC`, so no other MVP's role can open it.
 * - Idempotent: each step finds what an earlier attempt made; concurrent attempts on one name
 *   take turns (an advisory lock on the admin session), and a duplicate-name error counts as found. A `check` database is dropped and made again.
 * - A role or database of that name that is not the job's is a PermanentError, left alone.
 * - Production: TLS verified against `ca`; no startup parameters a pooler refuses (limits are
 *   `SET` on the admin session and `ALTER ROLE … SET` on the MVP's role); with `poolUrl` the app
 *   URL goes through the pooler and `directUrl` (migrations) to the server.
 */
export function createPostgresServerProvisioner(
  settings: PostgresServerProvisionerSettings,
): DatabaseProvisioner {
  const provider = settings.provider ?? 'postgres-server';
  const limit = settings.connectionLimit ?? DEFAULT_CONNECTION_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new ValidationError('postgres provisioner settings', [
      { path: 'connectionLimit', message: 'must be a whole number from 1 to 1000' },
    ]);
  }
  let admin: URL;
  try {
    admin = new URL(settings.adminUrl);
    if (!/^postgres(ql)?:$/.test(admin.protocol)) throw new Error('protocol');
  } catch {
    throw new ValidationError('postgres provisioner settings', [
      { path: 'adminUrl', message: 'must be a postgresql:// URL' },
    ]);
  }
  const secrets = new Set<string>(urlSecrets(settings.adminUrl));
  const register = (value: string) => {
    for (const secret of urlSecrets(value)) {
      secrets.add(secret);
      settings.registerSecret?.(secret);
    }
  };
  register(settings.adminUrl);
  const redact = (text: string) => createRedactor(secrets)(text);
  const variables = settings.variables ?? DEFAULT_VARIABLES;
  const hints = tlsHints(variables);
  const roleTimeout = settings.roleStatementTimeoutMs ?? DEFAULT_ROLE_STATEMENT_TIMEOUT_MS;
  if (!Number.isInteger(roleTimeout) || roleTimeout < 1_000) {
    throw new ValidationError('postgres provisioner settings', [
      { path: 'roleStatementTimeoutMs', message: 'must be a whole number of milliseconds, 1000 or more' },
    ]);
  }
  // Checked now (a ConfigError naming the variables), used for every admin connection.
  const adminConnection = postgresTlsOptions(settings.adminUrl, settings.ca, variables);
  // With a CA, TLS is required whatever the URL said; without one, the URL's sslmode goes on.
  const sslmode = admin.searchParams.get('sslmode') ?? (settings.ca ? 'require' : null);
  const directHost = settings.appHost ?? admin.host;
  let pool: { host: string; sslmode: string | null } | undefined;
  if (settings.poolUrl) {
    let parsed: URL;
    try {
      parsed = new URL(settings.poolUrl);
      if (!/^postgres(ql)?:$/.test(parsed.protocol) || !parsed.host) throw new Error('protocol');
    } catch {
      throw new ValidationError('postgres provisioner settings', [
        { path: 'poolUrl', message: 'must be a postgresql://host:port URL' },
      ]);
    }
    pool = { host: parsed.host, sslmode: parsed.searchParams.get('sslmode') ?? sslmode };
  }
  const appHost = pool?.host ?? directHost;

  /** Runs `work` on a fresh admin connection; an abort ends the connection and rejects with its reason. */
  async function withAdmin<T>(
    action: string,
    signal: AbortSignal | undefined,
    work: (client: pg.Client) => Promise<T>,
  ): Promise<T> {
    signal?.throwIfAborted();
    // No startup parameters beyond user, database and application_name: PgBouncer (DigitalOcean's
    // connection pools) refuses others, statement_timeout among them. Limits are SET below.
    const client = new pg.Client({
      ...adminConnection,
      connectionTimeoutMillis: settings.connectTimeoutMs ?? 10_000,
      application_name: 'mvp-pipeline-provisioner',
    });
    client.on('error', () => undefined);
    const onAbort = () => void client.end().catch(() => undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await client.connect();
      await client.query(
        `SET statement_timeout = ${ADMIN_STATEMENT_TIMEOUT_MS}; SET lock_timeout = ${ADMIN_LOCK_TIMEOUT_MS}`,
      );
      return await work(client);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw toDatabaseError(action, error, redact, hints);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await client.end().catch(() => undefined);
    }
  }

  /**
   * Serialises the attempts on one name (processes included) for the rest of the admin session:
   * concurrent ALTER/COMMENT/GRANT on one catalog row fail with "tuple concurrently updated".
   */
  const lockName = (client: pg.Client, name: string) =>
    client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`mvp-pipeline/${name}`]);

  async function find(client: pg.Client, name: string): Promise<Found> {
    const roles = await client.query<{ comment: string | null }>(
      "SELECT shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = $1",
      [name],
    );
    const databases = await client.query<{ owner: string }>(
      'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1',
      [name],
    );
    return { role: roles.rows[0], database: databases.rows[0] };
  }

  /** Throws unless what exists under `name` is (job, purpose)'s own. */
  function assertOurs(found: Found, name: string, jobId: string, purpose: DatabasePurpose): void {
    if (found.role && found.role.comment !== marker(jobId, purpose)) {
      throw new PermanentError(`A role named ${name} exists and is not job ${jobId}'s: left alone`);
    }
    if (found.database && found.database.owner !== name) {
      throw new PermanentError(`A database named ${name} exists and is not job ${jobId}'s: left alone`);
    }
  }

  const resourceOf = (name: string, purpose: DatabasePurpose): DatabaseResource => ({
    provider,
    purpose,
    database: name,
    role: name,
    host: appHost,
    secretRef: settings.passwords.ref(name),
  });

  const ignoreDuplicate = async (work: Promise<unknown>): Promise<boolean> => {
    try {
      await work;
      return true;
    } catch (error) {
      // 42710 duplicate_object, 42P04 duplicate_database, 23505 a racing insert into the catalog.
      const code = (error as { code?: string }).code;
      if (code === '42710' || code === '42P04' || code === '23505') return false;
      throw error;
    }
  };

  return {
    specificationVersion: 'v1',

    async provision({ jobId, purpose, signal }): Promise<ProvisionedDatabase> {
      const name = databaseName(jobId, purpose);
      signal?.throwIfAborted();
      const password = await settings.passwords.ensure(name, generatePassword);
      register(password);
      const urlFor = (host: string, mode: string | null) => {
        const url = new URL(`postgresql://${host}/${name}`);
        url.username = name;
        url.password = password;
        if (mode) url.searchParams.set('sslmode', mode);
        const text = url.toString();
        register(text);
        return text;
      };
      const directUrl = urlFor(directHost, sslmode);
      const connectionUrl = pool ? urlFor(pool.host, pool.sslmode) : directUrl;

      const created = await withAdmin(`Provisioning database ${name}`, signal, async (client) => {
        const step = () => signal?.throwIfAborted();
        await lockName(client, name);
        assertOurs(await find(client, name), name, jobId, purpose);
        step();
        const options = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT ${limit} PASSWORD ${literal(scramVerifier(password))}`;
        // Role and its marker in one transaction: no unmarked role is ever left behind.
        await client.query('BEGIN');
        try {
          const made = await ignoreDuplicate(client.query(`CREATE ROLE ${quote(name)} ${options}`));
          if (made)
            await client.query(`COMMENT ON ROLE ${quote(name)} IS ${literal(marker(jobId, purpose))}`);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
        // Found or raced: check the marker, and set the stored password and limits again.
        assertOurs(await find(client, name), name, jobId, purpose);
        await client.query(`ALTER ROLE ${quote(name)} ${options}`);
        // Session limits on the role, so they hold through a pooler that refuses startup parameters.
        await client.query(`ALTER ROLE ${quote(name)} SET statement_timeout = ${roleTimeout}`);
        await client.query(
          `ALTER ROLE ${quote(name)} SET idle_in_transaction_session_timeout = ${ROLE_IDLE_IN_TRANSACTION_MS}`,
        );
        step();
        if (purpose === 'check') await client.query(`DROP DATABASE IF EXISTS ${quote(name)} WITH (FORCE)`);
        const made = await ignoreDuplicate(
          client.query(
            `CREATE DATABASE ${quote(name)} OWNER ${quote(name)} TEMPLATE template0 ENCODING 'UTF8'`,
          ),
        );
        assertOurs(await find(client, name), name, jobId, purpose);
        await client.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${quote(name)} FROM PUBLIC`);
        await client.query(`COMMENT ON DATABASE ${quote(name)} IS ${literal(marker(jobId, purpose))}`);
        return made;
      });
      return {
        resource: resourceOf(name, purpose),
        connectionUrl,
        ...(pool ? { directUrl } : {}),
        ...(settings.ca ? { ca: settings.ca } : {}),
        created,
      };
    },

    async describe({ jobId, purpose, signal }) {
      const name = databaseName(jobId, purpose);
      return withAdmin(`Looking up database ${name}`, signal, async (client) => {
        const found = await find(client, name);
        const ours = found.database?.owner === name && found.role?.comment === marker(jobId, purpose);
        return { resource: ours ? resourceOf(name, purpose) : undefined };
      });
    },

    async release({ jobId, purpose, signal }) {
      const name = databaseName(jobId, purpose);
      const removed = await withAdmin(`Removing database ${name}`, signal, async (client) => {
        await lockName(client, name);
        const found = await find(client, name);
        assertOurs(found, name, jobId, purpose);
        if (found.database) await client.query(`DROP DATABASE IF EXISTS ${quote(name)} WITH (FORCE)`);
        if (found.role) await client.query(`DROP ROLE IF EXISTS ${quote(name)}`);
        return Boolean(found.database || found.role);
      });
      const hadPassword = await settings.passwords.remove(name);
      return { removed: removed || hadPassword };
    },
  };
}
