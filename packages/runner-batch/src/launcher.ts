import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname } from 'node:path';
import { Script } from 'node:vm';
import type * as BundleEntry from './bundle-entry.js';

/**
 * The image's `runner.js`: starts the single-file runner (`mvp.cjs`) from V8's code cache.
 *
 * Most of a cold start is V8 compiling the 3.7 MiB bundle. `node runner.js write-code-cache`,
 * run once at image build by the image's own Node, compiles the bundle, builds the production
 * composition (bundle-entry.ts `warmUp`) and saves the compiled code beside it (`mvp.cjs.cache`); every
 * later start deserialises that instead of compiling. Node 22 has this built in
 * (module.enableCompileCache); Node 20, the image's, does not.
 *
 * The cache file starts with the SHA-256 of the bundle it was made from: V8 itself checks only
 * the source's length, so a cache for other code of the same length would run that code. A cache
 * that does not match, or that V8 rejects (another Node build or other V8 flags), is ignored
 * with a warning; the bundle then compiles as usual.
 */

export type Bundle = typeof BundleEntry;

/** What became of the code cache when the bundle was loaded. */
export type CodeCacheState = 'used' | 'missing' | 'stale' | 'rejected';

export interface LoadedBundle {
  entry: Bundle;
  cache: CodeCacheState;
  /** For writeCodeCache: the compiled script and the digest of its source. */
  script: Script;
  digest: Buffer;
}

const DIGEST_BYTES = 32;

export const codeCachePath = (bundlePath: string) => `${bundlePath}.cache`;

/**
 * Compiles and runs the bundle as Node runs a CommonJS file (same wrapper, same require), from
 * its code cache when one matches.
 */
export function loadBundle(bundlePath: string, options: { useCache?: boolean } = {}): LoadedBundle {
  const source = readFileSync(bundlePath);
  const digest = createHash('sha256').update(source).digest();
  let cache: CodeCacheState = 'missing';
  let cachedData: Buffer | undefined;
  if (options.useCache !== false) {
    const saved = readIfExists(codeCachePath(bundlePath));
    if (saved?.subarray(0, DIGEST_BYTES).equals(digest)) cachedData = saved.subarray(DIGEST_BYTES);
    else if (saved) cache = 'stale';
  }
  // The wrapper keeps line numbers: stack traces point into mvp.cjs as they would under `node mvp.cjs`.
  const wrapped = `(function (exports, require, module, __filename, __dirname) { ${source.toString('utf8')}\n})`;
  const script = new Script(wrapped, { filename: bundlePath, ...(cachedData ? { cachedData } : {}) });
  if (cachedData) cache = script.cachedDataRejected ? 'rejected' : 'used';
  const module = { exports: {} as Bundle };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(
    module.exports,
    module.exports,
    createRequire(bundlePath),
    module,
    bundlePath,
    dirname(bundlePath),
  );
  return { entry: module.exports, cache, script, digest };
}

/** Compiles the bundle, warms it up and saves its code cache (atomically) beside it. */
export async function writeCodeCache(bundlePath: string): Promise<{ path: string; bytes: number }> {
  const { entry, script, digest } = loadBundle(bundlePath, { useCache: false });
  await entry.warmUp();
  const data = Buffer.concat([digest, script.createCachedData()]);
  const path = codeCachePath(bundlePath);
  const partial = `${path}.${process.pid}.partial`;
  writeFileSync(partial, data);
  renameSync(partial, path);
  return { path, bytes: data.length };
}

/**
 * `node runner.js <mvp command…>` runs the command; `node runner.js write-code-cache` writes the
 * cache. Returns the exit code.
 */
export async function launch(bundlePath: string, argv: readonly string[]): Promise<number> {
  const name = basename(bundlePath);
  if (argv[0] === 'write-code-cache') {
    const { path, bytes } = await writeCodeCache(bundlePath);
    process.stdout.write(
      `${basename(path)}: ${(bytes / 2 ** 20).toFixed(1)} MiB of compiled code for ${name} (Node ${process.version})\n`,
    );
    return 0;
  }
  const { entry, cache } = loadBundle(bundlePath);
  if (cache === 'stale' || cache === 'rejected') {
    const why =
      cache === 'stale'
        ? `was made from another ${name}`
        : 'was made by another Node.js build or with other V8 flags';
    entry.warn(
      `The code cache ${basename(codeCachePath(bundlePath))} ${why}; starting without it (slower). Rewrite it with \`node runner.js write-code-cache\`.`,
    );
  }
  return entry.runCli([...argv]);
}

function readIfExists(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
