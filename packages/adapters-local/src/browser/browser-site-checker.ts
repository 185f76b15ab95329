import type { SiteChecker, SiteCheckResult } from '@mvp-pipeline/core';
import { createHttpSiteChecker } from '../site/site-checker.js';
import { findChromium, launchChromium } from './chromium.js';

export interface BrowserSiteCheckerSettings {
  /** The Chromium to drive. Default: the first of CHROMIUM_CANDIDATES that exists (`/usr/bin/chromium` on Debian). */
  executablePath?: string;
  /** How long one check (launch, load, read) may take, in milliseconds. Default 30 000. */
  timeoutMs?: number;
  /** The checker used when there is no Chromium. Default: `createHttpSiteChecker()`. */
  fallback?: SiteChecker;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** Console messages are quoted up to this length: a page may log a lot. */
const MAX_QUOTE = 200;

/**
 * Checks a deployed page the way a visitor sees it, in headless Chromium (checker `chromium`):
 * the page loads (HTTP 200 for http(s) URLs), its visible text names the product, and it logs no
 * console error and throws no uncaught error while loading. Each check runs in a fresh browser
 * with a throw-away profile.
 *
 * Without Chromium it runs the fallback (the http/file check) and adds the note
 * `chromium not found: browser check skipped`; a Chromium that will not start is reported the
 * same way. It never fails a site for the browser's absence alone. Problems name the URL by
 * origin and path only. Throws only when its signal aborts (with the signal's reason).
 */
export function createBrowserSiteChecker(settings: BrowserSiteCheckerSettings = {}): SiteChecker {
  const timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const fallback = settings.fallback ?? createHttpSiteChecker({ timeoutMs });

  const skip = async (
    options: Parameters<SiteChecker['check']>[0],
    note: string,
  ): Promise<SiteCheckResult> => {
    const result = await fallback.check(options);
    return { ...result, notes: [...(result.notes ?? []), note] };
  };

  return {
    specificationVersion: 'v1',
    async check(options): Promise<SiteCheckResult> {
      const { url, expectText, headers, signal } = options;
      signal?.throwIfAborted();
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        return failed(['the URL is not a valid absolute URL']);
      }
      if (!['http:', 'https:', 'file:'].includes(parsed.protocol)) {
        return failed([`cannot check ${parsed.protocol} URLs (only http, https and file)`]);
      }
      const executablePath = findChromium(settings.executablePath);
      if (!executablePath) return skip(options, 'chromium not found: browser check skipped');

      let session: Awaited<ReturnType<typeof launchChromium>>;
      try {
        session = await launchChromium({
          executablePath,
          timeoutMs,
          ...(parsed.username || parsed.password
            ? {
                httpCredentials: {
                  username: decodeURIComponent(parsed.username),
                  password: decodeURIComponent(parsed.password),
                },
              }
            : {}),
        });
      } catch (error) {
        signal?.throwIfAborted();
        return skip(options, `chromium could not start (${firstLine(error)}): browser check skipped`);
      }
      if (signal?.aborted) {
        await session.close();
        throw signal.reason;
      }
      const onAbort = () => void session.close();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        return await inspect(session.context, parsed, expectText, timeoutMs, headers);
      } catch (error) {
        signal?.throwIfAborted();
        const reason = firstLine(error).split(parsed.href).join(displayUrl(parsed));
        return failed([`${displayUrl(parsed)} could not be loaded (${reason})`]);
      } finally {
        signal?.removeEventListener('abort', onAbort);
        await session.close();
      }
    },
  };
}

async function inspect(
  context: Awaited<ReturnType<typeof launchChromium>>['context'],
  url: URL,
  expectText: string,
  timeoutMs: number,
  extra: Readonly<Record<string, string>> | undefined,
): Promise<SiteCheckResult> {
  const shown = displayUrl(url);
  const problems: string[] = [];
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(timeoutMs);
  if (extra && url.protocol !== 'file:') {
    // The extra headers (secrets) go to the page's own origin only. Each such request is made
    // here without following redirects, so a redirect elsewhere comes back to this handler
    // (and leaves without them) instead of carrying them along.
    await page.route(
      () => true,
      async (route) => {
        const request = route.request();
        if (new URL(request.url()).origin !== url.origin) return route.fallback();
        const response = await route.fetch({ headers: { ...request.headers(), ...extra }, maxRedirects: 0 });
        return route.fulfill({ response });
      },
    );
  }
  // Registered last, so it runs first (Playwright runs routes newest first).
  // A site without a favicon is not broken, but Chromium logs the 404 of its automatic request.
  await page.route(/\/favicon\.ico$/, (route) => route.fulfill({ status: 204 }));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const source = message.location().url;
    const where = source && source !== url.href ? ` (${displayUrl(new URL(source))})` : '';
    problems.push(`console error: ${quote(message.text())}${where}`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught error: ${quote(error.message)}`));

  const target = new URL(url.href);
  target.username = '';
  target.password = '';
  const response = await page.goto(target.href, { waitUntil: 'load', timeout: timeoutMs });
  if (url.protocol !== 'file:') {
    const status = response?.status();
    if (status !== 200) {
      return failed([`${shown} answered ${status ?? 'nothing'}, not 200`, ...problems]);
    }
  }
  // Let the page's first frame render, so errors from start-up code are seen too.
  await page.evaluate(
    'new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))',
  );
  // biome-ignore lint/performance/useDomNodeTextContent: what a visitor sees is the point: CSS-hidden text must not count
  const visible = normalize(await page.locator('body').innerText());
  const expected = normalize(expectText);
  if (!visible.includes(expected)) problems.unshift(`the page at ${shown} does not show "${expected}"`);
  return problems.length ? failed(problems) : { ok: true, problems: [], checker: 'chromium' };
}

const failed = (problems: string[]): SiteCheckResult => ({ ok: false, problems, checker: 'chromium' });

const normalize = (text: string) => text.normalize('NFC').replace(/\s+/g, ' ').trim();

const quote = (text: string) => {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_QUOTE ? `${line.slice(0, MAX_QUOTE)}…` : line;
};

/** Origin and path only: credentials, query and fragment can carry secrets. */
function displayUrl(url: URL): string {
  return url.protocol === 'file:' ? url.pathname : `${url.origin}${url.pathname}`;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return quote(message.split('\n')[0] ?? message);
}
