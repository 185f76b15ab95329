import { PermanentError, PipelineError, type Redactor, TransientError } from '@mvp-pipeline/core';

/** SQLSTATE classes and codes that mean "not now": connection trouble, overload, shutdown, lock waits. */
const TRANSIENT_SQLSTATE = /^(08|53|57P)|^(40001|40P01|55P03|57014)$/;
/** Socket errors that say "not now", not "never". */
const TRANSIENT_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/** pg's own messages for broken or timed-out connections (they carry no code). */
const TRANSIENT_MESSAGES =
  /connection terminated|connection timeout|timeout exceeded when trying to connect|query read timeout/i;

/**
 * A pg or socket error as the core's vocabulary: TransientError for a server that cannot be
 * reached or refuses for now, PermanentError for the rest (bad credentials, missing
 * privileges, SQL the server refuses). The message names the action, adds the hint `hints` has
 * for the error's code (what to configure), and is redacted.
 */
export function toDatabaseError(
  action: string,
  error: unknown,
  redact: Redactor,
  hints: Readonly<Record<string, string>> = {},
): PipelineError {
  if (PipelineError.isInstance(error)) return error;
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  const hint = typeof code === 'string' && Object.hasOwn(hints, code) ? `; ${hints[code]}` : '';
  const text = redact(`${action}: ${message}${typeof code === 'string' ? ` (${code})` : ''}${hint}`);
  const transient =
    (typeof code === 'string' && (TRANSIENT_SQLSTATE.test(code) || TRANSIENT_NODE_CODES.has(code))) ||
    TRANSIENT_MESSAGES.test(message) ||
    (error instanceof AggregateError && error.errors.some((e) => TRANSIENT_NODE_CODES.has(e?.code)));
  return transient ? new TransientError(text) : new PermanentError(text);
}

/** The parts of a connection URL that are secret: the URL and its password (raw and decoded). */
export function urlSecrets(url: string): string[] {
  const secrets = [url];
  try {
    const password = new URL(url).password;
    if (password) secrets.push(password, decodeURIComponent(password));
  } catch {
    // Not a URL: the whole string is what is registered.
  }
  return secrets;
}
