import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { JobNotification } from '@mvp-pipeline/core';
import { faultyFetch, notifierContract, sampleNotification } from '@mvp-pipeline/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createConsoleNotifier, createJsonlNotifier, readJsonl } from './console-jsonl-notifiers.js';
import { createWebhookNotifier, parseRetryAfter } from './webhook-notifier.js';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A webhook receiver on 127.0.0.1 that answers with the scripted replies in turn (then 200). */
async function webhookServer(replies: Array<(res: ServerResponse) => void> = []) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      const reply = replies.shift();
      if (reply) reply(res);
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/mvp`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const api = { describe, it, expect, beforeEach, afterEach };

notifierContract(
  api,
  'JSONL notifier',
  async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'mvp-notify-'));
    const file = path.join(root, 'nested', 'notifications.jsonl');
    return {
      notifier: createJsonlNotifier({ path: file }),
      delivered: async () => (await readJsonl(file)) as unknown as JobNotification[],
      dispose: () => rm(root, { recursive: true, force: true }),
    };
  },
  { deduplicates: true },
);

notifierContract(
  api,
  'webhook notifier',
  async () => {
    const server = await webhookServer();
    const faults = faultyFetch();
    return {
      notifier: createWebhookNotifier({ url: server.url, fetch: faults.fetch, retryBaseDelayMs: 1 }),
      faults,
      delivered: async () => server.received.map((r) => JSON.parse(r.body) as JobNotification),
      dispose: () => server.close(),
    };
  },
  { network: true },
);

describe('console notifier', () => {
  it('writes one readable line per notification', async () => {
    const lines: string[] = [];
    const notifier = createConsoleNotifier({ write: (line) => lines.push(line) });
    await notifier.notify({ notification: sampleNotification(), idempotencyKey: 'job_n1:COMPLETED' });
    await notifier.notify({
      notification: sampleNotification({
        status: 'FAILED',
        currentStep: 'BUILDING',
        error: { step: 'BUILDING', code: 'BUILD_FAILED', message: 'npm run build exited 1\nat line 3' },
      }),
      idempotencyKey: 'job_n1:FAILED',
    });
    expect(lines).toEqual([
      '✔ EventHub is ready: live at https://eventhub.example.com, code at https://example.com/repo [job job_n1]',
      '✖ EventHub failed at BUILDING (BUILD_FAILED): npm run build exited 1 at line 3 [job job_n1]',
    ]);
  });

  it('says what a completed job delivers: a working app or a landing page, each feature built or not', async () => {
    const lines: string[] = [];
    const notifier = createConsoleNotifier({ write: (line) => lines.push(line) });
    const app = {
      kind: 'app' as const,
      features: [
        { feature: 'Event page with RSVP', builtBy: 'recipe' as const, recipe: 'rsvp' },
        { feature: 'Payments', builtBy: null },
      ],
      journeys: { mode: 'browser' as const, ok: false, passed: 2, total: 3, failed: ['visitor RSVPs'] },
    };
    await notifier.notify({ notification: sampleNotification({ delivery: app }), idempotencyKey: 'a' });
    await notifier.notify({
      notification: sampleNotification({
        delivery: { kind: 'landing-page-only', features: [{ feature: 'Waitlist', builtBy: null }] },
      }),
      idempotencyKey: 'b',
    });
    expect(lines).toEqual([
      '✔ EventHub is ready as a working app, 1 of 2 key features not built: live at https://eventhub.example.com, ' +
        'code at https://example.com/repo. Built: Event page with RSVP (recipe rsvp). Not built: Payments. ' +
        'Journeys in a browser: 2 of 3 passed (failed: visitor RSVPs). [job job_n1]',
      '✔ EventHub is ready as a landing page only: live at https://eventhub.example.com, code at https://example.com/repo. ' +
        'Not built: Waitlist. [job job_n1]',
    ]);
  });

  it('redacts anything shaped like a token', async () => {
    const lines: string[] = [];
    const token = `ghp_${'a'.repeat(36)}`;
    await createConsoleNotifier({ write: (line) => lines.push(line) }).notify({
      notification: sampleNotification({
        status: 'FAILED',
        error: { step: 'CREATING_REPO', code: 'PERMANENT', message: `bad token ${token}` },
      }),
      idempotencyKey: 'k',
    });
    expect(lines[0]).not.toContain(token);
  });
});

describe('JSONL notifier', () => {
  it('appends one line per key and writes a repeated key once', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'mvp-notify-'));
    try {
      const file = path.join(root, 'n.jsonl');
      const notifier = createJsonlNotifier({ path: file });
      await notifier.notify({ notification: sampleNotification(), idempotencyKey: 'job_n1:COMPLETED' });
      await notifier.notify({ notification: sampleNotification(), idempotencyKey: 'job_n1:COMPLETED' });
      const lines = (await readFile(file, 'utf8')).trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ idempotencyKey: 'job_n1:COMPLETED', jobId: 'job_n1' });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('webhook notifier', () => {
  let server: Awaited<ReturnType<typeof webhookServer>> | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const fast = { retryBaseDelayMs: 1, random: () => 0.5 };

  it('POSTs JSON with the idempotency key and sends URL credentials as Basic auth', async () => {
    server = await webhookServer();
    const url = server.url.replace('http://', 'http://hook:p%40ssw0rd-long@');
    await createWebhookNotifier({ url }).notify({
      notification: sampleNotification(),
      idempotencyKey: 'job_n1:COMPLETED',
    });
    const [request] = server.received;
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['idempotency-key']).toBe('job_n1:COMPLETED');
    expect(request?.headers.authorization).toBe(
      `Basic ${Buffer.from('hook:p@ssw0rd-long').toString('base64')}`,
    );
    expect(JSON.parse(request!.body)).toEqual(sampleNotification());
  });

  it('retries 5xx and 429, honouring Retry-After, with the same idempotency key', async () => {
    server = await webhookServer([
      (res) => res.writeHead(503).end(),
      (res) => res.writeHead(429, { 'retry-after': '0' }).end(),
    ]);
    await createWebhookNotifier({ url: server.url, ...fast }).notify({
      notification: sampleNotification(),
      idempotencyKey: 'job_n1:COMPLETED',
    });
    expect(server.received.map((r) => r.headers['idempotency-key'])).toEqual([
      'job_n1:COMPLETED',
      'job_n1:COMPLETED',
      'job_n1:COMPLETED',
    ]);
  });

  it('gives up after its retries with a TransientError that hides the URL and its secrets', async () => {
    const always503 = Array.from(
      { length: 5 },
      () => (res: ServerResponse) =>
        res.writeHead(503).end(`upstream ${server!.url}?token=t0ps3cr3tvalue down`),
    );
    server = await webhookServer(always503);
    const url = `${server.url.replace('http://', 'http://hook:hunter2-long@')}?token=t0ps3cr3tvalue`;
    const error = (await createWebhookNotifier({ url, retries: 2, ...fast })
      .notify({ notification: sampleNotification(), idempotencyKey: 'k' })
      .catch((e: unknown) => e)) as Error & { code: string };
    expect(server.received).toHaveLength(3);
    expect(error.code).toBe('TRANSIENT');
    expect(error.message).toMatch(/answered 503 Service Unavailable.*gave up after 3 attempts/);
    expect(error.message).not.toMatch(/hunter2|t0ps3cr3tvalue|\/hooks\/mvp/);
  });

  it('fails at once on a 4xx with a PermanentError', async () => {
    server = await webhookServer([(res) => res.writeHead(401).end('bad signature')]);
    const run = createWebhookNotifier({ url: server.url, ...fast }).notify({
      notification: sampleNotification(),
      idempotencyKey: 'k',
    });
    await expect(run).rejects.toMatchObject({
      code: 'PERMANENT',
      message: expect.stringMatching(/refused the notification with 401 Unauthorized: bad signature/),
    });
    expect(server.received).toHaveLength(1);
  });

  it('does not wait for a Retry-After longer than 30 s: RateLimitedError with the wait', async () => {
    server = await webhookServer([(res) => res.writeHead(429, { 'retry-after': '120' }).end()]);
    const run = createWebhookNotifier({ url: server.url, ...fast }).notify({
      notification: sampleNotification(),
      idempotencyKey: 'k',
    });
    await expect(run).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 120_000 });
  });

  it('retries an endpoint that does not answer in time', async () => {
    server = await webhookServer([() => undefined]);
    await createWebhookNotifier({ url: server.url, timeoutMs: 300, ...fast }).notify({
      notification: sampleNotification(),
      idempotencyKey: 'k',
    });
    expect(server.received).toHaveLength(2);
  });

  it('refuses a URL that is not http(s) without repeating it', () => {
    expect(() => createWebhookNotifier({ url: 'not a url with s3cret' })).toThrow(
      /url: must be an http\(s\) URL/,
    );
    try {
      createWebhookNotifier({ url: 'not a url with s3cret' });
    } catch (error) {
      expect(String(error)).not.toContain('s3cret');
    }
  });

  it('stops when its signal aborts', async () => {
    server = await webhookServer([() => undefined]);
    const controller = new AbortController();
    const run = createWebhookNotifier({ url: server.url, ...fast }).notify({
      notification: sampleNotification(),
      idempotencyKey: 'k',
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error('stop')), 50);
    await expect(run).rejects.toThrow('stop');
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(
      parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')),
    ).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});
