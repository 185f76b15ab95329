import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClaudeCodeGenerator } from '@mvp-pipeline/adapters-claude';
import {
  endTurn,
  type ScriptContext,
  scripted,
  startMessagesStandIn,
  toolCalls,
  writeTinyTemplate,
} from '@mvp-pipeline/adapters-claude/testing';
import {
  cancelJob,
  getJob,
  type Job,
  PipelineError,
  type ProductSpec,
  runJob,
  submitJob,
} from '@mvp-pipeline/core';
import { recordingReporter } from '@mvp-pipeline/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigErrors, loadConfig } from '../config.js';
import {
  CLI,
  evidence,
  FAKE_SECRETS,
  filesContaining,
  leakedIn,
  openPipeline,
  PROOF_ENV,
  type ProofPipeline,
  REPO_ROOT,
  removeDir,
  runCli,
  SECRET_NEEDLES,
  snapshot,
  tempDir,
} from './harness.js';

// Bad input at every edge: specs, job requests and events, configuration, and the code
// generator's tool calls. Each must get a clear, typed error (naming the field where there is
// one) or, for hostile text that is valid, be carried as text; no process may crash, nothing
// may be written outside the data dir and the job's workspace (a sentinel directory is
// snapshotted around the whole file), and no secret may appear in any output.

let root: string;
let sentinel: string;
let before: string[];
let pipeline: ProofPipeline;
/** Every message, output and record produced here, grepped for secrets at the end. */
const outputs: string[] = [];
let cases = 0;
const savedEnv = { ...process.env };

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error('The runner is not built: run `pnpm build` (npm test does) first');
  // The secrets live in the environment, as in production: commands and outputs must not show them.
  Object.assign(process.env, FAKE_SECRETS);
  root = await tempDir('bad-input');
  sentinel = join(root, 'sentinel');
  await mkdir(join(sentinel, 'nested'), { recursive: true });
  await writeFile(join(sentinel, 'keep.txt'), 'keep me\n');
  await writeFile(join(sentinel, 'nested', 'secret.txt'), 'TOP-SECRET-CONTENT\n');
  before = await snapshot(sentinel);
  pipeline = await openPipeline({
    dataDir: join(root, 'data'),
    settings: { retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50 } },
  });
});

afterAll(async () => {
  await pipeline?.close();
  process.env = savedEnv;
  await removeDir(root);
});

/** The error `work` throws, which must be one of ours. */
async function typedError(work: () => unknown): Promise<PipelineError> {
  try {
    await work();
  } catch (error) {
    if (!PipelineError.isInstance(error)) throw new Error(`an untyped error escaped: ${String(error)}`);
    outputs.push(error.message);
    return error;
  }
  throw new Error('no error was raised');
}

const baseSpec = (): ProductSpec & Record<string, unknown> => ({
  user: { id: 'user_bad', email: 'founder@example.com' },
  product: { id: 'product_bad', name: 'Fine Name' },
  specifications: { keyFeatures: ['One feature'] },
});
const withProduct = (product: Record<string, unknown>) => ({
  ...baseSpec(),
  product: { ...baseSpec().product, ...product },
});
const withSpecs = (specifications: unknown) => ({ ...baseSpec(), specifications });
const withUser = (user: Record<string, unknown>) => ({
  ...baseSpec(),
  user: { ...baseSpec().user, ...user },
});

