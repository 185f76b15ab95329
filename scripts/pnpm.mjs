#!/usr/bin/env node
// Runs pnpm (the version this repo pins) on a machine that has only Node and npm: installs the
// workspace's dependencies from the lockfile first, then runs `pnpm <args>`.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const pinned = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')).packageManager.split('@')[1];

function pnpmCommand() {
  const found = spawnSync('pnpm', ['--version'], { encoding: 'utf8' });
  if (found.status === 0 && found.stdout.trim() === pinned) return ['pnpm', []];
  // corepack needs registry signatures this environment may not serve; npx fetches pnpm as a plain package.
  return ['npx', ['-y', `pnpm@${pinned}`]];
}

const [command, prefix] = pnpmCommand();
const run = (args) => spawnSync(command, [...prefix, ...args], { stdio: 'inherit', cwd: root });

const install = run(['install', '--frozen-lockfile', '--reporter=silent']);
if (install.status !== 0) process.exit(install.status ?? 1);
const result = run(process.argv.slice(2));
process.exit(result.status ?? 1);
