import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, realpathSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

/**
 * An npm registry on 127.0.0.1 that serves only packages already installed in this workspace
 * (pnpm's `node_modules/.pnpm`), so `npm install` of the packed tarballs runs with no network:
 * a package or version that is not installed here is a 404, never a fetch from elsewhere.
 */
export interface LocalRegistry {
  /** e.g. `http://127.0.0.1:40123/` */
  url: string;
  /** How many name@version it serves. */
  size: number;
  /** Package names npm asked for that it does not serve (a 404 each). */
  missing: string[];
  /** Names that served packages declare as optional (optional peers and dependencies) and that it does not serve. */
  optional: Set<string>;
  /** Every tarball it served, as name@version. */
  served: string[];
  close(): Promise<void>;
}

interface Installed {
  dir: string;
  manifest: Record<string, unknown> & { name: string; version: string };
}

type Deps = Record<string, string>;

const readManifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));

/** Node's lookup of `name` from the package in `dir`, through pnpm's symlinks. */
function lookup(dir: string, name: string): string | undefined {
  for (let at = dir; ; at = dirname(at)) {
    if (basename(at) !== 'node_modules') {
      const candidate = join(at, 'node_modules', name);
      if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    }
    if (dirname(at) === at) return undefined;
  }
}

/**
 * Every package the given package directories depend on, transitively (dependencies, optional
 * and peer dependencies that are installed), by name and version. Packages named by `own` are
 * skipped: they come from the tarballs.
 */
function closure(
  roots: readonly string[],
  own: (name: string) => boolean,
  also: { from: string; names: readonly string[] } | undefined,
): Map<string, Map<string, Installed>> {
  const found = new Map<string, Map<string, Installed>>();
  const seen = new Set<string>();
  const visit = (dir: string, names: Iterable<string>) => {
    for (const name of names) {
      if (own(name)) continue;
      const at = lookup(dir, name);
      if (!at || seen.has(at)) continue;
      seen.add(at);
      const manifest = readManifest(at);
      const versions = found.get(manifest.name) ?? new Map<string, Installed>();
      found.set(manifest.name, versions);
      if (!versions.has(manifest.version)) versions.set(manifest.version, { dir: at, manifest });
      visit(at, dependencyNames(manifest));
    }
  };
  for (const root of roots) visit(root, dependencyNames(readManifest(root)));
  if (also) visit(also.from, also.names);
  return found;
}

function dependencyNames(manifest: Record<string, unknown>): string[] {
  return ['dependencies', 'optionalDependencies', 'peerDependencies'].flatMap((field) =>
    Object.keys((manifest[field] as Deps | undefined) ?? {}),
  );
}

/** The manifest as the registry publishes it: what is not served here is left out. */
function published(
  { manifest }: Installed,
  served: Map<string, Map<string, Installed>>,
  tarball: string,
): Record<string, unknown> {
  const { scripts: _scripts, devDependencies: _dev, ...rest } = manifest;
  const keep = (deps: unknown) =>
    Object.fromEntries(Object.entries((deps as Deps | undefined) ?? {}).filter(([name]) => served.has(name)));
  const peersMeta = (manifest['peerDependenciesMeta'] as Record<string, { optional?: boolean }>) ?? {};
  const peers = Object.fromEntries(
    Object.entries((manifest['peerDependencies'] as Deps | undefined) ?? {}).filter(
      ([name]) => served.has(name) || peersMeta[name]?.optional,
    ),
  );
  return {
    ...rest,
    _id: `${manifest.name}@${manifest.version}`,
    optionalDependencies: keep(manifest['optionalDependencies']),
    peerDependencies: peers,
    dist: { tarball },
  };
}

/** A tarball of an installed package (`package/…`), made once into `cacheDir`. */
async function packDir(dir: string, file: string): Promise<void> {
  if (existsSync(file)) return;
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  // pnpm links the bins of a package's own dependencies into its node_modules/.bin: not its files.
  // Its store hard-links identical files, and npm extracts no hard-link entries: store copies.
  const tar = spawn(
    'tar',
    ['-cf', '-', '--hard-dereference', '--exclude=./node_modules/.bin', '-C', dir, '.'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  tar.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => tar.on('close', resolve));
  await pipeline(tar.stdout, createGzip({ level: 1 }), createWriteStream(temp));
  const code = await exited;
  if (code !== 0) throw new Error(`tar of ${dir} failed (${code}): ${stderr}`);
  await rename(temp, file);
}

/**
 * Starts the registry. `roots` are the package directories whose dependencies it serves;
 * `own` names the packages it must not serve; tarballs are cached in `cacheDir`.
 */
export async function startLocalRegistry(options: {
  roots: readonly string[];
  own: (name: string) => boolean;
  /** More packages to serve: `names` as found from the package directory `from`. */
  also?: { from: string; names: readonly string[] };
  cacheDir: string;
}): Promise<LocalRegistry> {
  const packages = closure(options.roots, options.own, options.also);
  const optional = new Set<string>();
  for (const versions of packages.values()) {
    for (const { manifest } of versions.values()) {
      const names = [
        ...Object.keys((manifest['optionalDependencies'] as Deps | undefined) ?? {}),
        ...Object.entries((manifest['peerDependenciesMeta'] as Record<string, { optional?: boolean }>) ?? {})
          .filter(([, meta]) => meta.optional)
          .map(([name]) => name),
      ];
      for (const name of names) if (!packages.has(name)) optional.add(name);
    }
  }
  const missing: string[] = [];
  const served: string[] = [];
  let base = '';
  const server = createServer((request, response) => {
    void (async () => {
      const path = decodeURIComponent(new URL(request.url ?? '/', 'http://registry').pathname).slice(1);
      const tarball = /^-\/tarball\/(.+)\/([^/]+)\.tgz$/.exec(path);
      if (tarball) {
        const installed = packages.get(tarball[1]!)?.get(tarball[2]!);
        if (!installed) return void response.writeHead(404).end();
        const file = join(options.cacheDir, `${tarball[1]!.replace('/', '+')}@${tarball[2]}.tgz`);
        await packDir(installed.dir, file);
        served.push(`${tarball[1]}@${tarball[2]}`);
        const body = await readFile(file);
        response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
        return;
      }
      const versions = packages.get(path);
      if (!versions) {
        missing.push(path);
        return void response
          .writeHead(404, { 'content-type': 'application/json' })
          .end('{"error":"not found"}');
      }
      const entries = [...versions.entries()].map(
        ([version, installed]) =>
          [version, published(installed, packages, `${base}-/tarball/${path}/${version}.tgz`)] as const,
      );
      const latest = entries
        .map(([version]) => version)
        .sort(compareVersions)
        .at(-1)!;
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          name: path,
          'dist-tags': { latest },
          versions: Object.fromEntries(entries),
        }),
      );
    })().catch((error: unknown) => {
      response.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    url: base,
    size: [...packages.values()].reduce((sum, versions) => sum + versions.size, 0),
    missing,
    optional,
    served,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
  };
}

/** Release versions by number; a prerelease sorts before its release. */
function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const [core = '', pre] = v.split('-', 2);
    return { parts: core.split('.').map(Number), pre };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) {
    const d = (x.parts[i] ?? 0) - (y.parts[i] ?? 0);
    if (d !== 0) return d;
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre < y.pre ? -1 : 1;
}
