// Accounts and sessions (hand-written, protected). Passwords: scrypt (node:crypto) with a random
// salt; sessions: a random token in an httpOnly, SameSite=Lax cookie (Secure over https), only its
// sha256 stored in auth_sessions; sign-in attempts rate-limited in auth_sign_in_attempts.
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { cookies, headers } from 'next/headers';
import { type Db, isUniqueViolation, query, transaction } from './db';

export type Role = 'admin' | 'member';
export interface Viewer {
  id: string;
  email: string;
  role: Role;
}

export const SESSION_COOKIE = 'sid';
const SESSION_DAYS = 30;
const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 64 } as const;
/** Failed sign-ins allowed per window, per email and per client address. */
export const SIGN_IN_LIMIT = { perEmail: 5, perAddress: 30, windowMinutes: 15 } as const;

function scryptAsync(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p }, (e, key) =>
      e ? reject(e) : resolve(key),
    ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, , , , salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64'));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A hash to compare against when the email is unknown, so both paths take as long. */
let dummyHash: Promise<string> | undefined;

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

export function normaliseEmail(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const email = value.trim().toLowerCase();
  return email.length <= 254 && /^[^\s@<>()"']+@[^\s@<>()"']+\.[^\s@<>()"']+$/.test(email)
    ? email
    : undefined;
}

export function checkPassword(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'Enter a password';
  if (value.length < 8) return 'Use at least 8 characters';
  if (value.length > 200) return 'Use at most 200 characters';
  return undefined;
}

/** Whether the request came over https (directly or through a proxy that says so). */
export async function isHttps(): Promise<boolean> {
  const h = await headers();
  const forwarded = h.get('x-forwarded-proto')?.split(',')[0]?.trim();
  return forwarded === 'https' || (process.env.APP_URL ?? '').startsWith('https://');
}

export async function clientAddress(): Promise<string> {
  const h = await headers();
  return h.get('x-forwarded-for')?.split(',')[0]?.trim() || h.get('x-real-ip') || 'local';
}

/** Starts a session for `userId` and sets its cookie. */
export async function startSession(userId: string, db?: Db): Promise<void> {
  const token = randomBytes(32).toString('base64url');
  await query(
    `INSERT INTO auth_sessions (id, user_id, expires_at) VALUES ($1, $2, now() + make_interval(days => $3))`,
    [sha256(token), userId, SESSION_DAYS],
    db,
  );
  const jar = await cookies();
  jar.set(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'lax',
    secure: await isHttps(),
    path: '/',
    maxAge: SESSION_DAYS * 24 * 3600,
  });
}

export async function endSession(): Promise<void> {
  const jar = await cookies();
  const token = jar.get(SESSION_COOKIE)?.value;
  if (token) await query('DELETE FROM auth_sessions WHERE id = $1', [sha256(token)]);
  jar.set(SESSION_COOKIE, '', {
    httpOnly: true,
    sameSite: 'lax',
    secure: await isHttps(),
    path: '/',
    maxAge: 0,
  });
}

/** The signed-in account, or null. */
export async function currentViewer(): Promise<Viewer | null> {
  const token = (await cookies()).get(SESSION_COOKIE)?.value;
  if (!token || token.length > 100) return null;
  const rows = await query<Viewer>(
    `SELECT u.id, u.email, u.role FROM auth_sessions s JOIN auth_users u ON u.id = s.user_id
      WHERE s.id = $1 AND s.expires_at > now()`,
    [sha256(token)],
  );
  return rows[0] ?? null;
}

export type SignUpResult = { ok: true; user: Viewer } | { ok: false; status: number; error: string };

/** Creates a member account (or, with `role: 'admin'` inside a claim, the owner) and signs it in. */
export async function signUp(
  emailInput: unknown,
  password: unknown,
  db?: Db,
  role: Role = 'member',
): Promise<SignUpResult> {
  const email = normaliseEmail(emailInput);
  if (!email) return { ok: false, status: 400, error: 'Enter a valid email address' };
  const problem = checkPassword(password);
  if (problem) return { ok: false, status: 400, error: problem };
  try {
    const [user] = await query<Viewer>(
      'INSERT INTO auth_users (email, password_hash, role) VALUES ($1, $2, $3) RETURNING id, email, role',
      [email, await hashPassword(password as string), role],
      db,
    );
    if (!user) throw new Error('insert returned no row');
    await startSession(user.id, db);
    return { ok: true, user };
  } catch (error) {
    if (isUniqueViolation(error))
      return { ok: false, status: 409, error: 'An account with this email already exists' };
    throw error;
  }
}

