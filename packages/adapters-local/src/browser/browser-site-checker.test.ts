import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { siteCheckerContract } from '@mvp-pipeline/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBrowserSiteChecker } from './browser-site-checker.js';
import { findChromium } from './chromium.js';

const chromium = findChromium();
const api = { describe, it, expect, beforeEach, afterEach };

// Locally a missing browser skips these tests (loudly); in CI it fails them.
const browserDescribe = chromium || process.env['CI'] ? describe : describe.skip;
if (!chromium) {
  console.warn(
    `\n!!! Chromium not found (${process.env['CI'] ? 'CI: the browser tests will FAIL' : 'browser check tests SKIPPED'}). Install Debian's chromium to run them.\n`,
  );
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Serves each page at its own path; anything else is a 404 page. */
async function pageServer() {
  const pages = new Map<string, string>();
  const server = await listen((req, res) => {
    const html = pages.get(req.url ?? '');
    if (html === undefined) res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not found</h1>');
    else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
  });
  let n = 0;
  return {
    server,
    serve(html: string | undefined) {
      const route = `/site-${++n}/`;
      if (html !== undefined) pages.set(route, html);
      return `${server.url}${route}`;
    },
  };
}

browserDescribe('browser site checker in Chromium', () => {
  siteCheckerContract(api, 'chromium checker over HTTP', async () => {
    const { server, serve } = await pageServer();
    return {
      checker: createBrowserSiteChecker({ executablePath: chromium ?? '/usr/bin/chromium' }),
      serve: async (html: string | undefined) => serve(html),
      dispose: () => server.close(),
    };
  });

  siteCheckerContract(api, 'chromium checker on file URLs', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'mvp-browser-check-'));
    let n = 0;
    return {
      checker: createBrowserSiteChecker({ executablePath: chromium ?? '/usr/bin/chromium' }),
      async serve(html: string | undefined) {
        const file = path.join(root, `site-${++n}`, 'index.html');
        if (html !== undefined) {
          await mkdir(path.dirname(file), { recursive: true });
          await writeFile(file, html);
        }
        return pathToFileURL(file).href;
      },
      dispose: () => rm(root, { recursive: true, force: true }),
    };
  });

  describe('what only a browser sees', () => {
    let pages: Awaited<ReturnType<typeof pageServer>> | undefined;
    beforeEach(async () => {
      pages = await pageServer();
    });
    afterEach(() => pages?.server.close());
    const checker = () => createBrowserSiteChecker({ executablePath: chromium ?? '/usr/bin/chromium' });

    it('passes a good page as checker chromium, with no notes', async () => {
      const url = pages!.serve('<!doctype html><title>EventHub</title><h1>EventHub</h1>');
      expect(await checker().check({ url, expectText: 'EventHub' })).toEqual({
        ok: true,
        problems: [],
        checker: 'chromium',
      });
    });

    it('fails a page that logs a console error, quoting it', async () => {
      const url = pages!.serve(
        '<!doctype html><h1>EventHub</h1><script>console.error("boom: widget missing")</script>',
      );
      const result = await checker().check({ url, expectText: 'EventHub' });
      expect(result.ok).toBe(false);
      expect(result.checker).toBe('chromium');
      expect(result.problems).toContain('console error: boom: widget missing');
    });

    it('fails a page whose script throws', async () => {
      const url = pages!.serve('<!doctype html><h1>EventHub</h1><script>null.render()</script>');
      const result = await checker().check({ url, expectText: 'EventHub' });
      expect(result.ok).toBe(false);
      expect(result.problems.join(' ')).toMatch(/uncaught error: .*null/);
    });

    it('fails a page whose stylesheet is missing (the browser logs the 404)', async () => {
      const url = pages!.serve('<!doctype html><link rel="stylesheet" href="missing.css"><h1>EventHub</h1>');
      const result = await checker().check({ url, expectText: 'EventHub' });
      expect(result.ok).toBe(false);
      expect(result.problems.join(' ')).toMatch(/console error: .*404/);
    });

    it('reads visible text only: a name hidden by CSS or written only by markup does not count', async () => {
      const hidden = pages!.serve('<!doctype html><h1 style="display:none">EventHub</h1><p>Welcome</p>');
      expect((await checker().check({ url: hidden, expectText: 'EventHub' })).problems[0]).toMatch(
        /does not show "EventHub"/,
      );
      const rendered = pages!.serve(
        '<!doctype html><h1 id="t"></h1><script>document.getElementById("t").textContent = "EventHub"</script>',
      );
      expect((await checker().check({ url: rendered, expectText: 'EventHub' })).ok).toBe(true);
    });

    it('shows a product name with markup characters as the page shows it', async () => {
      const url = pages!.serve('<!doctype html><h1>&lt;b&gt;Q&amp;A&lt;/b&gt; "Now"</h1>');
      expect((await checker().check({ url, expectText: '<b>Q&A</b> "Now"' })).ok).toBe(true);
    });

    it('never shows URL credentials or the query in its problems', async () => {
      const url = `${pages!.serve(undefined).replace('http://', 'http://user:s3cr3t-pass@')}?token=abcdef123456`;
      const result = await checker().check({ url, expectText: 'EventHub' });
      expect(result.ok).toBe(false);
      expect(result.problems.join(' ')).not.toMatch(/s3cr3t|abcdef123456|user:/);
    });

    it('sends the given headers with the page’s own requests only, not to other origins', async () => {
      const secret = 'bypass-Zq8pL2vN5xR7tY1wK4mB6cD9';
      const elsewhere: Array<string | undefined> = [];
      const other = await listen((req, res) => {
        elsewhere.push(req.headers['x-vercel-protection-bypass'] as string | undefined);
        res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><h1>EventHub elsewhere</h1>');
      });
      const own = await listen((req, res) => {
        if (req.headers['x-vercel-protection-bypass'] !== secret) {
          res.writeHead(401, { 'content-type': 'text/html' }).end('<h1>Authentication Required</h1>');
        } else if (req.url === '/app.js') {
          res.writeHead(200, { 'content-type': 'text/javascript' }).end('document.body.append("EventHub");');
        } else if (req.url === '/away') {
          res.writeHead(302, { location: `${other.url}/page` }).end();
        } else {
          res
            .writeHead(200, { 'content-type': 'text/html' })
            .end('<!doctype html><body><script src="/app.js"></script></body>');
        }
      });
      try {
        const headers = { 'x-vercel-protection-bypass': secret };
        // The page and its own script both need the header: the text is written by the script.
        const passed = await checker().check({ url: `${own.url}/`, expectText: 'EventHub', headers });
        expect(passed.problems).toEqual([]);
        const refused = await checker().check({ url: `${own.url}/`, expectText: 'EventHub' });
        expect(refused.problems.join(' ')).toMatch(/answered 401/);
        // A redirect to another origin arrives there without the header.
        const away = await checker().check({ url: `${own.url}/away`, expectText: 'EventHub', headers });
        expect(away.problems).toEqual([]);
        expect(elsewhere).toEqual([undefined]);
        expect(JSON.stringify([passed, refused, away])).not.toContain(secret);
      } finally {
        await Promise.all([own.close(), other.close()]);
      }
    });

    it('throws the reason when its signal aborts', async () => {
      const slow = await listen(() => undefined);
      try {
        const controller = new AbortController();
        const check = checker().check({ url: slow.url, expectText: 'x', signal: controller.signal });
        setTimeout(() => controller.abort(new Error('stop')), 500);
        await expect(check).rejects.toThrow('stop');
      } finally {
        await slow.close();
      }
    });
  });
});

describe('browser site checker without Chromium', () => {
  it('falls back to the http check and says the browser check was skipped', async () => {
    const pages = await pageServer();
    try {
      const checker = createBrowserSiteChecker({ executablePath: '/nonexistent/chromium' });
      const url = pages.serve('<!doctype html><h1>EventHub</h1>');
      expect(await checker.check({ url, expectText: 'EventHub' })).toEqual({
        ok: true,
        problems: [],
        checker: 'http',
        notes: ['chromium not found: browser check skipped'],
      });
      const missing = await checker.check({ url: pages.serve(undefined), expectText: 'EventHub' });
      expect(missing).toMatchObject({ ok: false, checker: 'http' });
      expect(missing.notes).toEqual(['chromium not found: browser check skipped']);
    } finally {
      await pages.server.close();
    }
  });

  it('refuses schemes it cannot load without trying a browser', async () => {
    const result = await createBrowserSiteChecker().check({ url: 'ftp://example.com/', expectText: 'x' });
    expect(result.problems[0]).toMatch(/cannot check ftp:/);
  });
});