describe('specs that are rejected at the edge', () => {
  const rejected: Array<[string, unknown, RegExp]> = [
    ['missing altogether', undefined, /is required/],
    ['null', null, /must be an object, got null/],
    ['an array', [baseSpec()], /must be an object, got an array/],
    ['a string', 'EventHub', /must be an object, got a string/],
    ['no product name', withProduct({ name: undefined }), /product\.name: is required/],
    [
      'a product name that is a number',
      withProduct({ name: 42 }),
      /product\.name: must be a string, got a number/,
    ],
    ['a blank product name', withProduct({ name: ' \t ' }), /product\.name: must not be empty/],
    ['a product name too long', withProduct({ name: 'N'.repeat(121) }), /product\.name: must be at most 120/],
    [
      'a huge description',
      withProduct({ description: 'd'.repeat(20_001) }),
      /product\.description: must be at most 20000/,
    ],
    [
      'a NUL in the name',
      withProduct({ name: 'Event\u0000Hub' }),
      /product\.name: must not contain control characters/,
    ],
    [
      'an ANSI escape in the tagline',
      withProduct({ tagline: '\u001b[31mred\u001b[0m' }),
      /product\.tagline: must not contain control/,
    ],
    ['a bad email', withUser({ email: 'founder-at-example' }), /user\.email: must be an email address/],
    [
      'a user id that climbs directories',
      withUser({ id: '../../etc/passwd' }),
      /user\.id: must be letters, digits/,
    ],
    [
      'a product id with shell syntax',
      withProduct({ id: 'p; rm -rf /' }),
      /product\.id: must be letters, digits/,
    ],
    ['an id too long', withProduct({ id: 'p'.repeat(129) }), /product\.id: must be at most 128/],
    [
      'key features that are not a list',
      withSpecs({ keyFeatures: 'RSVP' }),
      /specifications\.keyFeatures: must be an array/,
    ],
    [
      'too many key features',
      withSpecs({ keyFeatures: Array.from({ length: 31 }, (_, i) => `F${i}`) }),
      /specifications\.keyFeatures: must list at most 30/,
    ],
    [
      'a blank key feature',
      withSpecs({ keyFeatures: ['ok', '  '] }),
      /specifications\.keyFeatures\[1\]: must not be empty/,
    ],
    [
      'specifications that are text',
      withSpecs('build me an app'),
      /specifications: must be an object, got a string/,
    ],
    [
      'mvpSpecs that is a number',
      withSpecs({ mvpSpecs: 7 }),
      /specifications\.mvpSpecs: must be text or an object/,
    ],
    [
      'a colour that is not hex',
      withUser({ branding: { colors: ['red; background:url(x)'] } }),
      /user\.branding\.colors\[0\]: must be a hex colour/,
    ],
    [
      'a font with markup',
      withUser({ branding: { fonts: ['<script>x</script>'] } }),
      /user\.branding\.fonts\[0\]: must be a font family name/,
    ],
    // Free-form sections have no size bound today: a 5 MB spec is accepted and would be fed
    // whole to the generator (and Claude's prompt). Bounding the spec's size fixes it.
    [
      'a 5 MB free-form section',
      withSpecs({ technicalRequirements: { blob: 'x'.repeat(5_000_000) } }),
      /at most/,
    ],
  ];

  it.each(rejected)('rejects a spec with %s, naming the field', async (_, spec, message) => {
    cases++;
    const error = await typedError(() => pipeline.pipeline.specFiles!.register(spec));
    expect(error.code).toBe('VALIDATION');
    expect(error.message.slice(0, 2_000)).toMatch(message);
  });
});

describe('hostile specs that are valid: carried as text, never run', () => {
  const marker = () => join(sentinel, 'pwned');
  const hostile: Array<[string, () => Record<string, unknown>, RegExp]> = [
    [
      'a Japanese name (slugs to nothing)',
      () => withProduct({ name: '東京イベント' }),
      /^app-[0-9a-f]{8}-mvp/,
    ],
    ['an emoji name (slugs to nothing)', () => withProduct({ name: '🎉🎉🎉' }), /^app-[0-9a-f]{8}-mvp/],
    ['a name of punctuation only', () => withProduct({ name: '!!! ... ???' }), /^app-[0-9a-f]{8}-mvp/],
    ['a name that climbs directories', () => withProduct({ name: '../../../../tmp/evil' }), /^tmp-evil-mvp/],
    [
      'script markup everywhere',
      () => withProduct({ name: '<script>alert(1)</script>', tagline: '"><img src=x onerror=alert(1)>' }),
      /^script-alert-1-script-mvp/,
    ],
    [
      'shell syntax everywhere',
      () => ({
        ...withProduct({
          name: `$(touch ${marker()})`,
          tagline: `'; touch ${marker()}; echo '`,
          description: `\`touch ${marker()}\``,
        }),
        specifications: {
          keyFeatures: [
            `$(touch ${marker()})`,
            '|| touch /tmp/x',
            '{{constructor.constructor("return process")()}}',
          ],
        },
      }),
      /-mvp(-\d+)?$/,
    ],
    [
      'right-to-left and zero-width characters',
      () => withProduct({ name: 'Event\u202eHub\u200b' }),
      /^event-hub-mvp|^eventhub-mvp/,
    ],
  ];

  it.each(hostile)('runs a job for %s to COMPLETED, as text', async (_, make, repoName) => {
    cases++;
    const spec = make() as ProductSpec;
    spec.product.id = `product_${cases}`;
    const job = await pipeline.submit(spec);
    const result = await runJob(pipeline.deps, { jobId: job.jobId });
    outputs.push(JSON.stringify(result.job));
    expect(result.outcome, result.job.errors.at(-1)?.message).toBe('COMPLETED');
    expect(result.job.resources.githubRepo?.name).toMatch(repoName);
    expect(await evidence(pipeline.dataDir, job.jobId)).toMatchObject({
      repos: 1,
      deployments: 1,
      notifications: 1,
    });
    const page = await readFile(fileURLToPath(result.job.urls.production!), 'utf8');
    expect(page).not.toMatch(/<script>alert|<img src=x/);
    expect(existsSync(marker())).toBe(false);
  });
});

