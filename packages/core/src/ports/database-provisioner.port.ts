import type { DatabasePurpose } from '../domain/database.js';

export type { DatabasePurpose } from '../domain/database.js';

/**
 * What was provisioned, for the job record and an operator's clean-up: ids and places, never a
 * secret. `secretRef` says where the password is kept (a file path locally, a secret's name in
 * a secrets manager), not the password.
 */
export interface DatabaseResource {
  /** The adapter that made it, e.g. `postgres-server`, `postgres-embedded`, `neon`. */
  provider: string;
  purpose: DatabasePurpose;
  /** The database's name on its server (the path of the connection URL). */
  database: string;
  /** The login role the app connects as. */
  role: string;
  /** `host:port` the app connects to (no credentials). */
  host: string;
  /** Where the generated password is stored (never the password itself). */
  secretRef: string;
  /** Provider ids an operator needs to find it again (e.g. a Neon project id), when there are any. */
  ids?: Readonly<Record<string, string>>;
}

export interface ProvisionedDatabase {
  /** For the record: ids and places, no secret. */
  resource: DatabaseResource;
  /**
   * `postgresql://role:password@host:port/database`: a secret. It goes to the app's environment
   * and to migrations, never into a record, a log, an event, a commit or a notification. The
   * adapter has registered it (and the password) with the redactor before returning it.
   */
  connectionUrl: string;
  /**
   * The same database reached directly, not through a connection pooler, for migrations and
   * other session-level work (advisory locks, `SET`); a secret like `connectionUrl`. Absent when
   * the adapter gives no pooled URL: then `connectionUrl` is direct.
   */
  directUrl?: string;
  /**
   * The PEM CA the server's certificate chains to, when the adapter was configured with one that
   * Node does not trust by itself (DigitalOcean's, say): whoever connects with the URLs (the app,
   * its migrations) must verify against it, e.g. `NODE_EXTRA_CA_CERTS` pointing at a file of it.
   * Not a secret.
   */
  ca?: string;
  /** Whether this call created the database; false when an earlier attempt had (a retry). */
  created: boolean;
}

export interface ReleaseResult {
  /** Whether there was something to remove (false for a second release, or nothing provisioned). */
  removed: boolean;
}

/**
 * Gives each MVP (one job) its own PostgreSQL database and login role.
 *
 * - Idempotent per (jobId, purpose): a retried `provision` of an `app` database finds the one an
 *   earlier attempt created (same database, same role, its data kept) and returns a working URL;
 *   two concurrent calls end with one database. A `check` database is the same name every time
 *   for the job, but empty on each `provision` (a throwaway for one check run).
 * - Isolation: a job's role can open its own database only; not another job's, and the role
 *   cannot create databases or roles.
 * - Secrets: generated passwords are stored where the adapter keeps secrets and referenced from
 *   `resource.secretRef`; the URL and the password are registered with the redactor the adapter
 *   was given before any log line or error can carry them. Error messages never hold them.
 * - Errors (thrown, in the core's vocabulary): ValidationError for a job id that is not one;
 *   TransientError when the server cannot be reached or refuses for now (retry later);
 *   RateLimitedError (with retryAfterMs) when a provider API asks to wait; PermanentError for
 *   refused credentials, missing privileges, or a name already taken by something that is not
 *   this job's. An aborted `signal` rejects with its reason.
 */
export interface DatabaseProvisioner {
  readonly specificationVersion: 'v1';

  /**
   * Creates (or finds) the database of `jobId` for `purpose`, and returns its connection URL
   * and resource description. Idempotent as above; an aborted signal rejects with its reason,
   * leaving at most what a retry finds and completes.
   */
  provision(options: {
    jobId: string;
    purpose: DatabasePurpose;
    signal?: AbortSignal;
  }): Promise<ProvisionedDatabase>;

  /**
   * Describes what `provision` made for (jobId, purpose) without changing anything: the
   * resource, or `undefined` when there is none (not found is a value, not an error). Never
   * returns the URL.
   */
  describe(options: {
    jobId: string;
    purpose: DatabasePurpose;
    signal?: AbortSignal;
  }): Promise<{ resource: DatabaseResource | undefined }>;

  /**
   * Removes the database, the role and the stored password of (jobId, purpose): what
   * `provision` created and nothing else (a same-named database that is not this job's is a
   * PermanentError, untouched). Open connections to it are ended. Idempotent: releasing what is
   * not there is `{ removed: false }`.
   */
  release(options: { jobId: string; purpose: DatabasePurpose; signal?: AbortSignal }): Promise<ReleaseResult>;
}
