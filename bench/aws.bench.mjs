// DynamoDB cost of one whole job: a job is submitted and run by the core's runJob on the
// DynamoDB JobStore (dynalite, started here, through the real SDK), every other port a stand-in
// that answers with production-shaped values (GitHub repository, Vercel deployment, 40-hex
// commits, token usage), so the record grows as it would in production. Every write asks for
// ReturnConsumedCapacity TOTAL; the figures are the write requests and write units summed.
// Goals: no more record writes than state changes plus lease writes, no more runner-state writes
// than writes that change checkpoints or usage, and at most one write unit per write (record and
// state items under 1 KB).
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const core = await import(new URL('../packages/core/dist/index.js', import.meta.url));
const coreTesting = await import(new URL('../packages/core/dist/testing/index.js', import.meta.url));
const aws = await import(new URL('../packages/adapters-aws/dist/index.js', import.meta.url));
const requireFromAws = createRequire(new URL('../packages/adapters-aws/package.json', import.meta.url));
const dynalite = requireFromAws('dynalite');
const { DynamoDBClient } = requireFromAws('@aws-sdk/client-dynamodb');
const { DynamoDBDocumentClient, GetCommand, QueryCommand } = requireFromAws('@aws-sdk/lib-dynamodb');

const WRITES = new Set(['PutCommand', 'UpdateCommand', 'DeleteCommand', 'BatchWriteCommand']);
const READS = new Set(['GetCommand', 'QueryCommand', 'ScanCommand', 'BatchGetCommand']);

/** The document client, counting requests and the capacity DynamoDB reports for each write. */
function meter(client) {
  const writes = [];
  let reads = 0;
  const send = client.send.bind(client);
  client.send = async (command, options) => {
    const name = command.constructor.name;
    if (READS.has(name)) reads++;
    if (!WRITES.has(name)) return send(command, options);
    command.input.ReturnConsumedCapacity = 'TOTAL';
    // The record is the jobs table's item; state and history items are in the runner table.
    const sk = command.input.Key?.sk ?? command.input.Item?.sk;
    const kind = sk === undefined ? 'record' : sk.startsWith('LOG#') ? 'history' : 'state';
    const lease = /#lease/.test(command.input.ConditionExpression ?? '');
    try {
      const out = await send(command, options);
      writes.push({ kind, lease, units: out.ConsumedCapacity?.CapacityUnits ?? 0, ok: true });
      return out;
    } catch (error) {
      writes.push({ kind, lease, units: 1, ok: false });
      throw error;
    }
  };
  return { writes, reads: () => reads };
}

/** A JobStore that counts the writes that change the job's state (not only its log or usage). */
function countingStore(store) {
  const counts = { stateChanges: 0, logOnly: 0, lease: 0, runnerState: 0 };
  return {
    counts,
    store: {
      ...store,
      async create(options) {
        counts.stateChanges++;
        return store.create(options);
      },
      async update(options) {
        const keys = Object.keys(options.patch.set ?? {}).filter((k) => k !== 'usage');
        if (keys.length > 0) counts.stateChanges++;
        if ('checkpoints' in (options.patch.set ?? {}) || 'usage' in (options.patch.set ?? {}))
          counts.runnerState++;
        else counts.logOnly++;
        return store.update(options);
      },
      async acquireLease(options) {
        counts.lease++;
        return store.acquireLease(options);
      },
      async renewLease(options) {
        counts.lease++;
        return store.renewLease(options);
      },
      async releaseLease(options) {
        counts.lease++;
        return store.releaseLease(options);
      },
    },
  };
}

let jobCounter = 0x7f3c2d;

