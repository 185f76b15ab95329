// @ts-check
// Our own site host: a Deployer that copies each deployment into a folder of ours and serves the
// folders over HTTP on 127.0.0.1. Written against the published types of @mvp-pipeline/core only.
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { PermanentError, TransientError } from '@mvp-pipeline/core';

/** @typedef {import('@mvp-pipeline/core').Deployer} Deployer */

/** The content types the pipeline's site check needs: pages must be served as HTML. */
const TYPES = /** @type {Record<string, string>} */ ({
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
});

/** @param {string} text */
const shortHash = (text) => createHash('sha256').update(text).digest('hex').slice(0, 12);

/**
 * Our file-system errors in the core's vocabulary: a full or busy disk may clear up (retried),
 * anything else will not.
 * @param {unknown} error
 * @param {string} what
 */
function mapError(error, what) {
  const code = /** @type {{ code?: string }} */ (error)?.code;
  const message = `${what}: ${error instanceof Error ? error.message : String(error)}`;
  if (code && ['ENOSPC', 'EBUSY', 'EAGAIN', 'EMFILE', 'ENFILE', 'EIO'].includes(code)) {
    return new TransientError(message, { cause: error });
  }
  return new PermanentError(message, { cause: error });
}

/**
 * Starts the host on 127.0.0.1 (a free port) over `root`. A deployment is
 * `<root>/deployments/<id>/`, served at `/d/<id>/`; each job's site is `/s/<siteName>/` (the core's
 * per-job site name: two founders with the same product name get two sites), pointing at the
 * job's latest deployment.
 * @param {{ root: string }} options
 * @returns {Promise<{ deployer: Deployer, url: string, close(): Promise<void> }>}
 */
export async function startStaticHost({ root }) {
  /** @type {Map<string, string>} site name → deployment id */
  const sites = new Map();
  const deployments = join(root, 'deployments');
  await mkdir(deployments, { recursive: true });

  const server = createServer(async (request, response) => {
    try {
      const [, kind, name, ...rest] = decodeURIComponent(
        new URL(request.url ?? '/', 'http://host').pathname,
      ).split('/');
      const id = kind === 'd' ? name : kind === 's' ? sites.get(name ?? '') : undefined;
      let path = rest.join('/');
      if (path === '' || path.endsWith('/')) path += 'index.html';
      const file = id ? normalize(join(deployments, id, path)) : undefined;
      if (request.method !== 'GET' || !file || !file.startsWith(join(deployments, id ?? '') + sep)) {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      const body = await readFile(file);
      response
        .writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' })
        .end(body);
    } catch {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  const url = `http://127.0.0.1:${address.port}`;

  /** @type {Deployer} */
  const deployer = {
    specificationVersion: 'v1',
    async deploy({ jobId, commit, siteName, outputDir, report, signal }) {
      signal?.throwIfAborted();
      // The same (job, commit) is the same deployment: a retried deploy finds it.
      const deploymentId = `dpl_${shortHash(`${jobId}\n${commit}`)}`;
      const target = join(deployments, deploymentId);
      const exists = await stat(target).then(
        () => true,
        () => false,
      );
      if (!exists) {
        const temp = `${target}.${process.pid}.tmp`;
        try {
          await rm(temp, { recursive: true, force: true });
          await cp(outputDir, temp, { recursive: true });
          signal?.throwIfAborted();
          await rename(temp, target);
        } catch (error) {
          await rm(temp, { recursive: true, force: true });
          if (signal?.aborted) throw signal.reason;
          throw mapError(error, `publishing ${outputDir}`);
        }
        report.log(`Published ${deploymentId} to our host`);
      }
      // The core's per-job site name: two founders with the same product name get two sites.
      const site = siteName;
      sites.set(site, deploymentId);
      return {
        provider: 'outside-static',
        deploymentId,
        stagingUrl: `${url}/d/${deploymentId}/`,
        productionUrl: `${url}/s/${encodeURIComponent(site)}/`,
      };
    },
  };

  return {
    deployer,
    url,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve, reject) => server.close((e) => (e ? reject(e) : resolve(undefined))));
    },
  };
}