export type SignInResult = { ok: true; user: Viewer } | { ok: false; status: 400 | 401 | 429; error: string };

/** Checks the password, counting failures per email and per address; too many → 429 for a while. */
export async function signIn(emailInput: unknown, password: unknown): Promise<SignInResult> {
  const email = normaliseEmail(emailInput);
  if (!email || typeof password !== 'string' || password.length > 200) {
    return { ok: false, status: 400, error: 'Enter your email address and password' };
  }
  const address = `addr:${await clientAddress()}`;
  const [counts] = await query<{ by_email: string; by_address: string }>(
    `SELECT count(*) FILTER (WHERE key = $1) AS by_email, count(*) FILTER (WHERE key = $2) AS by_address
       FROM auth_sign_in_attempts WHERE key IN ($1, $2) AND at > now() - make_interval(mins => $3)`,
    [`email:${email}`, address, SIGN_IN_LIMIT.windowMinutes],
  );
  if (
    Number(counts?.by_email) >= SIGN_IN_LIMIT.perEmail ||
    Number(counts?.by_address) >= SIGN_IN_LIMIT.perAddress
  ) {
    return { ok: false, status: 429, error: 'Too many attempts. Try again in a few minutes.' };
  }
  const [row] = await query<Viewer & { password_hash: string }>(
    'SELECT id, email, role, password_hash FROM auth_users WHERE lower(email) = $1',
    [email],
  );
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  const ok = await verifyPassword(password, row?.password_hash ?? (await dummyHash));
  if (!row || !ok) {
    await query('INSERT INTO auth_sign_in_attempts (key) VALUES ($1), ($2)', [`email:${email}`, address]);
    return { ok: false, status: 401, error: 'Wrong email or password' };
  }
  await query('DELETE FROM auth_sign_in_attempts WHERE key = $1', [`email:${email}`]);
  await startSession(row.id);
  return { ok: true, user: { id: row.id, email: row.email, role: row.role } };
}

export type ClaimResult = { ok: true } | { ok: false; status: number; error: string };

/**
 * Uses a one-time owner claim: in one transaction (the claim row locked), checks it is unused and
 * unexpired, then makes `viewer` the owner — or creates the owner's account from `email`/`password`.
 */
export async function claimOwnership(
  token: string,
  viewer: Viewer | null,
  email: unknown,
  password: unknown,
): Promise<ClaimResult> {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(token))
    return { ok: false, status: 404, error: 'This link is not valid' };
  return transaction(async (db) => {
    const [claim] = await query<{ used_at: string | null; expired: boolean }>(
      'SELECT used_at, expires_at <= now() AS expired FROM auth_owner_claims WHERE id = $1 FOR UPDATE',
      [sha256(token)],
      db,
    );
    if (!claim) return { ok: false, status: 404, error: 'This link is not valid' };
    if (claim.used_at) return { ok: false, status: 410, error: 'This link has already been used' };
    if (claim.expired) return { ok: false, status: 410, error: 'This link has expired' };
    const [owner] = await query('SELECT 1 FROM auth_users WHERE role = $1', ['admin'], db);
    if (owner) return { ok: false, status: 409, error: 'This app already has an owner' };
    let userId: string;
    if (viewer) {
      await query(`UPDATE auth_users SET role = 'admin', updated_at = now() WHERE id = $1`, [viewer.id], db);
      userId = viewer.id;
    } else {
      const created = await signUp(email, password, db, 'admin');
      if (!created.ok) return created;
      userId = created.user.id;
    }
    await query(
      'UPDATE auth_owner_claims SET used_at = now(), used_by = $2 WHERE id = $1',
      [sha256(token), userId],
      db,
    );
    return { ok: true };
  });
}