/** Every port but the store, answering like production services would. */
function productionLikePorts(store) {
  let now = Date.UTC(2026, 2, 4, 10, 0, 0);
  const manifest = { name: 'landing', outputDir: 'dist', commands: { build: ['node', 'build.mjs'] } };
  const sha = (text) => createHash('sha1').update(text).digest('hex');
  let head = '';
  return {
    store,
    specs: {
      specificationVersion: 'v1',
      getSpec: async ({ userId, productId }) => ({ spec: coreTesting.sampleSpec({ userId, productId }) }),
    },
    templates: {
      specificationVersion: 'v1',
      fetchTemplate: async () => ({ manifest, ref: sha('landing') }),
      readManifest: async () => ({ manifest }),
    },
    workspaces: {
      specificationVersion: 'v1',
      create: async ({ jobId }) => ({ workspace: { jobId, dir: `/tmp/mvp-work/${jobId}` } }),
      dispose: async () => undefined,
    },
    repos: {
      specificationVersion: 'v1',
      ensureRepo: async ({ name }) => ({
        repo: {
          name,
          fullName: `founderdash/${name}`,
          url: `https://github.com/founderdash/${name}`,
          cloneUrl: `https://github.com/founderdash/${name}.git`,
          branch: 'main',
        },
        created: true,
      }),
      push: async ({ message }) => {
        head = sha(head + message);
        return { commit: head, pushed: true };
      },
      checkout: async ({ commit }) => ({ commit: commit ?? head }),
    },
    generator: {
      specificationVersion: 'v1',
      generate: async ({ spec, report }) => {
        for (const file of ['index.html', 'styles.css', 'app.js', 'rsvp.js', 'waitlist.js'])
          report.log(`Wrote src/${file}`);
        report.usage({
          inputTokens: 48_210,
          outputTokens: 9_874,
          cacheWriteTokens: 6_020,
          cacheReadTokens: 31_400,
          costUsd: 0.3127,
        });
        return {
          generator: 'claude:claude-sonnet-4-5',
          summary: `Build ${spec.product.name}: event page with RSVP, waitlist when full, check-in`,
          filesChanged: ['src/index.html', 'src/styles.css', 'src/app.js', 'src/rsvp.js', 'src/waitlist.js'],
        };
      },
    },
    builder: {
      specificationVersion: 'v1',
      build: async ({ workspace, report }) => {
        report.log('npm ci: added 212 packages in 9s');
        report.log('npm run build: 14 files, 42 kB');
        report.log('npm test: 6 passed');
        return { ok: true, outputDir: `${workspace.dir}/dist`, checks: ['build', 'test', 'index.html'] };
      },
    },
    deployer: {
      specificationVersion: 'v1',
      deploy: async ({ projectName, checkpoint, report }) => {
        await checkpoint.save({ deploymentId: 'dpl_4GhJ6kL8mN0pQ2rS4tU6' });
        report.log('Vercel deployment dpl_4GhJ6kL8mN0pQ2rS4tU6 is READY');
        return {
          deploymentId: 'dpl_4GhJ6kL8mN0pQ2rS4tU6',
          stagingUrl: `https://${projectName}-git-main-founderdash.vercel.app`,
          productionUrl: `https://${projectName}.vercel.app`,
          resources: {
            vercel: { projectId: 'prj_8fKx2LmQ9rT3vW5yZ1aB', deploymentId: 'dpl_4GhJ6kL8mN0pQ2rS4tU6' },
          },
        };
      },
    },
    siteChecker: {
      specificationVersion: 'v1',
      check: async () => ({ ok: true, problems: [], checker: 'http' }),
    },
    notifier: { specificationVersion: 'v1', notify: async () => undefined },
    trigger: { specificationVersion: 'v1', trigger: async () => ({ eventId: 'evt-1' }) },
    clock: {
      now: () => {
        now += 1000;
        return new Date(now);
      },
      sleep: async (ms) => {
        now += ms;
      },
    },
    ids: {
      jobId: () => `job_mfx3k2a9_${(jobCounter++).toString(16).padStart(6, '0')}`,
      runnerId: () => 'runner_4c8e1a2b',
    },
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  };
}

/** Submits and runs one job on a fresh table; returns what it cost. */
async function measure(client, tableName, { pipeline }) {
  await aws.createJobsTable({ client, tableName });
  const metered = meter(client);
  const dynamoStore = aws.createDynamoJobStore({ tableName }, { client });
  const { store, counts } = countingStore(dynamoStore);
  const deps = pipeline(store);
  const { job } = await core.submitJob(deps, { userId: 'user_1', productId: 'product_1' });
  const readsBefore = metered.reads();
  const result = await core.runJob(deps, {
    jobId: job.jobId,
    batch: { batchJobId: '4c8e1a2b-5d6f-4a1b-9c8d-7e6f5a4b3c2d', attempt: 1 },
  });
  if (result.outcome !== 'COMPLETED')
    throw new Error(`the bench job ended ${result.outcome}: ${result.error?.message}`);
  const reads = metered.reads() - readsBefore;
  const { Item: record } = await client.send(
    new GetCommand({ TableName: tableName, Key: { jobId: job.jobId }, ConsistentRead: true }),
  );
  const { Items: states = [] } = await client.send(
    new QueryCommand({
      TableName: aws.runnerTableNameFor(tableName),
      KeyConditionExpression: 'jobId = :job AND begins_with(sk, :state)',
      ExpressionAttributeValues: { ':job': job.jobId, ':state': 'JOB#STATE#' },
      ConsistentRead: true,
    }),
  );
  // What one lease renewal costs once the record has grown (a long AI step renews every half TTL).
  const writesOfJob = metered.writes.length;
  const now = new Date();
  await dynamoStore.acquireLease({ jobId: job.jobId, owner: 'bench-renewal', now, ttlMs: 60_000 });
  await dynamoStore.renewLease({ jobId: job.jobId, owner: 'bench-renewal', now, ttlMs: 60_000 });
  const renewalUnits = metered.writes.at(-1).units;
  metered.writes.splice(writesOfJob);
  const writes = metered.writes;
  return {
    counts,
    reads,
    record: writes.filter((w) => w.kind === 'record').length,
    history: writes.filter((w) => w.kind === 'history').length,
    state: writes.filter((w) => w.kind === 'state').length,
    writes: writes.length,
    units: writes.reduce((sum, w) => sum + w.units, 0),
    maxUnits: Math.max(...writes.map((w) => w.units)),
    overOne: writes.filter((w) => w.units > 1).length,
    renewalUnits,
    finalBytes: aws.itemSize(record),
    stateBytes: Math.max(...states.map(aws.itemSize)),
  };
}

