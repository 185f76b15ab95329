import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

/** One version of a package the stand-in serves: its package.json fields and its files. */
export interface FixturePackage {
  name: string;
  version: string;
  /** More package.json fields (scripts, dependencies, …). */
  manifest?: Record<string, unknown>;
  /** Path inside the package → content. */
  files: Record<string, string>;
}

export interface NpmRegistryStandIn {
  /** e.g. `http://127.0.0.1:40123/` */
  url: string;
  /** Every request path, in order. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * An npm registry on 127.0.0.1 serving the given fixture packages as the registry API does:
 * the packument at `/<name>` (scoped names with `/` or `%2f`), with `dist-tags.latest` the
 * highest version, each version's `dist.tarball`, `dist.integrity` (sha512) and `dist.shasum`,
 * and the tarball (a gzipped ustar archive of `package/…`). Any other name is 404
 * `{"error":"Not found"}`, as the registry answers.
 */
export async function startNpmRegistryStandIn(
  packages: readonly FixturePackage[],
): Promise<NpmRegistryStandIn> {
  const requests: string[] = [];
  const tarballs = new Map<string, Buffer>();
  let base = '';
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
    requests.push(path);
    const tarball = tarballs.get(path);
    if (tarball) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': tarball.length });
      res.end(tarball);
      return;
    }
    const name = path.slice(1);
    const versions = packages.filter((p) => p.name === name);
    if (versions.length === 0) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"Not found"}');
      return;
    }
    const entries: Record<string, unknown> = {};
    for (const pkg of versions) {
      const file = `/${pkg.name}/-/${pkg.name.split('/').pop()}-${pkg.version}.tgz`;
      const manifest = { name: pkg.name, version: pkg.version, ...pkg.manifest };
      const bytes = tarballs.get(file) ?? packTarball(manifest, pkg.files);
      tarballs.set(file, bytes);
      entries[pkg.version] = {
        ...manifest,
        dist: {
          tarball: `${base}${file.slice(1)}`,
          integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
          shasum: createHash('sha1').update(bytes).digest('hex'),
        },
      };
    }
    const latest = versions
      .map((p) => p.version)
      .sort(compareVersions)
      .at(-1);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ name, 'dist-tags': { latest }, versions: entries }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    url: base,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/** A gzipped tar of `package/package.json` and the files, as `npm pack` lays it out. */
function packTarball(manifest: Record<string, unknown>, files: Record<string, string>): Buffer {
  const all: Record<string, string> = { 'package.json': JSON.stringify(manifest, null, 2), ...files };
  const blocks: Buffer[] = [];
  for (const [path, content] of Object.entries(all)) {
    const body = Buffer.from(content);
    blocks.push(
      tarHeader(`package/${path}`, body.length),
      body,
      Buffer.alloc((512 - (body.length % 512)) % 512),
    );
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

function tarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(512);
  const put = (offset: number, length: number, value: string) => header.write(value, offset, length, 'ascii');
  const octal = (value: number, length: number) => `${value.toString(8).padStart(length - 1, '0')}\0`;
  put(0, 100, name);
  put(100, 8, octal(0o644, 8));
  put(108, 8, octal(0, 8));
  put(116, 8, octal(0, 8));
  put(124, 12, octal(size, 12));
  put(136, 12, octal(0, 12));
  put(148, 8, '        ');
  put(156, 1, '0');
  put(257, 6, 'ustar\0');
  put(263, 2, '00');
  let sum = 0;
  for (const byte of header) sum += byte;
  put(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return header;
}
