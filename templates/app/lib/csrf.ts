// CSRF protection (hand-written, protected): every mutation must pass two checks.
// 1. Origin: when the browser sends Origin (all current browsers do on POST), its host must be
//    this app's host; proxy.ts refuses the rest before any handler runs, and verifyCsrf again.
// 2. A token: the `csrf` cookie (random, set by proxy.ts) must equal the form's `_csrf` field or
//    the `x-csrf-token` header (double submit). A cross-site page can neither read the cookie nor
//    set the header.
import { timingSafeEqual } from 'node:crypto';
import { cookies } from 'next/headers';

export const CSRF_COOKIE = 'csrf';
export const CSRF_FIELD = '_csrf';
export const CSRF_HEADER = 'x-csrf-token';

/** The token forms embed (the proxy has set the cookie before any page renders). */
export async function csrfToken(): Promise<string> {
  return (await cookies()).get(CSRF_COOKIE)?.value ?? '';
}

/** True when the Origin (if any) is this host and Sec-Fetch-Site is not cross-site. */
export function sameOrigin(request: Request): boolean {
  const host = request.headers.get('x-forwarded-host') ?? request.headers.get('host');
  const origin = request.headers.get('origin');
  if (origin !== null) {
    try {
      if (new URL(origin).host !== host) return false;
    } catch {
      return false;
    }
  }
  return request.headers.get('sec-fetch-site') !== 'cross-site';
}

export async function verifyCsrf(request: Request, fields: Record<string, unknown>): Promise<boolean> {
  if (!sameOrigin(request)) return false;
  const cookie = (await cookies()).get(CSRF_COOKIE)?.value ?? '';
  const sent =
    request.headers.get(CSRF_HEADER) ?? (typeof fields[CSRF_FIELD] === 'string' ? fields[CSRF_FIELD] : '');
  if (cookie.length < 20 || sent.length !== cookie.length) return false;
  return timingSafeEqual(Buffer.from(cookie), Buffer.from(sent));
}
