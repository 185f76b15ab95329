import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SiteChecker, SiteCheckResult } from '@mvp-pipeline/core';

export interface HttpSiteCheckerSettings {
  /** The fetch to use (tests and proxies inject theirs). Default: the global fetch. */
  fetch?: typeof globalThis.fetch;
  /** How long one check may take, in milliseconds. Default 15 000. */
  timeoutMs?: number;
  /** The most of a page that is read, in bytes. Default 5 MiB. */
  maxBytes?: number;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;

/**
 * Checks a deployed page without a browser: http(s) URLs must answer GET with 200 and an HTML
 * content type (checker `http`); file:// URLs must name a readable file, or a folder holding an
 * index.html (checker `file`). Either way the page's text (tags stripped, entities decoded) must
 * contain `expectText`. Problems come back in words; a URL's credentials and query never appear
 * in them. Throws only when its signal aborts (with the signal's reason).
 */
export function createHttpSiteChecker(settings: HttpSiteCheckerSettings = {}): SiteChecker {
  const fetchImpl = settings.fetch ?? globalThis.fetch;
  const timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = settings.maxBytes ?? DEFAULT_MAX_BYTES;

  return {
    specificationVersion: 'v1',
    async check({ url, expectText, headers, signal }): Promise<SiteCheckResult> {
      signal?.throwIfAborted();
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        return failed('http', ['the URL is not a valid absolute URL']);
      }
      if (parsed.protocol === 'file:') return checkFile(parsed, expectText, maxBytes);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
        return failed('http', [`cannot check ${parsed.protocol} URLs (only http, https and file)`]);
      }
      return checkHttp(fetchImpl, parsed, expectText, { timeoutMs, maxBytes, signal, extra: headers });
    },
  };
}

async function checkHttp(
  fetchImpl: typeof globalThis.fetch,
  url: URL,
  expectText: string,
  options: {
    timeoutMs: number;
    maxBytes: number;
    signal: AbortSignal | undefined;
    extra: Readonly<Record<string, string>> | undefined;
  },
): Promise<SiteCheckResult> {
  const shown = displayUrl(url);
  const headers: Record<string, string> = { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.5' };
  if (url.username || url.password) {
    const user = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    headers['authorization'] = `Basic ${Buffer.from(user).toString('base64')}`;
  }
  const target = new URL(url.href);
  target.username = '';
  target.password = '';
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    const response = options.extra
      ? await fetchOwnOrigin(fetchImpl, target, headers, options.extra, signal)
      : await fetchImpl(target, { method: 'GET', headers, redirect: 'follow', signal });
    if (response === 'too many redirects') return failed('http', [`${shown} redirected too many times`]);
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      return failed('http', [
        `${shown} answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}, not 200`,
      ]);
    }
    const type = response.headers.get('content-type') ?? '';
    if (!/^\s*(text\/html|application\/xhtml\+xml)\b/i.test(type)) {
      await response.body?.cancel().catch(() => undefined);
      return failed('http', [`${shown} answered with ${type || 'no content type'}, not an HTML page`]);
    }
    const html = await readCapped(response, options.maxBytes);
    return textCheck('http', shown, html, expectText);
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (timeout.aborted) {
      return failed('http', [`${shown} did not answer within ${Math.round(options.timeoutMs / 1000)} s`]);
    }
    return failed('http', [`${shown} could not be reached (${networkReason(error)})`]);
  }
}

const MAX_REDIRECTS = 5;

/**
 * GET with redirects followed by hand, so the extra headers (secrets) go to the URL's own origin
 * only: fetch would carry them to wherever a redirect points.
 */
async function fetchOwnOrigin(
  fetchImpl: typeof globalThis.fetch,
  target: URL,
  headers: Record<string, string>,
  extra: Readonly<Record<string, string>>,
  signal: AbortSignal,
): Promise<Response | 'too many redirects'> {
  let current = target;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const own = current.origin === target.origin;
    const response = await fetchImpl(current, {
      method: 'GET',
      headers: own ? { ...headers, ...extra } : { accept: headers.accept ?? '*/*' },
      redirect: 'manual',
      signal,
    });
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || !location) return response;
    await response.body?.cancel().catch(() => undefined);
    current = new URL(location, current);
  }
  return 'too many redirects';
}

async function checkFile(url: URL, expectText: string, maxBytes: number): Promise<SiteCheckResult> {
  let file: string;
  try {
    file = fileURLToPath(url);
  } catch {
    return failed('file', ['the file URL does not name a local file']);
  }
  try {
    if ((await stat(file)).isDirectory()) file = path.join(file, 'index.html');
    const info = await stat(file);
    if (!info.isFile()) return failed('file', [`${file} is not a file`]);
    if (info.size > maxBytes) return failed('file', [`${file} is larger than ${maxBytes} bytes`]);
    return textCheck('file', file, await readFile(file, 'utf8'), expectText);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return failed('file', [
      code === 'ENOENT' ? `there is no file at ${file}` : `${file} cannot be read (${code ?? String(error)})`,
    ]);
  }
}

function textCheck(checker: string, shown: string, html: string, expectText: string): SiteCheckResult {
  const expected = normalize(expectText);
  if (normalize(pageText(html)).includes(expected)) return { ok: true, problems: [], checker };
  return failed(checker, [`the page at ${shown} does not contain "${expected}"`]);
}

const failed = (checker: string, problems: string[]): SiteCheckResult => ({ ok: false, problems, checker });

const normalize = (text: string) => text.normalize('NFC').replace(/\s+/g, ' ').trim();

/** Origin and path only: credentials, query and fragment can carry secrets. */
function displayUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

async function readCapped(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size >= maxBytes) {
      await reader.cancel().catch(() => undefined);
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  copy: '©',
  reg: '®',
  trade: '™',
  hellip: '…',
  mdash: '—',
  ndash: '–',
  lsquo: '‘',
  rsquo: '’',
  ldquo: '“',
  rdquo: '”',
  middot: '·',
  bull: '•',
};

/** What a reader sees of a page: no scripts, styles, comments or tags; entities decoded. */
export function pageText(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(script|style|template)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z][a-z0-9]*);/gi, (entity, body: string) => {
      if (body[0] === '#') {
        const code =
          body[1] === 'x' || body[1] === 'X' ? Number.parseInt(body.slice(2), 16) : Number(body.slice(1));
        return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : entity;
      }
      return NAMED_ENTITIES[body.toLowerCase()] ?? entity;
    });
}
