// The demo job end to end against a floor measured in the same run: the same file work done
// directly with plain tools — copy the template, git init/add/commit, write the generated files
// and commit them, run the template's declared build and test commands, copy the output. (The
// pipeline commits twice, template then generated code, and its build step runs both declared
// commands, so the floor does too.) Goal: at most 1.5× the floor. The job is timed in process
// (submit to COMPLETED, through the composition root the CLI uses); the CLI's wall time, Node's
// start included, is shown beside it. The floor has no browser, so the Chromium site check is off
// here (MVP_BROWSER_CHECK=off).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = 5;

function must(command, args, options) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  return result;
}

/** The sketch the issue gives: one commit, the build command only. Shown for comparison. */
async function sketchFloorOnce() {
  const dir = mkdtempSync(join(tmpdir(), 'mvp-floor-'));
  try {
    const ws = join(dir, 'ws');
    cpSync(join(root, 'templates/landing'), ws, { recursive: true });
    must('git', ['init', '-q', '-b', 'main'], { cwd: ws });
    must('git', ['add', '-A'], { cwd: ws });
    must('git', ['-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-qm', 'start'], { cwd: ws });
    must(process.execPath, ['build.mjs'], { cwd: ws });
    cpSync(join(ws, 'dist'), join(dir, 'site'), { recursive: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function floorOnce() {
  const dir = mkdtempSync(join(tmpdir(), 'mvp-floor-'));
  try {
    const ws = join(dir, 'ws');
    const git = (...args) => must('git', ['-c', 'user.name=b', '-c', 'user.email=b@b', ...args], { cwd: ws });
    cpSync(join(root, 'templates/landing'), ws, { recursive: true });
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-qm', 'start');
    const spec = readFileSync(join(root, 'examples/eventhub.json'), 'utf8');
    writeFileSync(join(ws, 'src/site.json'), spec);
    writeFileSync(join(ws, 'MVP_SPECS.md'), `# EventHub\n\n${spec}`);
    writeFileSync(join(ws, 'DEVELOPMENT_INSTRUCTIONS.md'), `# Development instructions\n\n${spec}`);
    git('add', '-A');
    git('commit', '-qm', 'generated');
    must(process.execPath, ['build.mjs'], { cwd: ws });
    must(process.execPath, ['test.mjs'], { cwd: ws });
    cpSync(join(ws, 'dist'), join(dir, 'site'), { recursive: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function jobOnce() {
  const { createPipeline, loadConfig } = await import(join(root, 'packages/runner-batch/dist/index.js'));
  const { runJob, submitJob } = await import(join(root, 'packages/core/dist/index.js'));
  const dataDir = mkdtempSync(join(tmpdir(), 'mvp-bench-'));
  try {
    const pipeline = await createPipeline({
      config: loadConfig({ MVP_DATA_DIR: dataDir, MVP_BROWSER_CHECK: 'off', MVP_TEMPLATE: 'landing' }),
      logLevel: 'error',
    });
    const spec = await pipeline.specFiles.registerFile(join(root, 'examples/eventhub.json'));
    const start = performance.now();
    const { job } = await submitJob(pipeline.deps, { userId: spec.user.id, productId: spec.product.id });
    const result = await runJob(pipeline.deps, { jobId: job.jobId });
    const elapsed = performance.now() - start;
    if (result.outcome !== 'COMPLETED') throw new Error(`demo job ended ${result.outcome}`);
    await pipeline.close();
    return elapsed;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function cliOnce() {
  const dataDir = mkdtempSync(join(tmpdir(), 'mvp-bench-cli-'));
  try {
    must(
      process.execPath,
      [
        join(root, 'packages/runner-batch/dist/cli.js'),
        'run',
        '--spec',
        join(root, 'examples/eventhub.json'),
        '--json',
      ],
      {
        env: { ...process.env, MVP_DATA_DIR: dataDir, MVP_BROWSER_CHECK: 'off', MVP_TEMPLATE: 'landing' },
      },
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function median(fn) {
  const times = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    const measured = await fn();
    times.push(typeof measured === 'number' ? measured : performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)];
}

export async function run() {
  await jobOnce(); // load the modules and warm the file cache
  const floor = await median(floorOnce);
  const sketch = await median(sketchFloorOnce);
  const job = await median(jobOnce);
  const cli = await median(cliOnce);
  const ratio = job / floor;
  return [
    {
      name: 'floor: the same file work done directly (2 commits, build + test)',
      value: Math.round(floor),
      unit: 'ms',
    },
    { name: 'demo job, submit to COMPLETED (median of 5)', value: Math.round(job), unit: 'ms' },
    { name: 'demo job / floor', value: ratio, unit: '×', goal: '≤ 1.5', pass: ratio <= 1.5 },
    {
      name: 'for comparison: 1 commit, build only',
      value: Math.round(sketch),
      unit: 'ms',
      goal: `demo job / this = ${(job / sketch).toFixed(2)}×`,
    },
    { name: '`mvp run` wall time, Node start included', value: Math.round(cli), unit: 'ms' },
  ];
}
