// The bundled runner's cold start and size. Cold start = from spawning `node runner.js
// run-batch-job <jobId>` (the container's command, in the image's WORKDIR laid out by the
// Dockerfile's COPY and `RUN node` lines, code cache included) to the moment dynalite receives
// the runner's first job-store write (the UpdateItem that takes the lease, seen by a 'request'
// listener on dynalite's own HTTP server). Against it: spawning `node -e 0` until it exits,
// interleaved in the same run. Goal: cold start under 3× bare Node.
// It rebuilds dist/bundle first (from the compiled sources: `pnpm bench` runs `tsc -b` before).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const packageDir = join(root, 'packages/runner-batch');
const bundleDir = process.env.MVP_BENCH_BUNDLE_DIR ?? join(packageDir, 'dist/bundle');
const ROUNDS = 7;
const GOAL = 3;
const WRITE_TARGETS = /\.(UpdateItem|PutItem|DeleteItem|BatchWriteItem|TransactWriteItems)$/;

// The runner package's dev and workspace dependencies: dynalite, and the built adapters-aws (dist).
const packageRequire = createRequire(join(packageDir, 'package.json'));
const importFromPackage = async (name) => import(pathToFileURL(packageRequire.resolve(name)).href);

/** Builds dist/bundle from dist (the bench measures the code as it is now). */
function buildBundle() {
  const built = spawnSync(process.execPath, [join(packageDir, 'scripts/build-bundle.mjs'), '--quiet'], {
    encoding: 'utf8',
  });
  if (built.status !== 0) throw new Error(`build:bundle failed: ${built.stderr || built.stdout}`);
}

async function startDynalite() {
  const dynalite = (await importFromPackage('dynalite')).default;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const writes = [];
  server.on('request', (request) => {
    if (WRITE_TARGETS.test(String(request.headers['x-amz-target'] ?? ''))) {
      for (const waiter of writes.splice(0)) waiter(performance.now());
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${server.address().port}`,
    /** Resolves with the time of the next write request. */
    nextWrite: () => new Promise((resolve) => writes.push(resolve)),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

function exited(child) {
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
}

async function bareNode() {
  const start = performance.now();
  await exited(spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' }));
  return performance.now() - start;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export async function run() {
  if (!process.env.MVP_BENCH_BUNDLE_DIR) buildBundle();
  const work = mkdtempSync(join(tmpdir(), 'mvp-bench-runner-'));
  const app = join(work, 'app');
  // The image's WORKDIR as the bundle test lays it out (packages/runner-batch/src/testing/bundle-harness.ts).
  const { assembleImage, parseDockerfile } = await import(
    pathToFileURL(join(packageDir, 'dist/testing/bundle-harness.js')).href
  );
  await assembleImage(parseDockerfile(readFileSync(join(packageDir, 'Dockerfile'), 'utf8')), bundleDir, app);
  const dynamo = await startDynalite();
  try {
    const { createJobsTable, createDynamoDocumentClient } = await importFromPackage(
      '@mvp-pipeline/adapters-aws',
    );
    const credentials = { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret' };
    const client = createDynamoDocumentClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials,
    });
    await createJobsTable({ client, tableName: 'bench-jobs' });
    client.destroy();

    const env = {
      PATH: process.env.PATH,
      HOME: work,
      // The image's environment (Dockerfile ENV), then what the job definition adds.
      NODE_ENV: 'production',
      MVP_LOG_FORMAT: 'json',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      MVP_DATA_DIR: join(work, 'data'),
      MVP_TEMPLATES_DIR: join(app, 'templates'),
      MVP_JOB_STORE: 'dynamodb',
      MVP_NOTIFIER: 'none',
      // The runner's overhead on the static template; app jobs have their own bench.
      MVP_TEMPLATE: 'landing',
      DYNAMODB_TABLE: 'bench-jobs',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    };
    // Asynchronous: dynalite answers from this process, so a synchronous spawn would deadlock.
    const submit = async () => {
      const child = spawn(
        process.execPath,
        ['runner.js', 'submit', '--spec', join(root, 'examples/minimal.json'), '--json'],
        { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      const code = await exited(child);
      if (code !== 0) throw new Error(`submit failed: ${stderr}`);
      return JSON.parse(stdout).jobId;
    };
    const coldStart = async (jobId) => {
      const firstWrite = dynamo.nextWrite();
      const start = performance.now();
      const child = spawn(process.execPath, ['runner.js', 'run-batch-job', jobId], {
        cwd: app,
        env,
        stdio: 'ignore',
      });
      const done = exited(child);
      const at = await Promise.race([firstWrite, done.then(() => undefined)]);
      const code = await done;
      if (at === undefined || code !== 0) throw new Error(`the runner exited ${code} before writing`);
      return at - start;
    };

    await coldStart(await submit()); // warm the file cache
    await bareNode();
    const runner = [];
    const bare = [];
    for (let i = 0; i < ROUNDS; i++) {
      const jobId = await submit();
      bare.push(await bareNode());
      runner.push(await coldStart(jobId));
    }
    const cold = median(runner);
    const floor = median(bare);
    const ratio = cold / floor;
    const size = statSync(join(bundleDir, 'mvp.cjs')).size;
    const cacheSize = statSync(join(app, 'mvp.cjs.cache')).size;
    return [
      {
        name: `bundled runner: spawn to first job-store write (median of ${ROUNDS})`,
        value: Math.round(cold),
        unit: 'ms',
      },
      {
        name: `bare \`node -e 0\`: spawn to exit (median of ${ROUNDS})`,
        value: Math.round(floor),
        unit: 'ms',
      },
      { name: 'cold start / bare node', value: ratio, unit: '×', goal: `< ${GOAL}`, pass: ratio < GOAL },
      { name: 'bundle size (mvp.cjs)', value: Math.round(size / 1024), unit: 'KiB' },
      {
        name: 'its code cache (mvp.cjs.cache, written at image build)',
        value: Math.round(cacheSize / 1024),
        unit: 'KiB',
      },
    ];
  } finally {
    await dynamo.close();
    rmSync(work, { recursive: true, force: true });
  }
}
