import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, relative, sep } from 'node:path';
import { type Deployer, PermanentError, TransientError } from '@mvp-pipeline/core';

/** A site host that keeps every deployment in memory and serves them over loopback HTTP. */
export interface MemoryHost {
  /** The Deployer port, implemented on this host. */
  deployer: Deployer;
  /** Deployment id → (path → file content). */
  deployments: Map<string, Map<string, Buffer>>;
  /** Site name (one per job) → the deployment production serves. */
  production: Map<string, string>;
  /** Where the host listens, e.g. `http://127.0.0.1:40123`. */
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

async function readTree(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(dir, path).split(sep).join('/'), await readFile(path));
  }
  return files;
}

/**
 * Starts the host on 127.0.0.1 (a free port). Deployments are `/d/<deploymentId>/…` (staging)
 * and `/p/<siteName>/…` (production, the job's latest deployment). A deployment's id is
 * derived from (jobId, commit), so deploying the same commit of a job again returns the same
 * deployment, as the Deployer contract asks; production is keyed by the job's `siteName`, so
 * two founders whose products share a name get two sites.
 */
export async function startMemoryHost(): Promise<MemoryHost> {
  const deployments = new Map<string, Map<string, Buffer>>();
  const production = new Map<string, string>();
  const server = createServer((request, response) => {
    const [, kind, name, ...rest] = decodeURIComponent(
      new URL(request.url ?? '/', 'http://host').pathname,
    ).split('/');
    const id = kind === 'd' ? name : kind === 'p' ? production.get(name ?? '') : undefined;
    const asked = rest.join('/');
    // A folder's URL serves its index.html, with the type of the file it serves.
    const path = asked === '' || asked.endsWith('/') ? `${asked}index.html` : asked;
    const body = id ? deployments.get(id)?.get(path) : undefined;
    if (request.method !== 'GET' || !body) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const deployer: Deployer = {
    specificationVersion: 'v1',
    async deploy({ jobId, commit, siteName, outputDir, report, signal }) {
      signal?.throwIfAborted();
      const deploymentId = `mem_${createHash('sha256').update(`${jobId}\n${commit}`).digest('hex').slice(0, 16)}`;
      if (!deployments.has(deploymentId)) {
        const files = await readTree(outputDir).catch((error: unknown) => {
          // The core's errors only: a raw fs error would count as a bug.
          const code = (error as { code?: string }).code;
          const message = `Cannot read the built site at ${outputDir}: ${(error as Error).message}`;
          throw ['EMFILE', 'ENFILE', 'EBUSY', 'EAGAIN'].includes(code ?? '')
            ? new TransientError(message, { cause: error })
            : new PermanentError(message, { cause: error });
        });
        if (!files.has('index.html'))
          throw new PermanentError(`The built site at ${outputDir} has no index.html to publish`);
        signal?.throwIfAborted();
        deployments.set(deploymentId, files);
        report.log(`Stored ${files.size} files as ${deploymentId} in memory`);
      }
      production.set(siteName, deploymentId);
      return {
        provider: 'memory-host',
        deploymentId,
        stagingUrl: `${url}/d/${deploymentId}/`,
        productionUrl: `${url}/p/${encodeURIComponent(siteName)}/`,
      };
    },
  };

  return {
    deployer,
    deployments,
    production,
    url,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
  };
}
