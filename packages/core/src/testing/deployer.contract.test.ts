import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shortHash } from '../domain/naming.js';
import { PermanentError, PipelineError, RateLimitedError, TransientError } from '../errors.js';
import type { Deployer } from '../ports/deployer.port.js';
import { type DeployerHarness, deployerContract } from './deployer.contract.js';
import { faultyFetch } from './faults.js';
import { contractCases } from './test-api.js';

/** What a deployer can get wrong, one at a time. */
interface Breakage {
  /** Lets fetch, fs and HTTP failures through as they come. */
  rawErrors?: boolean;
  /** The host stores and serves every file as application/octet-stream (the S3 mistake). */
  octetStream?: boolean;
  /** Names production after projectName: two founders share one site. */
  shareSite?: boolean;
  /** Copies a new deployment over the site's files instead of replacing them. */
  mergeFiles?: boolean;
  /** Never looks at its signal. */
  ignoreSignal?: boolean;
  /** Resumes whatever deployment the checkpoint names, whatever its commit. */
  blindCheckpoint?: boolean;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
};

/** A site host with an upload API: deployments are uploaded file by file, sites point at one. */
async function startHost(breakage: Breakage) {
  const deployments = new Map<string, Map<string, string>>();
  const sites = new Map<string, Map<string, string>>();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://host');
    const [, kind, name = '', ...rest] = url.pathname.split('/').map(decodeURIComponent);
    const body = await new Promise<string>((resolve) => {
      let text = '';
      req.on('data', (chunk) => {
        text += chunk;
      });
      req.on('end', () => resolve(text));
    });
    const send = (status: number, text = '', type = 'text/plain') =>
      res.writeHead(status, { 'content-type': type }).end(text);
    if (kind === 'api-deployments' && req.method === 'GET')
      return send(deployments.has(name) ? 200 : 404, deployments.has(name) ? '{}' : '');
    if (kind === 'api-deployments' && req.method === 'PUT') {
      const files = deployments.get(name) ?? new Map<string, string>();
      files.set(rest.join('/'), body);
      deployments.set(name, files);
      return send(200);
    }
    if (kind === 'api-sites' && req.method === 'POST') {
      const files = deployments.get(url.searchParams.get('deployment') ?? '');
      if (!files) return send(404);
      const merged = url.searchParams.get('merge') ? new Map([...(sites.get(name) ?? []), ...files]) : files;
      sites.set(name, new Map(merged));
      return send(200);
    }
    const files = kind === 'd' ? deployments.get(name) : kind === 's' ? sites.get(name) : undefined;
    const asked = rest.join('/');
    const file = asked === '' || asked.endsWith('/') ? `${asked}index.html` : asked;
    const content = files?.get(file);
    if (req.method !== 'GET' || content === undefined) return send(404, 'not found');
    send(
      200,
      content,
      breakage.octetStream
        ? 'application/octet-stream'
        : (TYPES[path.extname(file)] ?? 'application/octet-stream'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    deployments,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function readTree(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    files.set(path.relative(dir, file).split(path.sep).join('/'), await readFile(file, 'utf8'));
  }
  return files;
}

/** A deployer for that host, right unless told how to be wrong. */
function hostDeployer(host: string, fetchFn: typeof fetch, breakage: Breakage): Deployer {
  async function call(what: string, url: string, init: RequestInit, signal?: AbortSignal): Promise<Response> {
    const withSignal = breakage.ignoreSignal || !signal ? init : { ...init, signal };
    if (breakage.rawErrors) {
      const response = await fetchFn(url, withSignal);
      if (!response.ok && response.status !== 404) throw new Error(`${what}: HTTP ${response.status}`);
      return response;
    }
    let response: Response;
    try {
      response = await fetchFn(url, withSignal);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw new TransientError(`${what}: the host did not answer (${(error as Error).message})`, {
        cause: error,
      });
    }
    if (response.ok || response.status === 404) return response;
    if (response.status === 429) {
      const seconds = Number(response.headers.get('retry-after') ?? '60');
      throw new RateLimitedError(`${what}: rate limited`, { retryAfterMs: seconds * 1000 });
    }
    if (response.status >= 500) throw new TransientError(`${what}: HTTP ${response.status}`);
    throw new PermanentError(`${what}: HTTP ${response.status}`);
  }

  return {
    specificationVersion: 'v1',
    async deploy({ jobId, commit, siteName, projectName, outputDir, checkpoint, signal }) {
      if (!breakage.ignoreSignal) signal?.throwIfAborted();
      const saved = checkpoint.saved;
      const resumable = breakage.blindCheckpoint || saved?.commit === commit;
      const deploymentId =
        resumable && typeof saved?.deploymentId === 'string'
          ? saved.deploymentId
          : `dpl_${shortHash(`${jobId}\0${commit}`)}`;
      await checkpoint.save({ commit, deploymentId });
      const known = await call(
        'look up the deployment',
        `${host}/api-deployments/${deploymentId}`,
        {},
        signal,
      );
      if (known.status === 404) {
        const files = breakage.rawErrors
          ? await readTree(outputDir)
          : await readTree(outputDir).catch((error: unknown) => {
              throw new PermanentError(`Cannot read ${outputDir}: ${(error as Error).message}`);
            });
        if (!breakage.ignoreSignal) signal?.throwIfAborted();
        for (const [file, content] of files)
          await call(
            `upload ${file}`,
            `${host}/api-deployments/${deploymentId}/${file}`,
            { method: 'PUT', body: content },
            signal,
          );
      }
      const site = breakage.shareSite ? projectName : siteName;
      await call(
        'point the site',
        `${host}/api-sites/${site}?deployment=${deploymentId}${breakage.mergeFiles ? '&merge=1' : ''}`,
        { method: 'POST' },
        signal,
      );
      return {
        provider: 'test-host',
        deploymentId,
        stagingUrl: `${host}/d/${deploymentId}/`,
        productionUrl: `${host}/s/${site}/`,
      };
    },
  };
}

const scratch = await mkdtemp(path.join(tmpdir(), 'deployer-meta-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));
let sites = 0;

async function harness(breakage: Breakage): Promise<DeployerHarness> {
  const host = await startHost(breakage);
  const faults = faultyFetch();
  return {
    deployer: hostDeployer(host.url, faults.fetch, breakage),
    faults,
    async site(files) {
      const dir = path.join(scratch, `site-${++sites}`);
      for (const [name, content] of Object.entries(files)) {
        await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
        await writeFile(path.join(dir, name), content);
      }
      return dir;
    },
    deploymentCount: async () => host.deployments.size,
    dispose: async () => {
      await faults.clear();
      await host.close();
    },
  };
}

/** Runs every case of the suite against the deployer; returns the ones that failed. */
async function failures(breakage: Breakage): Promise<Array<{ name: string; message: string }>> {
  const cases = contractCases(expect, (t) =>
    deployerContract(t, 'meta', () => harness(breakage), { network: true }),
  );
  const failed: Array<{ name: string; message: string }> = [];
  for (const c of cases) {
    try {
      await c.run();
    } catch (error) {
      failed.push({ name: c.name, message: PipelineError.isInstance(error) ? error.message : String(error) });
    }
  }
  return failed;
}

describe('the Deployer contract suite catches broken deployers', () => {
  it('passes a deployer that does it right (so the failures below are the breakage’s)', async () => {
    expect(await failures({})).toEqual([]);
  });

  const broken: Array<[string, Breakage, RegExp, RegExp]> = [
    [
      'maps no errors',
      { rawErrors: true },
      /maps connection-refused to TRANSIENT/,
      /rejected with a raw TypeError: fetch failed.*TransientError/,
    ],
    ['maps no fs errors', { rawErrors: true }, /refuses build output/, /raw Error: ENOENT.*PermanentError/],
    [
      'serves application/octet-stream',
      { octetStream: true },
      /publishes a site/,
      /must be served as text\/html.*"application\/octet-stream"/,
    ],
    [
      'shares one site between two founders',
      { shareSite: true },
      /two jobs with the same product name/,
      /got one production URL: name the site after the job's siteName/,
    ],
    [
      'keeps the pages of an earlier commit',
      { mergeFiles: true },
      /removes from production the pages/,
      /still answers after a commit that removed it/,
    ],
    [
      'ignores its abort signal',
      { ignoreSignal: true },
      /aborted before it starts/,
      /must reject with signal.reason/,
    ],
    [
      'resumes any deployment its checkpoint names',
      { blindCheckpoint: true },
      /another commit from the checkpoint/,
      /check the saved commit before resuming/,
    ],
  ];

  for (const [what, breakage, caseName, message] of broken) {
    it(`fails a deployer that ${what}, saying what to fix`, async () => {
      const failed = await failures(breakage);
      const hit = failed.find((f) => caseName.test(f.name));
      expect(
        hit,
        `no failing case matched ${caseName}; failed: ${failed.map((f) => f.name).join(', ')}`,
      ).toBeDefined();
      expect(hit?.message.replace(/\s+/g, ' ')).toMatch(message);
    }, 30_000);
  }
});
