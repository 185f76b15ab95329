#!/usr/bin/env node
// Bundles the compiled runner (dist/bundle-entry.js, after `tsc -b`) into one CommonJS file with every
// dependency inlined, the vendor adapters included, adds the launcher that starts it from V8's
// code cache, and copies the templates and the PostgreSQL migrations beside them:
//
//   dist/bundle/mvp.cjs        the whole runner in one file (its exports: bundle-entry.ts)
//   dist/bundle/runner.js      the launcher (launcher.ts): `node runner.js run-batch-job <jobId>`
//                              (and every mvp command); `node runner.js write-code-cache` writes
//                              mvp.cjs.cache, which the image does at build
//   dist/bundle/package.json   {"type":"commonjs"}
//   dist/bundle/templates/     the MVP templates (MVP_TEMPLATES_DIR points here in the image)
//   dist/bundle/migrations/    the FounderDash schema, for `node runner.js db migrate`
//
// and dist/bundle.meta.json beside the folder (esbuild's metafile: which input weighs what).
// That folder is the image's build context: the Dockerfile copies it as is, and the tests run it
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
const entry = join(packageDir, 'dist/bundle-entry.js');
const launcher = join(packageDir, 'dist/launcher.js');
const templates = join(repoRoot, 'templates');
const migrations = join(repoRoot, 'packages/adapters-postgres/migrations');

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

/** What both outputs share: Node 20, CommonJS (V8's code cache is for scripts, not modules). */
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  legalComments: 'none',
  logLevel: 'warning',
};

const result = await build({
  ...common,
  entryPoints: [entry],
  outfile: join(outDir, 'mvp.cjs'),
  // The compiled sources use import.meta.url (to find the templates); in CommonJS it is this.
  define: { 'import.meta.url': '__mvpImportMetaUrl' },
  banner: { js: "const __mvpImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  // The vendor adapters' import() is inlined (lazily initialised), not split; and every import()
  // becomes a require(): V8 loses the dynamic-import callback of code restored from a code cache.
  splitting: false,
  supported: { 'dynamic-import': false },
  // Smaller and faster to parse; names are kept because error classes name themselves from them.
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  external: EXTERNAL,
  // Each dependency resolved as Node would resolve it: a require() gets the package's CommonJS
  // build, an import its ESM build. (Forcing ESM builds everywhere hands pg's require('pg-pool')
  // a module namespace where it expects a class.)
  metafile: true,
});

await build({
  ...common,
  stdin: {
    contents: [
      "import { join } from 'node:path';",
      `import { launch } from ${JSON.stringify(launcher)};`,
      "launch(join(__dirname, 'mvp.cjs'), process.argv.slice(2)).then((code) => { process.exitCode = code; });",
    ].join('\n'),
    resolveDir: packageDir,
    loader: 'js',
  },
  outfile: join(outDir, 'runner.js'),
});

writeFileSync(
  join(outDir, 'package.json'),
  `${JSON.stringify({ name: 'mvp-runner', private: true, type: 'commonjs' }, null, 2)}\n`,
);
writeFileSync(`${outDir}.meta.json`, JSON.stringify(result.metafile));
cpSync(templates, join(outDir, 'templates'), {
  recursive: true,
  // Build output and installed dependencies of a template that was tried in place stay behind.
  filter: (source) => !/[\\/](node_modules|dist)$/.test(source),
});
cpSync(migrations, join(outDir, 'migrations'), { recursive: true });

if (!values.quiet) {
  const size = statSync(join(outDir, 'mvp.cjs')).size;
  const inputs = Object.entries(
    result.metafile.outputs[relative(process.cwd(), join(outDir, 'mvp.cjs'))]?.inputs ?? {},
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
    `build-bundle: ${relative(process.cwd(), join(outDir, 'mvp.cjs')) || 'mvp.cjs'} ${(size / 1024).toFixed(0)} KiB`,
  );
  for (const [name, bytes] of top) console.log(`  ${(bytes / 1024).toFixed(0).padStart(6)} KiB  ${name}`);
  console.log(`  templates and migrations copied to ${relative(process.cwd(), outDir)}`);
}