export async function run() {
  const server = dynalite({ createTableMs: 0 });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const raw = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${server.address().port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench' },
  });
  const client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  const settings = core.pipelineSettings({ random: () => 0.5 });
  const production = (store) => ({ ports: productionLikePorts(store), settings });
  try {
    const prod = await measure(client, 'jobs-production', { pipeline: production });
    const rows = [
      {
        name: 'dynamodb write requests, job record (production-like job)',
        value: prod.record,
        unit: 'requests',
        goal: `≤ state changes + lease writes (${prod.counts.stateChanges} + ${prod.counts.lease})`,
        pass: prod.record <= prod.counts.stateChanges + prod.counts.lease,
      },
      {
        name: 'dynamodb write requests, history items',
        value: prod.history,
        unit: 'requests',
        goal: `≤ record writes (${prod.record})`,
        pass: prod.history <= prod.record,
      },
      {
        name: 'dynamodb write requests, runner state items',
        value: prod.state,
        unit: 'requests',
        goal: `≤ writes that change checkpoints or usage (${prod.counts.runnerState})`,
        pass: prod.state <= prod.counts.runnerState,
      },
      {
        name: 'dynamodb reads while the job ran',
        value: prod.reads,
        unit: 'requests',
        goal: '1 (the runner reads the record and its state once, one BatchGetItem; no read before a write)',
        pass: prod.reads <= 1,
      },
      {
        name: 'dynamodb consumed write capacity, whole job',
        value: prod.units,
        unit: 'WCU',
        goal: `≤ 1 per write (${prod.writes} writes)`,
        pass: prod.units <= prod.writes,
      },
      {
        name: 'dynamodb writes costing more than 1 WCU',
        value: prod.overOne,
        unit: 'writes',
        goal: `0 (largest: ${prod.maxUnits} WCU)`,
        pass: prod.overOne === 0,
      },
      {
        name: 'job record size at the end',
        value: prod.finalBytes,
        unit: 'B',
        goal: '< 1024 (1 WCU per write)',
        pass: prod.finalBytes < 1024,
      },
      {
        name: 'one lease renewal on the finished record',
        value: prod.renewalUnits,
        unit: 'WCU',
        goal: '1',
        pass: prod.renewalUnits === 1,
      },
      {
        name: 'runner state item size at the end',
        value: prod.stateBytes,
        unit: 'B',
        goal: '< 1024 (1 WCU per write)',
        pass: prod.stateBytes < 1024,
      },
    ];
    // The same job through the in-memory fakes the local demo uses, when they are built.
    const local = await import(new URL('../packages/adapters-local/dist/index.js', import.meta.url)).catch(
      () => undefined,
    );
    if (local?.createFakePipeline) {
      const demo = await measure(client, 'jobs-demo', {
        pipeline: (store) => {
          const { deps } = local.createFakePipeline({ specs: [coreTesting.sampleSpec()] });
          return { ...deps, ports: { ...deps.ports, store } };
        },
      });
      rows.push(
        {
          name: 'demo job (in-memory fakes): consumed write capacity',
          value: demo.units,
          unit: 'WCU',
          goal: `≤ 1 per write (${demo.writes} writes, record ${demo.finalBytes} B)`,
          pass: demo.units <= demo.writes,
        },
        {
          name: 'demo job (in-memory fakes): job record writes',
          value: demo.record,
          unit: 'requests',
          goal: `≤ state changes + lease writes (${demo.counts.stateChanges} + ${demo.counts.lease})`,
          pass: demo.record <= demo.counts.stateChanges + demo.counts.lease,
        },
      );
    }
    return rows;
  } finally {
    raw.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.table(await run());
}
