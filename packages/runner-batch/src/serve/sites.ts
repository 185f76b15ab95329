import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { HttpResponse } from '../http/types.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
};

/** The largest file served, in bytes: a published site is small. */
const MAX_FILE_BYTES = 50 * 1024 * 1024;

/**
 * A published site's page keeps its scripts but runs in an opaque origin (CSP sandbox without
 * allow-same-origin), so a generated page cannot use the dashboard's API as the person viewing it.
 */
const SITE_HEADERS = {
  'content-security-policy': 'sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-cache',
  'referrer-policy': 'no-referrer',
};

const notFound = (): HttpResponse => ({
  status: 404,
  headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' },
  body: 'Not found',
});

/**
 * Answers `GET /sites/<rest>` from the static deployer's `<dataDir>/sites` folder: a folder
 * answers with its index.html (redirected to end in `/` first, so relative links work), the
 * production alias (a symlink to a deployment) is followed, and nothing outside the sites folder
 * is ever read: no `..`, no encoded separators, no symlink that leads out.
 */
export async function serveSite(sitesDir: string, rest: string): Promise<HttpResponse> {
  let segments: string[];
  try {
    segments = rest.split('/').map((s) => decodeURIComponent(s));
  } catch {
    return notFound();
  }
  const named = segments.filter((s) => s !== '');
  if (named.some((s) => s === '.' || s === '..' || /[\\/\0]/.test(s)) || named.length === 0)
    return notFound();
  let root: string;
  try {
    root = await realpath(sitesDir);
  } catch {
    return notFound();
  }
  // The real path, or undefined when it does not exist or leads out of the sites folder.
  const inside = async (candidate: string) => {
    const real = await realpath(candidate).catch(() => undefined);
    return real?.startsWith(root + path.sep) ? real : undefined;
  };
  let file = await inside(path.join(root, ...named));
  if (!file) return notFound();
  let info = await stat(file);
  if (info.isDirectory()) {
    if (!rest.endsWith('/')) {
      return { status: 301, headers: { location: `/sites/${rest}/`, 'cache-control': 'no-cache' } };
    }
    file = await inside(path.join(file, 'index.html'));
    if (!file) return notFound();
    info = await stat(file);
  }
  if (!info.isFile() || info.size > MAX_FILE_BYTES) return notFound();
  const type = TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
  return { status: 200, headers: { 'content-type': type, ...SITE_HEADERS }, body: await readFile(file) };
}
