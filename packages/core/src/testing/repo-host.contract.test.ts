import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { RepoRef } from '../domain/job.js';
import { stableHash } from '../domain/naming.js';
import { NotFoundError, PermanentError, RateLimitedError, TransientError } from '../errors.js';
import type { RepoHost } from '../ports/repo-host.port.js';
import { faultyFetch } from './faults.js';
import type { FilesAccess } from './files-access.js';
import { type RepoHostHarness, repoHostContract } from './repo-host.contract.js';
import { contractCases } from './test-api.js';

/** A registry of repository names over HTTP (who owns which name): the host's remote side. */
async function nameRegistry() {
  const owners = new Map<string, string>();
  const server = createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1));
    if (req.method === 'GET') {
      const owner = owners.get(name);
      res.writeHead(owner ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify({ owner }));
      return;
    }
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      if (owners.has(name)) return void res.writeHead(409).end();
      owners.set(name, (JSON.parse(body) as { jobId: string }).jobId);
      res.writeHead(201).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    count: () => owners.size,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type Tree = Record<string, string>;

/** Workspaces in memory. */
function memoryFiles(): FilesAccess & { tree(dir: string): Tree; fill(dir: string, tree: Tree): void } {
  const dirs = new Map<string, Map<string, string>>();
  let n = 0;
  const dir = (d: string) => dirs.get(d) ?? new Map<string, string>();
  return {
    newWorkspace: async (jobId = 'job') => {
      const d = `/ws/${jobId}-${++n}`;
      dirs.set(d, new Map());
      return { jobId, dir: d };
    },
    write: async (ws, path, content) => void dirs.set(ws.dir, dir(ws.dir).set(path, content)),
    read: async (ws, path) => dir(ws.dir).get(path),
    remove: async (ws, path) => void dir(ws.dir).delete(path),
    list: async (ws) => [...dir(ws.dir).keys()].sort(),
    tree: (d) => Object.fromEntries(dir(d)),
    fill: (d, tree) => void dirs.set(d, new Map(Object.entries(tree))),
  };
}

/** A repo host: names claimed over HTTP, commits kept in memory. Right unless `broken`. */
function repoHost(
  registry: string,
  fetchFn: typeof fetch,
  files: ReturnType<typeof memoryFiles>,
  broken: boolean,
) {
  const repos = new Map<string, { head?: string; commits: Map<string, Tree> }>();
  async function call(url: string, init: RequestInit, signal?: AbortSignal): Promise<Response> {
    if (broken) return fetchFn(url, init);
    let response: Response;
    try {
      response = await fetchFn(url, { ...init, ...(signal ? { signal } : {}) });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw new TransientError(`The registry did not answer: ${(error as Error).message}`);
    }
    if (response.status === 429)
      throw new RateLimitedError('The registry is rate limiting', {
        retryAfterMs: Number(response.headers.get('retry-after')) * 1000,
      });
    if (response.status >= 500) throw new TransientError(`The registry answered ${response.status}`);
    if (response.status >= 400 && response.status !== 404 && response.status !== 409)
      throw new PermanentError(`The registry refused (${response.status})`);
    return response;
  }
  const ref = (name: string): RepoRef => ({
    name,
    fullName: name,
    url: `mem://${name}`,
    cloneUrl: `mem://${name}`,
    branch: 'main',
  });
  const host: RepoHost = {
    specificationVersion: 'v1',
    async ensureRepo({ jobId, name, signal }) {
      if (!broken) signal?.throwIfAborted();
      for (let i = 1; i <= 5; i++) {
        const candidate = i === 1 ? name : `${name}-${i}`;
        const found = await call(`${registry}/${candidate}`, {}, signal);
        if (broken && !found.ok && found.status !== 404) throw new Error(`HTTP ${found.status}`);
        if (found.ok) {
          if (((await found.json()) as { owner?: string }).owner === jobId)
            return { repo: ref(candidate), created: false, provider: 'test-host' };
          continue;
        }
        const made = await call(
          `${registry}/${candidate}`,
          { method: 'PUT', body: JSON.stringify({ jobId }) },
          signal,
        );
        if (made.status === 201) {
          repos.set(candidate, { commits: new Map() });
          return { repo: ref(candidate), created: true, provider: 'test-host' };
        }
      }
      throw new PermanentError(`No free name for ${name}`);
    },
    async push({ repo, workspace, message, date, signal }) {
      if (!broken) signal?.throwIfAborted();
      const held = repos.get(repo.name) ?? { commits: new Map<string, Tree>() };
      repos.set(repo.name, held);
      const tree = files.tree(workspace.dir);
      if (held.head && stableHash(held.commits.get(held.head)) === stableHash(tree))
        return { commit: held.head, pushed: false };
      const commit = `${stableHash({ tree, parent: held.head ?? null, message, date: date.toISOString() })}`;
      held.commits.set(commit, tree);
      held.head = commit;
      return { commit, pushed: true };
    },
    async checkout({ repo, workspace, commit, signal }) {
      if (!broken) signal?.throwIfAborted();
      const held = repos.get(repo.name);
      const at = commit ?? held?.head;
      const tree = at ? held?.commits.get(at) : undefined;
      if (!at || !tree) throw new NotFoundError(`${repo.name} has no commit ${at}`);
      files.fill(workspace.dir, tree);
      return { commit: at };
    },
  };
  return host;
}

async function failures(broken: boolean) {
  const cases = contractCases(expect, (t) =>
    repoHostContract(
      t,
      'meta',
      async (): Promise<RepoHostHarness> => {
        const registry = await nameRegistry();
        const faults = faultyFetch();
        const files = memoryFiles();
        return {
          host: repoHost(registry.url, faults.fetch, files, broken),
          files,
          faults,
          repoCount: async () => registry.count(),
          dispose: async () => {
            await faults.clear();
            await registry.close();
          },
        };
      },
      { network: true },
    ),
  );
  const failed: Array<{ name: string; message: string }> = [];
  for (const c of cases) {
    try {
      await c.run();
    } catch (error) {
      failed.push({ name: c.name, message: String(error).replace(/\s+/g, ' ') });
    }
  }
  return failed;
}

describe('the RepoHost contract suite catches a broken host', () => {
  it('passes a host that does it right', async () => {
    expect(await failures(false)).toEqual([]);
  });

  it('fails one that maps no errors and ignores its signal, saying what to fix', async () => {
    const failed = await failures(true);
    const named = (pattern: RegExp) => failed.find((f) => pattern.test(f.name))?.message;
    expect(named(/maps connection-refused/)).toMatch(/raw TypeError: fetch failed.*TransientError/);
    expect(named(/maps server-error/)).toMatch(/raw Error: HTTP 503.*TransientError/);
    expect(named(/maps client-error/)).toMatch(/raw Error: HTTP 400.*PermanentError/);
    expect(named(/aborted before it starts/)).toMatch(/must reject with signal.reason/);
    expect(named(/hangs when the signal aborts/)).toMatch(/did not settle within 5000 ms|signal.reason/);
  }, 30_000);
});
