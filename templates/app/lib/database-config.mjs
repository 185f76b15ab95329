// How the app, its migrations and its owner claim connect to PostgreSQL: DATABASE_URL, and
// DATABASE_CA (a PEM) when the server's certificate chains to a CA of its own (DigitalOcean's
// managed PostgreSQL does). The certificate is always verified.

/** node-postgres settings for `url` (default DATABASE_URL) and DATABASE_CA. */
export function databaseConfig(url = process.env.DATABASE_URL, ca = process.env.DATABASE_CA) {
  if (!url) throw new Error('DATABASE_URL is not set');
  if (!ca) return { connectionString: url };
  // node-postgres lets the URL's ssl parameters override `ssl`: with a CA, the CA decides.
  const parsed = new URL(url);
  for (const name of ['sslmode', 'ssl', 'sslrootcert', 'sslcert', 'sslkey', 'uselibpqcompat'])
    parsed.searchParams.delete(name);
  return { connectionString: parsed.toString(), ssl: { ca, rejectUnauthorized: true } };
}
