import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installFromCache, lockKey } from './dependency-cache.js';

const report = { log: () => {}, progress: () => {}, usage: () => {} };

/** A stand-in for `pnpm install`: writes node_modules from the lockfile, slowly. */
const INSTALLER = `
const { mkdirSync, writeFileSync, readFileSync } = require('node:fs');
const lock = readFileSync('pnpm-lock.yaml', 'utf8');
mkdirSync('node_modules/dep', { recursive: true });
setTimeout(() => {
  writeFileSync('node_modules/dep/index.js', 'module.exports = ' + JSON.stringify(lock.trim()));
  if (process.argv.includes('--fail')) process.exit(1);
}, 300);
`;

describe('the dependency cache', () => {
  let dir: string;
  let installer: string;
  const workspace = async (name: string, lock = 'lock: 1') => {
    const ws = path.join(dir, name);
    await mkdir(ws, { recursive: true });
    await writeFile(path.join(ws, 'package.json'), '{"name":"x"}');
    await writeFile(path.join(ws, 'pnpm-lock.yaml'), lock);
    return ws;
  };
  const install = async (ws: string, argv = ['node', installer]) =>
    installFromCache({
      cacheDir: path.join(dir, 'cache'),
      key: (await lockKey(ws, argv))!,
      workspace: ws,
      installArgv: argv,
      timeoutMs: 30_000,
      maxOutputBytes: 4096,
      report,
    });

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dep-cache-'));
    // The installer runs as a sandbox uid where the runner is root: it must be able to read it.
    await chmod(dir, 0o755);
    installer = path.join(dir, 'installer.cjs');
    await writeFile(installer, INSTALLER, { mode: 0o644 });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('installs once per lockfile and links the same read-only files into every workspace', async () => {
    const [a, b] = [await workspace('a'), await workspace('b')];
    const first = await install(a);
    expect(first.reused).toBe(false);
    expect(first.result?.exitCode).toBe(0);
    const second = await install(b);
    expect(second.reused).toBe(true);
    const fileA = await stat(path.join(a, 'node_modules/dep/index.js'));
    const fileB = await stat(path.join(b, 'node_modules/dep/index.js'));
    expect(fileA.ino).toBe(fileB.ino);
    expect(fileA.mode & 0o222).toBe(0);
    const other = await workspace('c', 'lock: 2');
    expect((await install(other)).reused).toBe(false);
    expect(await readFile(path.join(other, 'node_modules/dep/index.js'), 'utf8')).toContain('lock: 2');
  });

  it('two jobs installing at once leave one ready copy that a third links from', async () => {
    const [a, b] = await Promise.all([workspace('a'), workspace('b')]);
    const results = await Promise.all([install(a), install(b)]);
    expect(results.every((r) => r.result?.exitCode === 0 || r.reused)).toBe(true);
    for (const ws of [a, b])
      expect(await readFile(path.join(ws, 'node_modules/dep/index.js'), 'utf8')).toContain('lock: 1');
    const third = await install(await workspace('c'));
    expect(third.reused).toBe(true);
    // One ready folder, no scratch left behind.
    expect(await readdir(path.join(dir, 'cache', 'deps'))).toHaveLength(1);
  });

  it('keeps nothing of a failed install, and the next try installs again', async () => {
    const ws = await workspace('a');
    const failed = await install(ws, ['node', installer, '--fail']);
    expect(failed.result?.exitCode).toBe(1);
    expect(await readdir(path.join(dir, 'cache', 'deps'))).toEqual([]);
    expect((await install(ws)).reused).toBe(false);
  });

  it('does not take a folder a killed install left half made', async () => {
    const ws = await workspace('a');
    const key = (await lockKey(ws, ['node', installer]))!;
    // What a runner killed mid-install leaves: a scratch folder, and maybe a ready folder with no marker.
    const dead = path.join(dir, 'cache', 'deps', `.${key}.dead`);
    await mkdir(path.join(dead, 'node_modules'), { recursive: true });
    await utimes(dead, new Date(0), new Date(0));
    await mkdir(path.join(dir, 'cache', 'deps', key, 'node_modules', 'half'), { recursive: true });
    const again = await install(ws);
    expect(again.reused).toBe(false);
    expect(await readFile(path.join(ws, 'node_modules/dep/index.js'), 'utf8')).toContain('lock: 1');
    expect(await readdir(path.join(dir, 'cache', 'deps'))).toEqual([key]);
  });
});
