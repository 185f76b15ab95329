import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { siteCheckerContract } from '@mvp-pipeline/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHttpSiteChecker, pageText } from './site-checker.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function listen(handler: Handler): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(handler);
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

const api = { describe, it, expect, beforeEach, afterEach };

siteCheckerContract(api, 'http checker over HTTP', async () => {
  const pages = new Map<string, string>();
  const server = await listen((req, res) => {
    const html = pages.get(req.url ?? '');
    if (html === undefined) res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not found</h1>');
    else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
  });
  let n = 0;
  return {
    checker: createHttpSiteChecker(),
    async serve(html: string | undefined) {
      const route = `/site-${++n}/`;
      if (html !== undefined) pages.set(route, html);
      return `${server.url}${route}`;
    },
    dispose: () => server.close(),
  };
});

siteCheckerContract(api, 'http checker on file URLs', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'mvp-check-'));
  let n = 0;
  return {
    checker: createHttpSiteChecker(),
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

describe('http site checker', () => {
  let server: Awaited<ReturnType<typeof listen>> | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('sends the given headers to the URL’s origin only, never to where a redirect points', async () => {
    const secret = 'bypass-Zq8pL2vN5xR7tY1wK4mB6cD9';
    const elsewhere: Array<string | undefined> = [];
    const other = await listen((req, res) => {
      elsewhere.push(req.headers['x-vercel-protection-bypass'] as string | undefined);
      res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>EventHub elsewhere</h1>');
    });
    try {
      server = await listen((req, res) => {
        if (req.headers['x-vercel-protection-bypass'] !== secret) {
          res.writeHead(401, { 'content-type': 'text/html' }).end('<h1>Authentication Required</h1>');
        } else if (req.url === '/away') {
          res.writeHead(302, { location: `${other.url}/page` }).end();
        } else if (req.url === '/here') {
          res.writeHead(302, { location: '/page' }).end();
        } else {
          res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>EventHub</h1>');
        }
      });
      const checker = createHttpSiteChecker();
      const headers = { 'x-vercel-protection-bypass': secret };
      const refused = await checker.check({ url: `${server.url}/`, expectText: 'EventHub' });
      expect(refused.problems.join(' ')).toMatch(/answered 401/);
      expect(await checker.check({ url: `${server.url}/`, expectText: 'EventHub', headers })).toMatchObject({
        ok: true,
      });
      // A redirect within the origin keeps the headers; one to another origin drops them.
      expect(
        await checker.check({ url: `${server.url}/here`, expectText: 'EventHub', headers }),
      ).toMatchObject({
        ok: true,
      });
      const away = await checker.check({ url: `${server.url}/away`, expectText: 'EventHub', headers });
      expect(away.ok).toBe(true);
      expect(elsewhere).toEqual([undefined]);
      expect(JSON.stringify([refused, away])).not.toContain(secret);
    } finally {
      await other.close();
    }
  });

  it('reads the text a person sees: entities decoded, tags, scripts and styles left out', () => {
    const text = pageText(
      '<title>Caf&eacute; &amp; Co</title><style>h1{}</style><script>var x="EventHub"</script>' +
        '<h1>Tom &amp; Jerry&#39;s <b>Caf&#233;</b></h1><!-- EventHub -->&lt;script&gt;',
    );
    expect(text).toContain("Tom & Jerry's  Café ");
    expect(text).toContain('<script>');
    expect(text).not.toMatch(/EventHub|h1\{\}/);
  });

  it('passes a product name with markup characters, as the page escapes them', async () => {
    server = await listen((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<h1>Q&amp;A &lt;Live&gt; &quot;Now&quot;</h1>'),
    );
    const result = await createHttpSiteChecker().check({ url: server.url, expectText: 'Q&A <Live> "Now"' });
    expect(result).toEqual({ ok: true, problems: [], checker: 'http' });
  });

  it('fails a page that is not HTML, and says so', async () => {
    server = await listen((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('"EventHub"'),
    );
    const result = await createHttpSiteChecker().check({ url: server.url, expectText: 'EventHub' });
    expect(result.ok).toBe(false);
    expect(result.problems[0]).toMatch(/application\/json, not an HTML page/);
  });

  it('fails an error status with the status in words', async () => {
    server = await listen((_req, res) => res.writeHead(503, { 'content-type': 'text/html' }).end('EventHub'));
    const result = await createHttpSiteChecker().check({ url: `${server.url}/x`, expectText: 'EventHub' });
    expect(result.problems).toEqual([`${server.url}/x answered 503 Service Unavailable, not 200`]);
  });

  it('gives up on a server that does not answer in time', async () => {
    server = await listen(() => undefined);
    const result = await createHttpSiteChecker({ timeoutMs: 200 }).check({
      url: server.url,
      expectText: 'x',
    });
    expect(result.ok).toBe(false);
    expect(result.problems[0]).toMatch(/did not answer within/);
  });

  it('reports a server that cannot be reached', async () => {
    server = await listen(() => undefined);
    const url = server.url;
    await server.close();
    server = undefined;
    const result = await createHttpSiteChecker().check({ url, expectText: 'x' });
    expect(result.problems[0]).toMatch(/could not be reached \(ECONNREFUSED\)/);
  });

  it('sends URL credentials as Basic auth and never shows them or the query', async () => {
    let authorization: string | undefined;
    server = await listen((req, res) => {
      authorization = req.headers.authorization;
      res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Hello</h1>');
    });
    const url = server.url.replace('http://', 'http://user:s3cr3t-pass@') + '/p?token=abcdef123456';
    const result = await createHttpSiteChecker().check({ url, expectText: 'EventHub' });
    expect(authorization).toBe(`Basic ${Buffer.from('user:s3cr3t-pass').toString('base64')}`);
    expect(result.problems.join(' ')).not.toMatch(/s3cr3t|abcdef123456|user:/);
  });

  it('accepts a file URL of a folder holding index.html, and refuses other schemes', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'mvp-check-'));
    try {
      await writeFile(path.join(root, 'index.html'), '<h1>EventHub</h1>');
      const checker = createHttpSiteChecker();
      expect(await checker.check({ url: pathToFileURL(root).href, expectText: 'EventHub' })).toEqual({
        ok: true,
        problems: [],
        checker: 'file',
      });
      expect((await checker.check({ url: 'ftp://example.com/', expectText: 'x' })).problems[0]).toMatch(
        /cannot check ftp:/,
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('throws the reason when its signal aborts', async () => {
    server = await listen(() => undefined);
    const controller = new AbortController();
    const check = createHttpSiteChecker().check({
      url: server.url,
      expectText: 'x',
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error('stop')), 50);
    await expect(check).rejects.toThrow('stop');
  });
});
