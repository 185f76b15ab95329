import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFileJobStore } from '@mvp-pipeline/adapters-local';
import { type Job, type JobStore, type Logger, TOKENS } from '@mvp-pipeline/core';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { type RunningServer, startServer } from './server.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function recordingLogger() {
  const lines: Array<{ message: string; fields?: Record<string, unknown> }> = [];
  const push = (message: string, fields?: Record<string, unknown>) =>
    lines.push({ message, ...(fields ? { fields } : {}) });
  const logger: Logger = { debug() {}, info() {}, warn: push, error: push };
  return { logger, lines };
}

/**
 * The file store with a switch that takes it down: every call fails with the untyped error of an
 * unreachable socket (the worker's own poll retries typed transient errors; this one gets past it).
 */
function flakyStore(inner: JobStore) {
  let down = false;
  const store = new Proxy(inner, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (down)
          return Promise.reject(
            Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { code: 'ECONNREFUSED' }),
          );
        return value.apply(target, args);
      };
    },
  });
  return {
    store,
    set down(value: boolean) {
      down = value;
    },
  };
}

async function start(configure?: (dataDir: string) => Parameters<typeof startServer>[0]['configure']) {
  const dataDir = await mkdtemp(join(tmpdir(), 'mvp-serve-robust-'));
  cleanup.push(() => rm(dataDir, { recursive: true, force: true, maxRetries: 3 }));
  const { logger, lines } = recordingLogger();
  const server: RunningServer = await startServer({
    config: loadConfig(
      { MVP_DATA_DIR: dataDir, MVP_NOTIFIER: 'none', MVP_BROWSER_CHECK: 'off', MVP_TEMPLATE: 'landing' },
      dataDir,
    ),
    port: 0,
    logger,
    settings: { flushIntervalMs: 50, retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 40 } },
    ...(configure ? { configure: configure(dataDir) } : {}),
  });
  cleanup.push(() => server.close());
  return { server, dataDir, lines };
}

const post = (server: RunningServer, body: string) =>
  fetch(`${server.url}/api/mvp/deploy`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });

describe('mvp serve through a store outage', () => {
  it('keeps polling with the retry backoff, never crashes, and runs the job once the store is back', async () => {
    let flaky: ReturnType<typeof flakyStore> | undefined;
    const { server, lines } = await start((dataDir) => (c) => {
      flaky = flakyStore(createFileJobStore({ dataDir }));
      c.rebind<JobStore>(TOKENS.JobStore).toConstantValue(flaky.store);
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    cleanup.push(async () => process.off('unhandledRejection', onUnhandled));

    flaky!.down = true;
    // Several failed polls, each logged, none fatal.
    for (
      let i = 0;
      i < 200 && lines.filter((l) => /could not reach the job store/.test(l.message)).length < 3;
      i++
    )
      await new Promise((r) => setTimeout(r, 25));
    const failures = lines.filter((l) => /could not reach the job store/.test(l.message));
    expect(failures.length).toBeGreaterThanOrEqual(3);
    expect(failures[0]!.fields).toMatchObject({ error: expect.stringMatching(/ECONNREFUSED/) });
    expect((await fetch(`${server.url}/api/mvp/users`)).status).toBe(200);

    flaky!.down = false;
    const spec = JSON.parse(await readFile(join(root, 'examples/minimal.json'), 'utf8'));
    const response = await post(server, JSON.stringify({ spec }));
    expect(response.status).toBe(202);
    const { jobId } = (await response.json()) as { jobId: string };
    let job: Job | undefined;
    for (let i = 0; i < 600 && job?.status !== 'COMPLETED'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = (await (await fetch(`${server.url}/api/mvp/status/${jobId}`)).json()) as Job;
    }
    expect(job?.status).toBe('COMPLETED');
    expect(unhandled).toEqual([]);
  }, 90_000);
});

describe('POST /api/mvp/deploy with a spec nested thousands of levels deep', () => {
  it('answers 400 naming the field, not 500', async () => {
    const { server } = await start();
    const deep = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`;
    const body = `{"spec":{"user":{"id":"u","email":"a@b.co"},"product":{"id":"p","name":"N"},"specifications":{"customizations":${deep}}}}`;
    const response = await post(server, body);
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toMatch(
      /specifications\.customizations.*must be nested at most 32 levels deep/,
    );
  });

  it('answers 400 for deep JSON anywhere in the body', async () => {
    const { server } = await start();
    const arrays = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    for (const body of [
      arrays,
      `{"userId":${arrays},"productId":"p"}`,
      `{"spec":${arrays}}`,
      `{"spec":{"user":${arrays},"product":{"id":"p","name":"N"}}}`,
    ]) {
      const response = await post(server, body);
      expect(response.status, body.slice(0, 40)).toBe(400);
    }
  });
});

describe('mvp serve start-up', () => {
  it('names a port that is in use', async () => {
    const { server, dataDir } = await start();
    const port = Number(new URL(server.url).port);
    const error = await startServer({
      config: loadConfig({ MVP_DATA_DIR: dataDir, MVP_NOTIFIER: 'none', MVP_TEMPLATE: 'landing' }, dataDir),
      port,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONFIG', message: `--port: 127.0.0.1:${port} is already in use` });
  });
});
