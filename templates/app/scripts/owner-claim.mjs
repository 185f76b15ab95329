// Prints a one-time link that makes its first user the app's owner (admin). The link expires
// (CLAIM_TTL_HOURS, default 72) and works once; only its sha256 is stored. Nobody becomes owner
// by signing up first: the owner is whoever opens this link.
// Usage: DATABASE_URL=postgres://… APP_URL=http://127.0.0.1:3000 node scripts/owner-claim.mjs
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { databaseConfig } from '../lib/database-config.mjs';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('owner-claim: DATABASE_URL is not set');
  process.exit(2);
}
const base = (process.env.APP_URL ?? 'http://localhost:3000').replace(/\/+$/, '');
const hours = Number(process.env.CLAIM_TTL_HOURS ?? 72);
if (!(hours > 0 && hours <= 24 * 30)) {
  console.error('owner-claim: CLAIM_TTL_HOURS must be between 0 and 720');
  process.exit(2);
}
const client = new pg.Client(databaseConfig(url));
await client.connect();
try {
  const owner = await client.query("SELECT 1 FROM auth_users WHERE role = 'admin'");
  if (owner.rowCount > 0) {
    console.error('owner-claim: the app already has an owner');
    process.exit(3);
  }
  const token = randomBytes(32).toString('base64url');
  const id = createHash('sha256').update(token).digest('hex');
  await client.query(
    'INSERT INTO auth_owner_claims (id, expires_at) VALUES ($1, now() + make_interval(hours => $2))',
    [id, hours],
  );
  console.log(`${base}/claim/${token}`);
} finally {
  await client.end();
}
