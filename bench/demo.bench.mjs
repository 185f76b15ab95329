// The demo job end to end (the CLI, as a user runs it) against a floor measured in the same
// run: the same file work done directly — copy the template, git init/add/commit, build, copy
// the output. Goal: at most 1.5× the floor.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
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

function floorOnce() {
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

function demoOnce() {
  const dataDir = mkdtempSync(join(tmpdir(), 'mvp-bench-'));
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
        env: { ...process.env, MVP_DATA_DIR: dataDir, MVP_NOTIFIER: 'jsonl' },
      },
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function median(fn) {
  const times = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)];
}

export async function run() {
  demoOnce(); // warm the file cache
  const floor = median(floorOnce);
  const demo = median(demoOnce);
  const ratio = demo / floor;
  return [
    { name: 'demo job end to end (median of 5)', value: Math.round(demo), unit: 'ms' },
    { name: 'floor: same file work done directly', value: Math.round(floor), unit: 'ms' },
    { name: 'demo / floor', value: ratio, unit: '×', goal: '≤ 1.5', pass: ratio <= 1.5 },
  ];
}
