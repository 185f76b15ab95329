#!/usr/bin/env node
// Bundles the compiled runner (dist/cli.js, after `tsc -b`) into one ESM file with every
// dependency inlined, the vendor adapters included, and copies the templates beside it:
//
//   dist/bundle/runner.js      the runner: `node runner.js run-batch-job <jobId>` (and every mvp command)
//   dist/bundle/package.json   {"type":"module"}, so plain `node runner.js` loads it as ESM
//   dist/bundle/templates/     the MVP templates (MVP_TEMPLATES_DIR points here in the image)
//
// and dist/bundle.meta.json beside the folder (esbuild's metafile: which input weighs what).
// That folder is the whole image payload: the Dockerfile copies it as is, and the tests run it
// from a copy. Usage: `pnpm --filter @mvp-pipeline/runner-batch build:bundle [--out DIR]`.
import { cpSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = resolve(packageDir, '../..');
const { values } = parseArgs({ options: { out: { type: 'string' }, quiet: { type: 'boolean' } } });
const outDir = resolve(values.out ?? join(packageDir, 'dist/bundle'));
const entry = join(packageDir, 'dist/cli.js');
const templates = join(repoRoot, 'templates');

/**
 * Loaded only by the browser site checker, which needs a Chromium the image does not ship;
 * playwright-core also reads its own files at run time, so it cannot be inlined.
 */
const EXTERNAL = ['playwright-core'];

if (!existsSync(entry)) {
  console.error(`build-bundle: ${relative(repoRoot, entry)} is missing: run \`npx tsc -b\` first`);
  process.exit(1);
}

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

const result = await build({
  entryPoints: [entry],
  outfile: join(outDir, 'runner.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // The compiled sources, not TypeScript: nothing here needs a transform beyond bundling.
  // Dynamic import() of the vendor adapters is inlined (lazily initialised), not split.
  splitting: false,
  // Smaller and faster to parse; names are kept because error classes name themselves from them.
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  legalComments: 'none',
  // CommonJS dependencies (the AWS SDK's, isomorphic-git's) call require() and read __dirname.
  banner: {
    js: [
      "import { createRequire as __mvpCreateRequire } from 'node:module';",
      "import { fileURLToPath as __mvpFileURLToPath } from 'node:url';",
      "import { dirname as __mvpDirname } from 'node:path';",
      'const require = __mvpCreateRequire(import.meta.url);',
      'const __filename = __mvpFileURLToPath(import.meta.url);',
      'const __dirname = __mvpDirname(__filename);',
    ].join('\n'),
  },
  // The bundle starts with its own shebang-free banner; the entry's shebang is dropped by esbuild.
  external: EXTERNAL,
  // Prefer ESM builds of dependencies (smaller, no CJS interop wrappers).
  mainFields: ['module', 'main'],
  conditions: ['node', 'import'],
  metafile: true,
  logLevel: 'warning',
});

writeFileSync(
  join(outDir, 'package.json'),
  `${JSON.stringify({ name: 'mvp-runner', private: true, type: 'module' }, null, 2)}\n`,
);
writeFileSync(`${outDir}.meta.json`, JSON.stringify(result.metafile));
cpSync(templates, join(outDir, 'templates'), {
  recursive: true,
  // Build output and installed dependencies of a template that was tried in place stay behind.
  filter: (source) => !/[\\/](node_modules|dist)$/.test(source),
});

if (!values.quiet) {
  const size = statSync(join(outDir, 'runner.js')).size;
  const inputs = Object.entries(
    result.metafile.outputs[relative(process.cwd(), join(outDir, 'runner.js'))]?.inputs ?? {},
  );
  const byPackage = new Map();
  for (const [path, { bytesInOutput }] of inputs) {
    const match = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(path);
    const name =
      match?.[1] ??
      (path.includes('packages/') ? `@mvp-pipeline/${path.split('packages/')[1].split('/')[0]}` : path);
    byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
  }
  const top = [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 8);
  console.log(
    `build-bundle: ${relative(process.cwd(), join(outDir, 'runner.js')) || 'runner.js'} ${(size / 1024).toFixed(0)} KiB`,
  );
  for (const [name, bytes] of top) console.log(`  ${(bytes / 1024).toFixed(0).padStart(6)} KiB  ${name}`);
  console.log(`  templates copied to ${relative(process.cwd(), join(outDir, 'templates'))}`);
}
