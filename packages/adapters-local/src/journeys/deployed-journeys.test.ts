// The live journeys DEPLOYING walks, against the fake server app behind a protection wall: the
// bypass header goes with every request, a throwaway member makes and reads back a row (the owner
// claim is never used), production is only looked at, and a wall without the header fails.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningApp, serverAppOf, startServerApp } from '../apps/server-app.js';
import { FAKE_APP_MODEL, writeFakeServerApp } from '../testing/fake-server-app.js';
import { runDeployedJourneys } from './deployed-journeys.js';

const BYPASS = 'bypass-secret-0123456789abcdef0123';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** The fake app behind a wall like Vercel's Standard Protection: 401 without the bypass header. */
async function protectedApp(): Promise<{ url: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mvp-live-journeys-'));
  const manifest = await writeFakeServerApp(dir);
  const started = await startServerApp({
    dir,
    app: serverAppOf(manifest),
    databaseUrl: `postgresql://u:p@127.0.0.1:1/db?state=${encodeURIComponent(dir)}`,
    timeoutMs: 20_000,
  });
  if (!started.ok) throw new Error(started.failure);
  const app: RunningApp = started.running;
  const wall = createServer(async (req, res) => {
    if (req.headers['x-vercel-protection-bypass'] !== BYPASS) {
      res.writeHead(401, { 'content-type': 'text/html' }).end('Authentication Required');
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
    const answer = await fetch(`${app.url}${req.url}`, {
      method: req.method ?? 'GET',
      headers,
      redirect: 'manual',
      ...(chunks.length ? { body: Buffer.concat(chunks) } : {}),
    });
    const out: Record<string, string | string[]> = {
      'content-type': answer.headers.get('content-type') ?? 'text/plain',
    };
    const cookies = answer.headers.getSetCookie();
    if (cookies.length) out['set-cookie'] = cookies;
    res.writeHead(answer.status, out).end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise<void>((resolve) => wall.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    wall.close();
    await app.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return { url: `http://127.0.0.1:${(wall.address() as AddressInfo).port}` };
}

/** A fetch that records each call's method and path, and whether it carried the bypass. */
function recording() {
  const calls: string[] = [];
  const doFetch: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const headers = new Headers(init?.headers);
    calls.push(
      `${init?.method ?? 'GET'} ${url.pathname}${headers.get('x-vercel-protection-bypass') === BYPASS ? '' : ' (no bypass)'}`,
    );
    return fetch(input, init);
  };
  return { calls, doFetch };
}

describe('live journeys', () => {
  it('walks staging as a throwaway member with the bypass on every request, and never claims the owner', async () => {
    const app = await protectedApp();
    const { calls, doFetch } = recording();
    const report = await runDeployedJourneys({
      baseUrl: app.url,
      model: FAKE_APP_MODEL as never,
      readyPath: '/api/health',
      headers: { 'x-vercel-protection-bypass': BYPASS },
      fetch: doFetch,
    });
    expect(report.results.filter((r) => !r.ok)).toEqual([]);
    expect(report.results.map((r) => r.name)).toEqual(['home', 'ready', 'sign-up', 'create:note']);
    expect(calls.every((c) => !c.includes('(no bypass)'))).toBe(true);
    expect(calls.some((c) => c.includes('/api/auth/claim'))).toBe(false);
    // Notes may be deleted by the owner only: the member's row stays, and the report says so.
    expect(report.left).toEqual([expect.stringMatching(/^notes\/n-/)]);
  });

  it('only looks at production: the home page and the readiness path, no write', async () => {
    const app = await protectedApp();
    const { calls, doFetch } = recording();
    const report = await runDeployedJourneys({
      baseUrl: app.url,
      model: FAKE_APP_MODEL as never,
      readyPath: '/api/health',
      headers: { 'x-vercel-protection-bypass': BYPASS },
      readOnly: true,
      fetch: doFetch,
    });
    expect(report.ok).toBe(true);
    expect(calls).toEqual(['GET /', 'GET /api/health']);
  });

  it('fails the home page and the readiness path behind the wall without the header', async () => {
    const app = await protectedApp();
    const report = await runDeployedJourneys({
      baseUrl: app.url,
      model: FAKE_APP_MODEL as never,
      readyPath: '/api/health',
      readOnly: true,
    });
    expect(report.ok).toBe(false);
    expect(report.results.map((r) => r.failure)).toEqual([
      expect.stringMatching(/GET \/ answered 401/),
      expect.stringMatching(/GET \/api\/health answered 401/),
    ]);
  });
});
