import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codeCachePath, launch, loadBundle, writeCodeCache } from './launcher.js';

// A stand-in for mvp.cjs with the same exports. `version` tells which code ran; warmUp compiles a
// function that only it calls, so the cache holds more than the top level.
const bundleSource = (version: string) => `'use strict';
const calls = globalThis.__launcherTest ??= { warnings: [], argv: [], warmed: 0 };
function warmOnly(n) { return n * 2; }
exports.version = ${JSON.stringify(version)};
exports.dirname = __dirname;
exports.requireWorks = typeof require('node:path').join === 'function';
exports.runCli = async (argv) => { calls.argv.push(argv); return argv.length; };
exports.warmUp = async () => { calls.warmed += warmOnly(1); };
exports.warn = (message) => { calls.warnings.push(message); };
`;

interface Calls {
  warnings: string[];
  argv: string[][];
  warmed: number;
}
const calls = () => (globalThis as unknown as { __launcherTest: Calls }).__launcherTest;

let dir: string;
let bundle: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mvp-launcher-'));
  bundle = join(dir, 'mvp.cjs');
  await writeFile(bundle, bundleSource('one'));
  (globalThis as unknown as { __launcherTest?: Calls }).__launcherTest = undefined;
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the launcher', () => {
  it('runs the bundle as Node runs a CommonJS file when there is no cache', () => {
    const loaded = loadBundle(bundle);
    expect(loaded.cache).toBe('missing');
    expect(loaded.entry).toMatchObject({ version: 'one', dirname: dir, requireWorks: true });
  });

  it('writes a cache that starts with the bundle’s SHA-256, after warming it up, and starts from it', async () => {
    const written = await writeCodeCache(bundle);
    expect(written.path).toBe(codeCachePath(bundle));
    expect(calls().warmed).toBe(2);
    const file = await readFile(written.path);
    expect(file.length).toBe(written.bytes);
    const digest = createHash('sha256')
      .update(await readFile(bundle))
      .digest();
    expect(file.subarray(0, 32).equals(digest)).toBe(true);

    const loaded = loadBundle(bundle);
    expect(loaded.cache).toBe('used');
    expect(loaded.entry.version).toBe('one');
  });

  it('ignores a cache made from another bundle of the same length, and runs the new code', async () => {
    await writeCodeCache(bundle);
    const changed = bundleSource('two');
    expect(changed.length).toBe(bundleSource('one').length);
    await writeFile(bundle, changed);
    const loaded = loadBundle(bundle);
    expect(loaded.cache).toBe('stale');
    expect(loaded.entry.version).toBe('two');
  });

  it('ignores a cache V8 rejects (another Node build), and still runs', async () => {
    const digest = createHash('sha256')
      .update(await readFile(bundle))
      .digest();
    await writeFile(codeCachePath(bundle), Buffer.concat([digest, Buffer.from('not V8 code cache data')]));
    const loaded = loadBundle(bundle);
    expect(loaded.cache).toBe('rejected');
    expect(loaded.entry.version).toBe('one');
  });

  it('passes the command line to the CLI and returns its exit code; warns once about an unusable cache', async () => {
    expect(await launch(bundle, ['status', 'job_1'])).toBe(2);
    expect(calls().argv).toEqual([['status', 'job_1']]);
    expect(calls().warnings).toEqual([]);

    await writeFile(codeCachePath(bundle), 'x'.repeat(40));
    expect(await launch(bundle, ['jobs'])).toBe(1);
    expect(calls().warnings).toHaveLength(1);
    expect(calls().warnings[0]).toMatch(/mvp\.cjs\.cache was made from another mvp\.cjs.*write-code-cache/);
  });

  it('`write-code-cache` writes the cache instead of running a command', async () => {
    expect(await launch(bundle, ['write-code-cache'])).toBe(0);
    expect(calls().argv).toEqual([]);
    expect(loadBundle(bundle).cache).toBe('used');
  });
});