describe('job requests and events', () => {
  const requests: Array<[string, unknown, RegExp]> = [
    ['an empty request', {}, /userId: is required.*productId: is required/],
    ['no product id', { userId: 'user_bad' }, /productId: is required/],
    [
      'a user id that is a number',
      { userId: 5, productId: 'product_bad' },
      /userId: must be a string, got a number/,
    ],
    ['an extra field', { userId: 'user_bad', productId: 'product_bad', admin: true }, /admin/],
    [
      'a template that climbs directories',
      { userId: 'user_bad', productId: 'product_bad', template: '../../etc' },
      /template: must be a template name/,
    ],
    [
      'a template in capitals',
      { userId: 'user_bad', productId: 'product_bad', template: 'Landing' },
      /template: must be a template name/,
    ],
    ['null', null, /must be an object, got null/],
    ['a bare string', 'job please', /must be an object, got a string/],
    [
      'a user id too long',
      { userId: 'u'.repeat(200), productId: 'product_bad' },
      /userId: must be at most 128/,
    ],
  ];

  it.each(requests)(
    'submitJob rejects %s, naming the field, and creates nothing',
    async (_, input, message) => {
      cases++;
      const error = await typedError(() => submitJob(pipeline.deps, input));
      expect(error.code).toBe('VALIDATION');
      expect(error.message).toMatch(message);
    },
  );

  it('submitJob refuses a product the user does not own (NOT_FOUND), creating no job', async () => {
    cases++;
    await pipeline.pipeline.specFiles!.register(baseSpec());
    const error = await typedError(() =>
      submitJob(pipeline.deps, { userId: 'intruder', productId: 'product_bad' }),
    );
    expect(error.code).toBe('NOT_FOUND');
    const { jobs } = await pipeline.deps.ports.store.listByUser({ userId: 'intruder' });
    expect(jobs).toEqual([]);
  });

  it('a well-formed but unknown template fails the job at CREATING_REPO, naming the template', async () => {
    cases++;
    await pipeline.pipeline.specFiles!.register(baseSpec());
    const { job } = await submitJob(pipeline.deps, {
      userId: 'user_bad',
      productId: 'product_bad',
      template: 'no-such-template',
    });
    const result = await runJob(pipeline.deps, { jobId: job.jobId });
    outputs.push(JSON.stringify(result.job));
    expect(result.job).toMatchObject({ status: 'FAILED', currentStep: 'CREATING_REPO', lease: null });
    expect(result.job.errors.at(-1)).toMatchObject({ step: 'CREATING_REPO', code: 'NOT_FOUND' });
    expect(result.job.errors.at(-1)?.message).toMatch(/no-such-template/);
  });

  const unknownIds: Array<[string, string]> = [
    ['an unknown job', 'job_doesnotexist'],
    ['a job id that climbs directories', '../../../../etc/passwd'],
    ['an empty job id', ''],
  ];
  it.each(unknownIds)('runJob, getJob and cancelJob answer NOT_FOUND for %s', async (_, jobId) => {
    cases++;
    for (const call of [
      () => runJob(pipeline.deps, { jobId }),
      () => getJob(pipeline.deps, { jobId }),
      () => cancelJob(pipeline.deps, { jobId }),
    ]) {
      const error = await typedError(call);
      expect(error.code).toBe('NOT_FOUND');
      expect(error.message).toMatch(/No job with id/);
    }
  });
});

