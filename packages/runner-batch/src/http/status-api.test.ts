import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createMemoryTrigger } from '@mvp-pipeline/adapters-local';
import { type Job, type JobTrigger, runJob, TOKENS, TransientError } from '@mvp-pipeline/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testPipeline } from '../testing/serve-pipeline.js';
import { toLambdaHandler } from './lambda.js';
import { toNodeListener } from './node.js';
import { createStatusApi, type StatusApi } from './status-api.js';
import type { HttpRequest, HttpResponse } from './types.js';

const examples = fileURLToPath(new URL('../../../../examples/', import.meta.url));
const eventhub = async () => JSON.parse(await readFile(`${examples}eventhub.json`, 'utf8'));
const SECRETS = {
  GITHUB_TOKEN: `ghp_${'S'.repeat(36)}`,
  ANTHROPIC_API_KEY: `sk-ant-api03-${'K'.repeat(40)}`,
  FOUNDERDASH_DB_URL: 'postgres://founder:db-pass-123456@db.internal:5432/app',
};

const post = (body: unknown, headers: Record<string, string> = {}): HttpRequest => ({
  method: 'POST',
  path: '/api/mvp/deploy',
  query: {},
  headers: { 'content-type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});
const get = (path: string, query: Record<string, string> = {}): HttpRequest => ({
  method: 'GET',
  path,
  query,
  headers: {},
});
const bodyOf = (response: HttpResponse) => JSON.parse(response.body as string);

describe('the status API handlers', () => {
  let harness: Awaited<ReturnType<typeof testPipeline>>;
  let trigger: ReturnType<typeof createMemoryTrigger>;
  let api: StatusApi;

  beforeEach(async () => {
    trigger = createMemoryTrigger();
    harness = await testPipeline({
      env: SECRETS,
      configure: (c) => c.rebind<JobTrigger>(TOKENS.JobTrigger).toConstantValue(trigger),
    });
    await harness.pipeline.specFiles!.register(await eventhub());
    api = createStatusApi({
      deps: harness.pipeline.deps,
      registerSpec: (spec) => harness.pipeline.specFiles!.register(spec),
    });
  });
  afterEach(() => harness.dispose());

  it('queues a job for a known product and triggers with ids only, no secret', async () => {
    const response = await api.handle(post({ userId: 'user_12345', productId: 'product_67890' }));
    expect(response.status).toBe(202);
    const body = bodyOf(response);
    expect(body).toMatchObject({
      success: true,
      status: 'PENDING',
      currentStep: 'QUEUED',
      progress: 0,
      businessName: 'EventHub',
      statusUrl: `/api/mvp/status/${body.jobId}`,
    });
    expect(trigger.requests).toEqual([
      { jobId: body.jobId, userId: 'user_12345', productId: 'product_67890' },
    ]);
    const sent = JSON.stringify(trigger.requests) + (response.body as string);
    for (const secret of Object.values(SECRETS)) expect(sent).not.toContain(secret);
    expect(bodyOf(await api.handle(get(`/api/mvp/status/${body.jobId}`)))).toMatchObject({
      jobId: body.jobId,
      userId: 'user_12345',
      status: 'PENDING',
    });
  });

  it('queues a job from a spec object, registering the spec', async () => {
    const spec = await eventhub();
    spec.product = { ...spec.product, id: 'p_new', name: 'Brand New' };
    const response = await api.handle(post({ spec, template: 'landing' }));
    expect(response.status, response.body as string).toBe(202);
    expect(bodyOf(response).businessName).toBe('Brand New');
    expect(trigger.requests[0]).toMatchObject({ userId: 'user_12345', productId: 'p_new' });
    expect(
      (await harness.pipeline.specFiles!.getSpec({ userId: 'user_12345', productId: 'p_new' })).spec,
    ).toBeTruthy();
  });

  it('refuses a bad body with 400 and an issue naming each field, and triggers nothing', async () => {
    const response = await api.handle(
      post({ userId: '', productId: 'has space', template: 'Bad_Name', token: SECRETS.GITHUB_TOKEN }),
    );
    expect(response.status).toBe(400);
    const { error, issues } = bodyOf(response);
    expect(error).toMatch(/^Invalid deploy request/);
    expect(issues.map((i: { path: string }) => i.path).sort()).toEqual([
      'productId',
      'template',
      'token',
      'userId',
    ]);
    expect(response.body).not.toContain(SECRETS.GITHUB_TOKEN);
    expect(trigger.requests).toEqual([]);
  });

  it('names the spec fields that are wrong, under spec.', async () => {
    const spec = await eventhub();
    spec.product.name = '';
    delete spec.user.email;
    const response = await api.handle(post({ spec, userId: 'someone_else' }));
    expect(response.status).toBe(400);
    expect(bodyOf(response).issues).toEqual([
      { path: 'userId', message: expect.stringMatching(/not allowed/) },
    ]);
    const second = await api.handle(post({ spec }));
    expect(
      bodyOf(second)
        .issues.map((i: { path: string }) => i.path)
        .sort(),
    ).toEqual(['spec.product.name', 'spec.user.email']);
  });

  it('answers body problems with 400, 413 and 415', async () => {
    const notJson = await api.handle(post('{"userId":'));
    expect(notJson.status).toBe(400);
    expect(bodyOf(notJson).error).toMatch(/not valid JSON/);
    expect((await api.handle(post([1, 2]))).status).toBe(400);
    expect((await api.handle(post(''))).status).toBe(400);
    expect((await api.handle(post('x'.repeat(300 * 1024)))).status).toBe(413);
    const form = await api.handle(post('userId=u&productId=p', { 'content-type': 'text/plain' }));
    expect(form.status).toBe(415);
  });

  it('answers 404 for an unknown job or product, 400 for a malformed id', async () => {
    const unknown = await api.handle(get('/api/mvp/status/job_nope'));
    expect(unknown.status).toBe(404);
    expect(bodyOf(unknown)).toEqual({ error: 'No job with id job_nope' });
    expect((await api.handle(get('/api/mvp/status/..%2Fetc'))).status).toBe(400);
    expect((await api.handle(get('/api/mvp/status/%E0%A4%A'))).status).toBe(400);
    const product = await api.handle(post({ userId: 'user_12345', productId: 'product_nope' }));
    expect(product.status).toBe(404);
    expect((await api.handle(get('/api/mvp/nothing'))).status).toBe(404);
  });

  it('answers 405 with Allow for a wrong method, and leaves other paths to other handlers', async () => {
    const response = await api.handle({ ...get('/api/mvp/deploy'), method: 'GET' });
    expect(response.status).toBe(405);
    expect(response.headers['allow']).toBe('POST');
    expect((await api.handle({ ...post({}), path: '/api/mvp/status/job_1' })).headers['allow']).toBe(
      'GET, HEAD',
    );
    expect(await api.route(get('/elsewhere'))).toBeUndefined();
    expect(await api.route(get('/api/mvpx'))).toBeUndefined();
    expect((await api.handle(get('/elsewhere'))).status).toBe(404);
  });

  it('lists a user’s jobs newest first, a page at a time, and validates the query', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(bodyOf(await api.handle(post({ userId: 'user_12345', productId: 'product_67890' }))).jobId);
    }
    const first = bodyOf(await api.handle(get('/api/mvp/jobs', { userId: 'user_12345', limit: '2' })));
    expect(first.jobs.map((j: Job) => j.jobId)).toEqual([ids[2], ids[1]]);
    const second = bodyOf(
      await api.handle(get('/api/mvp/jobs', { userId: 'user_12345', limit: '2', cursor: first.nextCursor })),
    );
    expect(second.jobs.map((j: Job) => j.jobId)).toEqual([ids[0]]);
    expect(second.nextCursor).toBeUndefined();
    const bad = await api.handle(get('/api/mvp/jobs', { limit: '0' }));
    expect(bad.status).toBe(400);
    expect(
      bodyOf(bad)
        .issues.map((i: { path: string }) => i.path)
        .sort(),
    ).toEqual(['limit', 'userId']);
  });

  it('refuses a spec where no spec source takes one', async () => {
    const plain = createStatusApi({ deps: harness.pipeline.deps });
    const response = await plain.handle(post({ spec: await eventhub() }));
    expect(response.status).toBe(400);
    expect(bodyOf(response).issues).toEqual([{ path: 'spec', message: expect.stringMatching(/userId/) }]);
  });

  it('answers 503 when the queue cannot be reached, without the secret in its error', async () => {
    trigger.trigger = async () => {
      throw new TransientError(`EventBridge refused token ${SECRETS.GITHUB_TOKEN}`);
    };
    const response = await api.handle(post({ userId: 'user_12345', productId: 'product_67890' }));
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBeDefined();
    expect(response.body).not.toContain(SECRETS.GITHUB_TOKEN);
  });

  it('mounts as a Lambda handler for both API Gateway payload versions', async () => {
    const lambda = toLambdaHandler(api.route);
    const created = await lambda({
      rawPath: '/api/mvp/deploy',
      requestContext: { http: { method: 'POST' } },
      headers: { 'Content-Type': 'application/json' },
      body: Buffer.from(JSON.stringify({ userId: 'user_12345', productId: 'product_67890' })).toString(
        'base64',
      ),
      isBase64Encoded: true,
    });
    expect(created.statusCode).toBe(202);
    const { jobId } = JSON.parse(created.body);
    const status = await lambda({ httpMethod: 'GET', path: `/api/mvp/status/${jobId}`, headers: null });
    expect(status.statusCode).toBe(200);
    expect(JSON.parse(status.body).jobId).toBe(jobId);
    expect((await lambda({ httpMethod: 'GET', path: '/other' })).statusCode).toBe(404);
  });
});

describe('the status API on node:http', () => {
  let harness: Awaited<ReturnType<typeof testPipeline>>;
  let server: Server;
  let base: string;
  let passedOn: string[];

  beforeEach(async () => {
    harness = await testPipeline();
    await harness.pipeline.specFiles!.register(await eventhub());
    const api = createStatusApi({
      deps: harness.pipeline.deps,
      registerSpec: (spec) => harness.pipeline.specFiles!.register(spec),
      events: { pollMs: 50 },
    });
    passedOn = [];
    const listener = toNodeListener(api.route, { maxBodyBytes: 4096 });
    server = createServer((req, res) => {
      // As Express would: a parsed body on the request, and `next` for paths the API does not know.
      if (req.headers['x-parsed-body'])
        Object.assign(req, { body: JSON.parse(String(req.headers['x-parsed-body'])) });
      listener(req, res, () => {
        passedOn.push(req.url ?? '');
        res.writeHead(418).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await harness.dispose();
  });

  const submit = async () => {
    const response = await fetch(`${base}/api/mvp/deploy`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'user_12345', productId: 'product_67890' }),
    });
    expect(response.status).toBe(202);
    return (await response.json()) as { jobId: string; eventsUrl: string };
  };

  it('caps the request body at 413, and uses a body a framework parsed already', async () => {
    const big = await fetch(`${base}/api/mvp/deploy`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'x'.repeat(8000) }),
    });
    expect(big.status).toBe(413);
    const parsed = await fetch(`${base}/api/mvp/deploy`, {
      method: 'POST',
      headers: { 'x-parsed-body': JSON.stringify({ userId: 'user_12345', productId: 'product_67890' }) },
    });
    expect(parsed.status).toBe(202);
    expect((await fetch(`${base}/not-the-api`)).status).toBe(418);
    expect(passedOn).toEqual(['/not-the-api']);
  });

  it('streams a job’s steps, log lines, links and usage as Server-Sent Events, ending with it', async () => {
    const { jobId, eventsUrl } = await submit();
    const response = await fetch(`${base}${eventsUrl}`);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const run = runJob(harness.pipeline.deps, { jobId });
    let text = '';
    const decoder = new TextDecoder();
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
    }
    await run;
    const events = text
      .split('\n\n')
      .filter((block) => block.startsWith('event: '))
      .map((block) => {
        const [event, , data] = block.split('\n');
        return { event: event!.slice(7), data: JSON.parse(data!.slice(6)) };
      });
    expect(events[0]).toMatchObject({ event: 'snapshot', data: { jobId, status: 'PENDING' } });
    expect(events.at(-1)).toEqual({ event: 'end', data: { status: 'COMPLETED' } });
    const steps = events.filter((e) => e.event === 'step').map((e) => e.data.currentStep);
    expect(steps.at(-1)).toBe('COMPLETED');
    expect(steps.length).toBeGreaterThanOrEqual(2);
    const logs = events.filter((e) => e.event === 'log').flatMap((e) => e.data.entries);
    expect(logs.map((l: { message: string }) => l.message)).toContain(
      'Live at ' + (await final(jobId)).urls.production,
    );
    // Every line of the history arrives once, in order.
    const history = await harness.pipeline.deps.ports.store.readHistory({ jobId });
    expect(logs).toEqual(history.logs);
    expect(events.some((e) => e.event === 'urls' && e.data.urls.production)).toBe(true);
    expect(events.some((e) => e.event === 'usage')).toBe(true);
  });

  it('answers the stream of an unknown job with 404 JSON', async () => {
    const response = await fetch(`${base}/api/mvp/jobs/job_nope/events`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'No job with id job_nope' });
  });

  const final = async (jobId: string) => (await harness.pipeline.deps.ports.store.get({ jobId })).job!;
});
