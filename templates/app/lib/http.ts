// Request and response helpers for route handlers (hand-written, protected).
import { NextResponse } from 'next/server';

export interface Input {
  fields: Record<string, unknown>;
  /** A browser form post (answered with a redirect) rather than a JSON call. */
  isForm: boolean;
}

const MAX_BODY = 256 * 1024;

/** The body as fields: JSON objects, or form posts (urlencoded or multipart, strings only). */
export async function readInput(request: Request): Promise<Input | { error: string; status: number }> {
  const length = Number(request.headers.get('content-length') ?? 0);
  if (length > MAX_BODY) return { error: 'Request body too large', status: 413 };
  const type = request.headers.get('content-type') ?? '';
  try {
    if (type.includes('application/json')) {
      const text = await request.text();
      if (text.length > MAX_BODY) return { error: 'Request body too large', status: 413 };
      const json: unknown = text ? JSON.parse(text) : {};
      if (typeof json !== 'object' || json === null || Array.isArray(json)) {
        return { error: 'The body must be a JSON object', status: 400 };
      }
      return { fields: Object.fromEntries(Object.entries(json)), isForm: false };
    }
    if (type.includes('application/x-www-form-urlencoded') || type.includes('multipart/form-data')) {
      const form = await request.formData();
      const fields: Record<string, unknown> = Object.create(null);
      for (const [key, value] of form.entries()) if (typeof value === 'string') fields[key] = value;
      return { fields, isForm: true };
    }
    if (!type && length === 0) return { fields: {}, isForm: false };
  } catch {
    return { error: 'The body could not be read', status: 400 };
  }
  return { error: 'Send JSON or a form', status: 415 };
}

/** A same-site path to go back to after a form post (never another site). */
export function backPath(value: unknown, fallback: string): string {
  return typeof value === 'string' && /^\/(?![/\\])[^\s\\]*$/.test(value) && value.length < 500
    ? value
    : fallback;
}

/** A path with `params` added to its query. */
export function withQuery(path: string, params: Record<string, string>): string {
  const url = new URL(path, 'http://app.invalid');
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return `${url.pathname}${url.search}${url.hash}`;
}

export function json(body: unknown, status = 200): NextResponse {
  return NextResponse.json(body, { status, headers: { 'cache-control': 'no-store' } });
}

/** A 303 to `path` on this origin (the browser then GETs it). */
export function redirectTo(request: Request, path: string): NextResponse {
  const host = request.headers.get('x-forwarded-host') ?? request.headers.get('host') ?? 'localhost';
  const proto = request.headers.get('x-forwarded-proto') ?? new URL(request.url).protocol.replace(':', '');
  return NextResponse.redirect(`${proto}://${host}${path}`, 303);
}

/** An error answered as JSON, or, for a form post, as a redirect back showing the message. */
export function fail(
  request: Request,
  input: Input | null,
  status: number,
  error: string,
  details?: unknown,
): NextResponse {
  if (input?.isForm) {
    return redirectTo(request, withQuery(backPath(input.fields._back, '/'), { error }));
  }
  return json(details === undefined ? { error } : { error, details }, status);
}