/** The CLI in a process of its own, started in the sentinel directory with the secrets set. */
const mvp = (args: string[], env: Record<string, string | undefined> = {}) =>
  runCli(args, { cwd: sentinel, env: { MVP_DATA_DIR: pipeline.dataDir, ...PROOF_ENV, ...env } });

describe('the CLI and the Batch entrypoint', () => {
  const commands: Array<[string, string[], Record<string, string | undefined>, number, RegExp]> = [
    [
      'run-batch-job for an unknown job',
      ['run-batch-job', 'job_doesnotexist'],
      {},
      2,
      /No job with id job_doesnotexist/,
    ],
    ['run-batch-job with no job id', ['run-batch-job'], { JOB_ID: undefined }, 2, /JOB_ID: is required/],
    [
      'run-batch-job with an unfilled Batch parameter',
      ['run-batch-job', 'Ref::jobId'],
      { JOB_ID: undefined },
      2,
      /JOB_ID: is required/,
    ],
    [
      'run-batch-job with a path for a job id',
      ['run-batch-job', '../../etc/passwd'],
      {},
      2,
      /JOB_ID: is not a job id/,
    ],
    [
      'worker with concurrency 0',
      ['worker', '--concurrency', '0'],
      {},
      2,
      /--concurrency must be a whole number/,
    ],
    ['run with broken JSON', ['run', '--spec', 'broken.json'], {}, 2, /is not valid JSON/],
    ['an unknown command', ['deploy-everything'], {}, 2, /unknown command/],
    [
      'a malformed configuration',
      ['jobs'],
      { MVP_JOB_STORE: 'oracle', MVP_LEASE_TTL_MS: 'soon' },
      2,
      /MVP_JOB_STORE: must be one of.*\n.*MVP_LEASE_TTL_MS/s,
    ],
    // The CLI prints errors without the redactor today (cli.ts report()).
    [
      'run with a spec path holding a token',
      ['run', '--spec', `/nonexistent/${FAKE_SECRETS.GITHUB_TOKEN}.json`],
      {},
      2,
      /no such file/,
    ],
  ];

  beforeAll(async () => {
    await writeFile(join(root, 'broken.json'), '{"user": {');
  });

  it.each(commands)(
    '%s: a clear message and exit code, no crash, no stack, no secret',
    async (_, args, env, code, message) => {
      cases++;
      const resolved = args.map((a) => (a === 'broken.json' ? join(root, 'broken.json') : a));
      const run = await mvp(resolved, env);
      expect(run.code, run.stderr).toBe(code);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).not.toMatch(/\n\s+at |unexpected error/);
      expect(leakedIn(run.stdout + run.stderr)).toEqual([]);
    },
  );
});

