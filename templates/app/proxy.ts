// Runs before every request (hand-written, protected): refuses cross-origin mutations and gives
// every browser a CSRF cookie, passed on to this very request so the first page can embed it.
import { type NextRequest, NextResponse } from 'next/server';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export function proxy(request: NextRequest) {
  if (!SAFE.has(request.method)) {
    const origin = request.headers.get('origin');
    const host = request.headers.get('x-forwarded-host') ?? request.headers.get('host');
    let ok = request.headers.get('sec-fetch-site') !== 'cross-site';
    if (origin !== null) {
      try {
        ok &&= new URL(origin).host === host;
      } catch {
        ok = false;
      }
    }
    if (!ok) return NextResponse.json({ error: 'Cross-origin request refused' }, { status: 403 });
  }
  if (request.cookies.get('csrf')) return NextResponse.next();
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  const token = btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
  const headers = new Headers(request.headers);
  const cookie = headers.get('cookie');
  headers.set('cookie', cookie ? `${cookie}; csrf=${token}` : `csrf=${token}`);
  const response = NextResponse.next({ request: { headers } });
  const https = request.headers.get('x-forwarded-proto') === 'https' || request.nextUrl.protocol === 'https:';
  response.cookies.set('csrf', token, { httpOnly: true, sameSite: 'lax', secure: https, path: '/' });
  return response;
}

export const config = {
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
};
