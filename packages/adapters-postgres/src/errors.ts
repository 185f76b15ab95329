import {
  createRedactor,
  PermanentError,
  PipelineError,
  type Redactor,
  TransientError,
} from '@mvp-pipeline/core';

/**
 * SQLSTATEs worth another try: the server is overloaded, restarting or shutting down, the
 * connection broke, a statement timed out, or a concurrent transaction got in the way.
 */
const TRANSIENT_SQLSTATES: ReadonlySet<string> = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53000', // insufficient_resources
  '53200', // out_of_memory
  '53300', // too_many_connections
  '55P03', // lock_not_available
  '57014', // query_canceled (statement_timeout)
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '57P05', // idle_session_timeout
  '08000', // connection_exception
  '08001', // sqlclient_unable_to_establish_sqlconnection
  '08003', // connection_does_not_exist
  '08004', // sqlserver_rejected_establishment_of_sqlconnection
  '08006', // connection_failure
]);

/** Node's socket errors that say "not now", not "never". */
const TRANSIENT_NODE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);

/** pg's own messages for broken or timed-out connections (they carry no code). */
const TRANSIENT_MESSAGES =
  /connection terminated|connection timeout|timeout exceeded when trying to connect|query read timeout|encountered a connection error|not queryable|timeout expired/i;

/** What a person should check, for the permanent failures that have a usual cause. */
const HINTS: Readonly<Record<string, string>> = {
  '28000': 'check the user and password in FOUNDERDASH_DB_URL',
  '28P01': 'check the user and password in FOUNDERDASH_DB_URL',
  '3D000': 'check the database name in FOUNDERDASH_DB_URL',
  '42P01': 'the schema is missing: run `mvp db migrate`',
  '42703': 'the schema is out of date: run `mvp db migrate`',
  '42501': 'the database user lacks SELECT permission on users, products and mvp_specifications',
  ENOTFOUND: 'check the host name in FOUNDERDASH_DB_URL',
  // TLS: the server's chain ends at a CA Node does not trust (DigitalOcean's own, say).
  UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    "set FOUNDERDASH_DB_CA to the CA certificate the database's certificate chains to",
  SELF_SIGNED_CERT_IN_CHAIN:
    "set FOUNDERDASH_DB_CA to the CA certificate the database's certificate chains to",
  DEPTH_ZERO_SELF_SIGNED_CERT:
    "set FOUNDERDASH_DB_CA to the CA certificate the database's certificate chains to",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    "set FOUNDERDASH_DB_CA to the CA certificate the database's certificate chains to",
  ERR_TLS_CERT_ALTNAME_INVALID: "the database's certificate does not name the host in FOUNDERDASH_DB_URL",
};

/** The parts of a connection string that are secret: the whole string and its password. */
export function connectionSecrets(connectionString: string | undefined): string[] {
  if (!connectionString) return [];
  const secrets = [connectionString];
  try {
    const password = new URL(connectionString).password;
    if (password) secrets.push(password, decodeURIComponent(password));
  } catch {
    // Not a URL (keyword/value form): match its password= value instead.
    const password = /\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/i.exec(connectionString)?.[1];
    if (password) secrets.push(password, password.replace(/^'|'$/g, ''));
  }
  return secrets;
}

/**
 * A redactor that knows the connection's secrets, applied after the application's own one
 * (which knows every other secret of the process).
 */
export function databaseRedactor(secrets: Iterable<string | undefined>, outer?: Redactor): Redactor {
  const own = createRedactor(secrets);
  return outer ? (text) => own(outer(text)) : own;
}

/** The SQLSTATE or Node error code of a thrown value, if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Whether a database failure may go away by trying again (see TRANSIENT_SQLSTATES). */
export function isTransientDatabaseError(error: unknown): boolean {
  const code = errorCode(error);
  if (code && (TRANSIENT_SQLSTATES.has(code) || TRANSIENT_NODE_CODES.has(code))) return true;
  if (error instanceof AggregateError) return error.errors.some(isTransientDatabaseError);
  if (code && /^[0-9A-Z]{5}$/.test(code)) return false;
  return error instanceof Error && TRANSIENT_MESSAGES.test(error.message);
}

/**
 * A pg or socket failure as the project's error vocabulary: TransientError for what a retry may
 * fix, PermanentError for the rest. `doing` says what failed ("Reading the spec of product p1").
 * The message and the recorded cause are redacted: pg's text never carries the URL out.
 */
export function toDatabaseError(error: unknown, doing: string, redact: Redactor): PipelineError {
  if (PipelineError.isInstance(error)) return error;
  const code = errorCode(error);
  const detail = redact(describe(error));
  const hint = code ? HINTS[code] : undefined;
  const message = `${doing} failed: ${detail}${code && !detail.includes(code) ? ` (${code})` : ''}${hint ? `; ${hint}` : ''}`;
  const cause = sanitised(error, redact);
  return isTransientDatabaseError(error)
    ? new TransientError(message, { cause })
    : new PermanentError(message, { cause });
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    // Node's connect to a name with several addresses fails with one error per address.
    return [...new Set(error.errors.map(describe))].join('; ');
  }
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/** The cause kept on our error: code and redacted message only, so no log line can leak pg's text. */
function sanitised(error: unknown, redact: Redactor): Error {
  const copy = new Error(redact(describe(error)));
  copy.name = error instanceof Error ? error.name : 'Error';
  const code = errorCode(error);
  if (code) Object.assign(copy, { code });
  return copy;
}