describe('configuration', () => {
  const base = { MVP_DATA_DIR: '/tmp/unused' };
  const configs: Array<[string, Record<string, string>, RegExp, string?]> = [
    [
      'an unknown job store',
      { MVP_JOB_STORE: 'oracle' },
      /MVP_JOB_STORE: must be one of file, memory, dynamodb/,
    ],
    [
      'a lease TTL that is not a number',
      { MVP_LEASE_TTL_MS: 'soon' },
      /MVP_LEASE_TTL_MS: must be a whole number/,
    ],
    [
      'a lease TTL below the minimum',
      { MVP_LEASE_TTL_MS: '10' },
      /MVP_LEASE_TTL_MS: must be a whole number from 1000/,
    ],
    ['an unknown notifier', { MVP_NOTIFIER: 'jsonl,pigeon' }, /MVP_NOTIFIER: must be a comma-separated list/],
    [
      'a webhook notifier without its URL',
      { MVP_NOTIFIER: 'webhook' },
      /MVP_WEBHOOK_URL: is required when MVP_NOTIFIER includes webhook/,
    ],
    [
      'a webhook URL that is not http(s)',
      { MVP_WEBHOOK_URL: `ftp://user:${FAKE_SECRETS.VERCEL_TOKEN}@host/x` },
      /MVP_WEBHOOK_URL: must be an http\(s\) URL/,
      FAKE_SECRETS.VERCEL_TOKEN,
    ],
    [
      'DynamoDB without a region',
      { MVP_JOB_STORE: 'dynamodb', AWS_REGION: '' },
      /AWS_REGION: is required when MVP_JOB_STORE=dynamodb/,
    ],
    [
      'GitHub without a token',
      { MVP_REPO_HOST: 'github', GITHUB_TOKEN: '' },
      /GITHUB_TOKEN: is required when MVP_REPO_HOST=github/,
    ],
    [
      'Claude without a key',
      { MVP_CODE_GENERATOR: 'claude', ANTHROPIC_API_KEY: ' ' },
      /ANTHROPIC_API_KEY: is required/,
    ],
    [
      'Vercel without a token',
      { MVP_DEPLOYER: 'vercel', VERCEL_TOKEN: '' },
      /VERCEL_TOKEN: is required when MVP_DEPLOYER=vercel/,
    ],
    [
      'PostgreSQL without a URL',
      { MVP_SPEC_SOURCE: 'postgres', FOUNDERDASH_DB_URL: '' },
      /FOUNDERDASH_DB_URL: is required/,
    ],
    [
      'an API URL that is not a URL',
      { GITHUB_API_URL: `not a url ${FAKE_SECRETS.GITHUB_TOKEN}` },
      /GITHUB_API_URL: must be an http\(s\) URL/,
      FAKE_SECRETS.GITHUB_TOKEN,
    ],
    [
      'a template name that climbs directories',
      { MVP_TEMPLATE: '../evil' },
      /MVP_TEMPLATE: must be a template name/,
    ],
    [
      'a negative cost budget',
      { MVP_AI_MAX_COST_USD: '-1' },
      /MVP_AI_MAX_COST_USD: must be a positive number/,
    ],
    ['zero attempts', { MVP_MAX_ATTEMPTS: '0' }, /MVP_MAX_ATTEMPTS: must be a whole number from 1/],
    [
      'a javascript: base URL',
      { ANTHROPIC_BASE_URL: 'javascript:alert(1)' },
      /ANTHROPIC_BASE_URL: must be an http\(s\) URL/,
    ],
    ['an unknown log format', { MVP_LOG_FORMAT: 'xml' }, /MVP_LOG_FORMAT: must be one of text, json/],
  ];

  it.each(configs)('loadConfig names the variable for %s, never its value', (_, env, message, value) => {
    cases++;
    let error: unknown;
    try {
      loadConfig({ ...base, ...env });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ConfigErrors);
    const config = error as ConfigErrors;
    outputs.push(config.message);
    expect(config.code).toBe('CONFIG');
    expect(config.message).toMatch(message);
    expect(config.problems.length).toBeGreaterThan(0);
    if (value) expect(config.message).not.toContain(value);
  });
});

