import { z } from 'zod';
import { ConfigError, ValidationError } from '../errors.js';
import { shortHash } from './naming.js';
import { idSchema, toFieldIssues } from './spec.js';

/**
 * What a database is for: `app` is the MVP's own database (kept for the life of the job's app);
 * `check` is a throwaway one the journey check runs the built app against.
 */
export type DatabasePurpose = 'app' | 'check';

export const DATABASE_PURPOSES: readonly DatabasePurpose[] = ['app', 'check'];

const requestSchema = z.object({
  jobId: idSchema,
  purpose: z.enum(['app', 'check']),
});

/**
 * The names a job's database and role get: `mvp_<job>_<hash>_<purpose>`, lowercase letters,
 * digits and `_` (a valid unquoted PostgreSQL identifier, ≤ 63 bytes). The hash keeps two job
 * ids that read the same after lowercasing apart. Every adapter uses it, so a database is
 * found again from the job id alone. Throws ValidationError for a bad job id or purpose.
 */
export function databaseName(jobId: string, purpose: DatabasePurpose): string {
  const parsed = requestSchema.safeParse({ jobId, purpose });
  if (!parsed.success) throw new ValidationError('database request', toFieldIssues(parsed.error.issues));
  const readable = parsed.data.jobId
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 32);
  return `mvp_${readable}_${shortHash(parsed.data.jobId)}_${parsed.data.purpose}`;
}

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
 * The connection string and TLS options for a node-postgres pool or client (no I/O: shared by
 * every adapter that opens PostgreSQL connections). Without a CA the URL decides,
 * as pg reads it (`sslmode=require` verifies against Node's CAs). With one, the URL's TLS
 * parameters are taken out (pg lets them replace the `ssl` option silently) and the connection
 * verifies the server against the CA; a URL that asks for no TLS, or for another CA file, is a
 * ConfigError naming the variables (`names`, default FOUNDERDASH_DB_URL / FOUNDERDASH_DB_CA),
 * never the URL.
 */
export function postgresTlsOptions(
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
