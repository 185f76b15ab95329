import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// What each package ships (its `exports` other than `./testing`, and its bins) must never reach
// test support (a `testing/` folder, a test file) or a dependency the package only has for
// development (dynalite, PGlite, esbuild …). The walk follows the TypeScript sources, which
// `tsc` compiles one to one into `dist`, through workspace packages too, so it needs no build.

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const PACKAGES = join(ROOT, 'packages');

interface Manifest {
  name: string;
  dir: string;
  dependencies: Set<string>;
  devDependencies: Set<string>;
  exports: Record<string, string>;
  bins: string[];
}

const manifests = new Map<string, Manifest>();
for (const entry of readdirSync(PACKAGES)) {
  const file = join(PACKAGES, entry, 'package.json');
  if (!existsSync(file)) continue;
  const json = JSON.parse(readFileSync(file, 'utf8'));
  const exports: Record<string, string> = {};
  for (const [subpath, target] of Object.entries<Record<string, string>>(json.exports ?? {})) {
    if (target.source) exports[subpath] = join(PACKAGES, entry, target.source);
  }
  const bins = Object.values<string>(typeof json.bin === 'string' ? { bin: json.bin } : (json.bin ?? {})).map(
    // A bin in dist is walked from its source; one under bin/ (plain JS) as it is.
    (bin) =>
      join(
        PACKAGES,
        entry,
        /^(\.\/)?dist\//.test(bin) ? bin.replace(/^(\.\/)?dist\//, 'src/').replace(/\.js$/, '.ts') : bin,
      ),
  );
  manifests.set(json.name, {
    name: json.name,
    dir: join(PACKAGES, entry),
    dependencies: new Set(Object.keys(json.dependencies ?? {})),
    devDependencies: new Set(Object.keys(json.devDependencies ?? {})),
    exports,
    bins,
  });
}

const builtins = new Set(builtinModules);
const packageName = (specifier: string) =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;

/** The module specifiers a source file imports at run time (type-only imports are erased). */
function runtimeImports(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found: string[] = [];
  for (const match of code.matchAll(
    /(?:^|[;}\n])\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\bfrom\s*)?['"]([^'"]+)['"]/g,
  )) {
    if (!match[1]) found.push(match[2]!);
  }
  for (const match of code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(match[1]!);
  return found;
}

function ownerOf(file: string): Manifest {
  for (const manifest of manifests.values()) if (file.startsWith(`${manifest.dir}/`)) return manifest;
  throw new Error(`${file} belongs to no workspace package`);
}

interface Problem {
  from: string;
  reaches: string;
}

/** Walks the runtime import graph from `entries`; returns what it must not reach. */
function walk(entries: string[]): { problems: Problem[]; files: Set<string>; packages: Set<string> } {
  const problems: Problem[] = [];
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const owner = ownerOf(file);
    const shown = relative(ROOT, file);
    if (/[\\/]testing[\\/]|\.test\.ts$/.test(file)) problems.push({ from: shown, reaches: 'test support' });
    for (const specifier of runtimeImports(readFileSync(file, 'utf8'))) {
      if (specifier.startsWith('.')) {
        // A specifier inside generated code (a string) names no file here: tsc would refuse a real one.
        // A bin under bin/ loads `../dist/…`, which is compiled from the same path under src/.
        const target = [
          resolve(dirname(file), specifier).replace(/\.js$/, '.ts'),
          resolve(dirname(file), specifier)
            .replace(`${owner.dir}/dist/`, `${owner.dir}/src/`)
            .replace(/\.js$/, '.ts'),
          resolve(dirname(file), specifier),
        ].find((candidate) => existsSync(candidate));
        if (target) queue.push(target);
        continue;
      }
      if (specifier.startsWith('node:') || builtins.has(specifier)) continue;
      const name = packageName(specifier);
      packages.add(name);
      if (!owner.dependencies.has(name)) {
        const kind = owner.devDependencies.has(name) ? 'a dev dependency' : 'an undeclared dependency';
        problems.push({ from: shown, reaches: `${specifier} (${kind} of ${owner.name})` });
        continue;
      }
      const workspace = manifests.get(name);
      if (workspace) {
        const subpath = `.${specifier.slice(name.length)}`;
        const target = workspace.exports[subpath];
        if (!target) problems.push({ from: shown, reaches: `${specifier} (not a runtime export)` });
        else queue.push(target);
      }
    }
  }
  return { problems, files, packages };
}

const runtimeEntries = (manifest: Manifest) => [
  ...Object.entries(manifest.exports)
    .filter(([subpath]) => subpath !== './testing')
    .map(([, file]) => file),
  ...manifest.bins,
];

describe('what the packages ship at run time', () => {
  for (const manifest of manifests.values()) {
    it(`${manifest.name} reaches no test support and no dev dependency`, () => {
      const { problems, files } = walk(runtimeEntries(manifest));
      expect(files.size).toBeGreaterThan(0);
      expect(problems).toEqual([]);
    });
  }

  it('sees a dev dependency and test support when they are imported (the check can fail)', () => {
    const harness = fileURLToPath(new URL('./bundle-harness.ts', import.meta.url));
    const { problems, packages } = walk([harness]);
    expect(packages).toContain('dynalite');
    expect(problems.map((p) => p.reaches)).toContain(
      'dynalite (a dev dependency of @mvp-pipeline/runner-batch)',
    );
    expect(problems.map((p) => p.reaches)).toContain('test support');
  });

  it('reads imports as TypeScript writes them', () => {
    expect(
      runtimeImports(
        [
          "import type { A } from 'types-only';",
          "import { type B, c } from 'value';",
          'import {\n  d,\n  e,\n} from "multi-line";',
          "export * from './barrel.js';",
          "export type { F } from './types.js';",
          "// import { g } from 'commented-out';",
          "const lazy = () => import('lazy');",
        ].join('\n'),
      ),
    ).toEqual(['value', 'multi-line', './barrel.js', 'lazy']);
  });
});