describe("the code generator's tool calls", () => {
  const call = (name: string, input: unknown) => ({ name, input });
  const attempts: Array<[string, { name: string; input: unknown }, RegExp]> = [
    ['a path that climbs out', call('read_file', { path: '../sentinel/nested/secret.txt' }), /\.\./],
    ['an absolute path', call('read_file', { path: '/etc/passwd' }), /absolute/],
    ['a read through a symlink out', call('read_file', { path: 'link/nested/secret.txt' }), /symlink/],
    ['a write that climbs out', call('write_file', { path: '../sentinel/escape.txt', content: 'x' }), /\.\./],
    ['a write through a symlink out', call('write_file', { path: 'link/new.txt', content: 'x' }), /symlink/],
    [
      'an absolute write into the sentinel',
      call('write_file', { path: '/SENTINEL/abs.txt', content: 'x' }),
      /absolute/,
    ],
    [
      'an edit that climbs out from a subfolder',
      call('edit_file', { path: 'src/../../sentinel/keep.txt', old_text: 'keep', new_text: 'x' }),
      /\.\./,
    ],
    ['a delete through a symlink', call('delete_file', { path: 'link/keep.txt' }), /symlink/],
    ['a listing of a symlinked folder', call('list_files', { path: 'link' }), /symlink/],
    ['a read of .git', call('read_file', { path: '.git/config' }), /\.git/],
    ['a command off the allow-list', call('run_command', { name: 'rm' }), /not a declared command/],
    [
      'arguments to a declared command',
      call('run_command', { name: 'build', args: ['--evil'] }),
      /Invalid input for run_command/,
    ],
    ['a prototype name as a command', call('run_command', { name: '__proto__' }), /not a declared command/],
    [
      'a tool that does not exist',
      call('bash', { command: `touch ${'SENTINEL'}/pwned` }),
      /Unknown tool "bash"/,
    ],
    ['a NUL byte in a path', call('write_file', { path: 'src/a\u0000b.txt', content: 'x' }), /./],
  ];

  let results: ScriptContext['toolResults'] = [];
  let printenv = '';
  let bodies = '';

  beforeAll(async () => {
    const workspace = join(root, 'workspace');
    await mkdir(workspace);
    const manifest = await writeTinyTemplate(workspace);
    await symlink(sentinel, join(workspace, 'link'));
    const resolved = attempts.map(([, c]) =>
      JSON.parse(JSON.stringify(c).replaceAll('SENTINEL', sentinel.slice(1))),
    );
    const standIn = await startMessagesStandIn({
      apiKey: FAKE_SECRETS.ANTHROPIC_API_KEY,
      script: scripted([
        toolCalls(resolved),
        (context) => {
          results = context.toolResults;
          return toolCalls([call('run_command', { name: 'printenv' })]);
        },
        (context) => {
          printenv = context.toolResults[0]?.content ?? '';
          return endTurn('Nothing more to do.');
        },
      ]),
    });
    try {
      const generator = createClaudeCodeGenerator(
        { apiKey: FAKE_SECRETS.ANTHROPIC_API_KEY, baseUrl: standIn.url, verifyBuild: false },
        { sleep: async () => undefined },
      );
      const spec = JSON.parse(
        await readFile(join(REPO_ROOT, 'examples/eventhub.json'), 'utf8'),
      ) as ProductSpec;
      await generator.generate({
        jobId: 'job_tools',
        spec,
        workspace: { jobId: 'job_tools', dir: workspace },
        manifest,
        report: recordingReporter(),
      });
      bodies = standIn.requests.map((r) => r.raw).join('\n');
    } finally {
      await standIn.close();
    }
    outputs.push(bodies, printenv, ...results.map((r) => r.content));
  });

  it.each(attempts.map(([what, , message], i) => [what, i, message] as const))(
    'refuses %s as an error result the model can read',
    (_, i, message) => {
      cases++;
      const result = results[i];
      expect(result?.is_error, result?.content).toBe(true);
      expect(result?.content).toMatch(message);
      expect(result?.content).not.toContain('TOP-SECRET-CONTENT');
    },
  );

  it('runs declared commands with an environment that carries no secret', () => {
    cases++;
    expect(printenv).toMatch(/PATH/);
    expect(leakedIn(printenv)).toEqual([]);
    expect(leakedIn(bodies)).toEqual([]);
  });
});

describe('after all of it', () => {
  it('covers at least 50 bad inputs', () => {
    expect(cases).toBeGreaterThanOrEqual(50);
  });

  it('wrote nothing outside the data dir and the workspace', async () => {
    expect(await snapshot(sentinel)).toEqual(before);
  });

  it('leaked no secret into any output, record, log line or file', async () => {
    expect(leakedIn(outputs.join('\n'))).toEqual([]);
    expect(leakedIn(pipeline.logs.join('\n'))).toEqual([]);
    expect(await filesContaining(pipeline.dataDir, SECRET_NEEDLES)).toEqual([]);
    const records: Job[] = (await pipeline.deps.ports.store.listByUser({ userId: 'user_bad' })).jobs;
    expect(leakedIn(JSON.stringify(records))).toEqual([]);
  });
});
