#!/usr/bin/env node
// Packs every library package into an npm tarball an outsider can install:
//   node scripts/pack.mjs [--out dist-packages] [--no-build]
// Each package is staged in a temporary folder (the workspace is never changed while packing):
// its `workspace:*` dependencies become the exact version of that package (the packages are
// versioned together), and runner-batch gets the repository's templates beside its dist, where
// the default MVP_TEMPLATES_DIR finds them once installed. `npm pack` then applies each package's
// `files`. Every tarball is checked: built JS, types, README, a version, no `workspace:` left.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The library packages, in dependency order. */
export const LIBRARY_PACKAGES = [
  'core',
  'workspace',
  'adapters-local',
  'adapters-aws',
  'adapters-postgres',
  'adapters-github',
  'adapters-claude',
  'adapters-vercel',
  'adapters-neon',
  'runner-batch',
];

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.status !== 0) {
    throw new Error(
      `${basename(command)} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stderr}${result.stdout}`,
    );
  }
  return result.stdout;
}

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

/** The workspace's packages by name, with their versions. */
function workspaceVersions() {
  const versions = new Map();
  for (const dir of LIBRARY_PACKAGES) {
    const manifest = readJson(join(root, 'packages', dir, 'package.json'));
    versions.set(manifest.name, manifest.version);
  }
  return versions;
}

function pinWorkspaceDependencies(manifest, versions) {
  for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies']) {
    for (const [name, range] of Object.entries(manifest[field] ?? {})) {
      if (!range.startsWith('workspace:')) continue;
      const version = versions.get(name);
      if (!version) throw new Error(`${manifest.name}: ${field}.${name} is not a library package`);
      manifest[field][name] = version;
    }
  }
  // Dev dependencies are the workspace's business, not the consumer's.
  delete manifest.devDependencies;
  // Their scripts build from the repository (scripts/, tsc -b), which a tarball does not hold.
  delete manifest.scripts;
  return manifest;
}

/** The files of a tarball, without the leading `package/`. */
function tarballFiles(tarball) {
  return run('tar', ['-tzf', tarball])
    .split('\n')
    .filter(Boolean)
    .map((line) => line.replace(/^package\//, ''));
}

function checkTarball(tarball, manifest) {
  const files = new Set(tarballFiles(tarball));
  const packed = JSON.parse(run('tar', ['-xzOf', tarball, 'package/package.json']));
  const problems = [];
  if (!packed.version) problems.push('no version');
  if (JSON.stringify(packed).includes('workspace:')) problems.push('a workspace: dependency is left');
  if (!files.has('README.md')) problems.push('no README.md');
  for (const [entry, conditions] of Object.entries(manifest.exports ?? {})) {
    for (const condition of ['types', 'default']) {
      const path = conditions[condition]?.replace(/^\.\//, '');
      if (!path || !files.has(path)) problems.push(`exports["${entry}"].${condition} (${path}) is missing`);
    }
  }
  for (const [name, path] of Object.entries(manifest.bin ?? {})) {
    if (!files.has(path.replace(/^\.\//, ''))) problems.push(`bin ${name} (${path}) is missing`);
  }
  for (const file of files) {
    if (/\.test\.(js|ts|d\.ts)$/.test(file) || file.endsWith('.tsbuildinfo')) problems.push(`ships ${file}`);
  }
  if (problems.length > 0) throw new Error(`${basename(tarball)}: ${problems.join('; ')}`);
  return files.size;
}

/**
 * Builds (unless `build: false`) and packs every library package into `out`. Returns the
 * tarballs by package name.
 */
export function packAll({ out = join(root, 'dist-packages'), build = true, log = () => {} } = {}) {
  if (build) run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b'], { cwd: root });
  mkdirSync(out, { recursive: true });
  const versions = workspaceVersions();
  const staging = mkdtempSync(join(tmpdir(), 'mvp-pack-'));
  const tarballs = new Map();
  try {
    for (const dir of LIBRARY_PACKAGES) {
      const source = join(root, 'packages', dir);
      const stage = join(staging, dir);
      cpSync(source, stage, {
        recursive: true,
        filter: (path) => !path.slice(source.length).split('/').includes('node_modules'),
      });
      const manifest = pinWorkspaceDependencies(readJson(join(source, 'package.json')), versions);
      writeFileSync(join(stage, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      if (dir === 'runner-batch') {
        // The templates the pipeline builds from: only what git tracks (no build output).
        const tracked = run('git', ['ls-files', '-z', 'templates'], { cwd: root })
          .split('\0')
          .filter(Boolean);
        for (const file of tracked) {
          mkdirSync(dirname(join(stage, file)), { recursive: true });
          cpSync(join(root, file), join(stage, file));
        }
      }
      const [packed] = JSON.parse(
        run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', resolve(out)], {
          cwd: stage,
        }),
      );
      const tarball = join(resolve(out), packed.filename);
      const count = checkTarball(tarball, manifest);
      log(`${manifest.name}@${manifest.version}  ${packed.filename}  ${count} files`);
      tarballs.set(manifest.name, tarball);
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return tarballs;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  const out = outAt >= 0 ? resolve(args[outAt + 1] ?? 'dist-packages') : join(root, 'dist-packages');
  try {
    packAll({ out, build: !args.includes('--no-build'), log: (line) => console.log(line) });
    console.log(`tarballs in ${out}`);
  } catch (error) {
    console.error(`pack: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
