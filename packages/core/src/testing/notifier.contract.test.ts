import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { PermanentError, RateLimitedError, TransientError } from '../errors.js';
import type { JobNotification, Notifier } from '../ports/notifier.port.js';
import { faultyFetch } from './faults.js';
import { type NotifierHarness, notifierContract } from './notifier.contract.js';
import { contractCases } from './test-api.js';

/** A receiver on 127.0.0.1 that keeps what it is sent. */
async function receiver() {
  const received: JobNotification[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      received.push(JSON.parse(body) as JobNotification);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    received,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A webhook notifier, right unless `broken`: then it maps nothing and ignores its signal. */
function webhook(url: string, fetchFn: typeof fetch, broken: boolean): Notifier {
  return {
    specificationVersion: 'v1',
    async notify({ notification, signal }) {
      const init = { method: 'POST', body: JSON.stringify(notification) };
      if (broken) {
        const response = await fetchFn(url, init);
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return;
      }
      signal?.throwIfAborted();
      let response: Response;
      try {
        response = await fetchFn(url, { ...init, ...(signal ? { signal } : {}) });
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        throw new TransientError(`The receiver did not answer: ${(error as Error).message}`);
      }
      if (response.ok) return;
      if (response.status === 429)
        throw new RateLimitedError('The receiver is rate limiting', {
          retryAfterMs: Number(response.headers.get('retry-after')) * 1000,
        });
      if (response.status >= 500) throw new TransientError(`The receiver answered ${response.status}`);
      throw new PermanentError(`The receiver refused the notification (${response.status})`);
    },
  };
}

async function failures(broken: boolean) {
  const cases = contractCases(expect, (t) =>
    notifierContract(
      t,
      'meta',
      async (): Promise<NotifierHarness> => {
        const target = await receiver();
        const faults = faultyFetch();
        return {
          notifier: webhook(target.url, faults.fetch, broken),
          faults,
          delivered: async () => target.received,
          dispose: async () => {
            await faults.clear();
            await target.close();
          },
        };
      },
      { network: true },
    ),
  );
  const failed: Array<{ name: string; message: string }> = [];
  for (const c of cases) {
    try {
      await c.run();
    } catch (error) {
      failed.push({ name: c.name, message: String(error).replace(/\s+/g, ' ') });
    }
  }
  return failed;
}

describe('the Notifier contract suite catches a broken notifier', () => {
  it('passes a notifier that does it right', async () => {
    expect(await failures(false)).toEqual([]);
  });

  it('fails one that maps no errors and ignores its signal, saying what to fix', async () => {
    const failed = await failures(true);
    const named = (pattern: RegExp) => failed.find((f) => pattern.test(f.name))?.message;
    expect(named(/maps connection-refused/)).toMatch(/raw TypeError: fetch failed.*TransientError/);
    expect(named(/maps server-error/)).toMatch(/raw Error: HTTP 503.*TransientError/);
    expect(named(/maps client-error/)).toMatch(/raw Error: HTTP 400.*PermanentError/);
    expect(named(/maps rate-limited/)).toMatch(/raw Error: HTTP 429.*RateLimitedError/);
    expect(named(/aborted before it starts/)).toMatch(/must reject with signal.reason/);
  }, 30_000);
});
