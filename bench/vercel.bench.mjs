// Vercel API calls and the files and bytes the Vercel deployer uploads per static job and per app
// job (a framework template's source, its environment): a first deploy, then a re-deploy after a
// one-file change. Runs against the local Vercel stand-in (no network), which throttles every
// fifth status poll (429) as a busy API does. Needs `tsc -b` first.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const { createVercelDeployer } = await import(
  new URL('../packages/adapters-vercel/dist/index.js', import.meta.url).href
);
const { startVercelStandIn } = await import(
  new URL('../packages/adapters-vercel/dist/testing/index.js', import.meta.url).href
);

/** A built site shaped like a small static MVP: pages, hashed assets, images. */
function siteFiles() {
  const files = {
    'index.html': '<!doctype html><h1>EventHub</h1><p>Run your meetup without the spreadsheet</p>',
  };
  for (let i = 0; i < 12; i++)
    files[`events/${i}/index.html`] = `<h1>EventHub event ${i}</h1>${'<p>details</p>'.repeat(40)}`;
  for (let i = 0; i < 8; i++)
    files[`assets/chunk-${i}.js`] = `export const c${i} = ${JSON.stringify('x'.repeat(4000 + i * 500))};`;
  files['assets/app.css'] = 'body{font-family:Inter}'.repeat(200);
  for (let i = 0; i < 4; i++) files[`img/photo-${i}.bin`] = Buffer.alloc(30_000 + i * 1000, i + 1);
  return files;
}

async function writeSite(files) {
  const dir = await mkdtemp(path.join(tmpdir(), 'vercel-bench-'));
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  return dir;
}

/** What each REST call did, first match wins. */
const KINDS = [
  [(_m, p) => p === '/v2/files', 'uploads'],
  [(_m, p) => p === '/v11/projects', 'project create'],
  [(_m, p) => p.endsWith('/domains'), 'domains'],
  [(_m, p) => p.endsWith('/env'), 'env upserts'],
  [(_m, p) => p.endsWith('/protection-bypass'), 'bypass'],
  [(m, p) => m === 'PATCH' && p.startsWith('/v9/projects/'), 'project update (Node version)'],
  [(_m, p) => p.startsWith('/v9/projects/'), 'project read'],
  [(_m, p) => p === '/v13/deployments', 'creates'],
  [(_m, p) => p === '/v6/deployments', 'lists'],
  [(_m, p) => p.startsWith('/v13/deployments/'), 'polls'],
];

/** `12 uploads, 2 creates, …`: the calls by what they did, most first. */
function breakdown(requests) {
  const kinds = new Map();
  for (const { method, path } of requests) {
    const kind = KINDS.find(([test]) => test(method, path))?.[1] ?? `${method} ${path}`;
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  return [...kinds]
    .sort((a, b) => b[1] - a[1])
    .map(([kind, count]) => `${count} ${kind}`)
    .join(', ');
}

const sha1 = (content) => createHash('sha1').update(content).digest('hex');
const size = (content) => Buffer.byteLength(content);

/** An app's built workspace: its source, and what is never uploaded (dependencies, build, git). */
function appFiles() {
  const files = {
    'package.json': JSON.stringify({ name: 'eventhub', dependencies: { next: '16.4.6', pg: '8.23.1' } }),
    'pnpm-lock.yaml': 'lockfileVersion: 9.0\n'.repeat(200),
    'app.model.json': JSON.stringify({ version: 1, app: { name: 'EventHub' }, entities: [] }),
    'node_modules/next/dist/server.js': 'x'.repeat(200_000),
    '.next/server/app/page.js': 'y'.repeat(50_000),
    '.next/cache/webpack/0.pack': 'z'.repeat(80_000),
    '.git/HEAD': 'ref: refs/heads/main',
  };
  for (let i = 0; i < 20; i++)
    files[`app/events/${i}/page.tsx`] =
      `export default function P${i}() { return <h1>EventHub ${i}</h1>; }\n${'// route\n'.repeat(60)}`;
  for (let i = 0; i < 10; i++)
    files[`lib/part-${i}.ts`] = `export const part${i} = ${JSON.stringify('p'.repeat(2000 + i))};`;
  return files;
}
const APP_MANIFEST = {
  name: 'app',
  framework: 'nextjs',
  outputDir: '.next',
  buildCache: '.next/cache',
  commands: {
    install: ['pnpm', 'install', '--frozen-lockfile'],
    build: ['node', 'scripts/next.mjs', 'build'],
    start: ['node', 'scripts/next.mjs', 'start'],
  },
  start: { portEnv: 'PORT', readyPath: '/api/health' },
};
const uploadable = (files) =>
  Object.fromEntries(Object.entries(files).filter(([f]) => !/^(node_modules|\.next|\.git)\//.test(f)));

export async function run() {
  // The app's "runtime" is a stub server: the bench counts API calls and bytes, not Next.js.
  const servers = [];
  const runSource = async () => {
    const server = createServer((_req, res) =>
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<h1>EventHub</h1>'),
    );
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    return { url: `http://127.0.0.1:${server.address().port}`, stop: async () => server.close() };
  };
  const standIn = await startVercelStandIn({ pollRateLimit: { every: 5 }, runSource });
  const dirs = [];
  const secrets = new Map();
  try {
    const deployer = createVercelDeployer(
      { token: standIn.token, apiUrl: standIn.apiUrl, pollIntervalMs: 1 },
      {
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 5))),
        databases: {
          specificationVersion: 'v1',
          provision: async ({ jobId, purpose }) => ({
            resource: {
              provider: 'bench',
              purpose,
              database: `db_${jobId}`,
              role: `db_${jobId}`,
              host: '127.0.0.1:5432',
              secretRef: 'none',
            },
            connectionUrl: `postgresql://db_${jobId}:benchPassw0rd-${jobId}@127.0.0.1:5432/db_${jobId}`,
            created: false,
          }),
          describe: async () => ({ resource: undefined }),
          release: async () => ({ removed: false }),
        },
        secrets: {
          async ensure(name, generate) {
            if (!secrets.has(name)) secrets.set(name, generate());
            return secrets.get(name);
          },
        },
      },
    );
    const deploy = async (files, commit, job = {}) => {
      const dir = await writeSite(files);
      dirs.push(dir);
      const before = standIn.uploads.length;
      const calls = standIn.requests.length;
      const saved = {};
      await deployer.deploy({
        jobId: job.jobId ?? 'job_bench',
        commit,
        siteName: job.siteName ?? 'eventhub-b3nch0',
        projectName: 'eventhub',
        outputDir: dir,
        ...(job.manifest ? { manifest: job.manifest } : {}),
        // A new commit is a new DEPLOYING step: it starts without a checkpoint.
        checkpoint: { saved: undefined, save: async (data) => Object.assign(saved, data) },
        report: { log: () => {}, usage: () => {} },
      });
      const uploads = standIn.uploads.slice(before);
      const requests = standIn.requests.slice(calls);
      return {
        files: uploads.length,
        bytes: uploads.reduce((sum, u) => sum + u.size, 0),
        uploads,
        calls: requests.length,
        breakdown: breakdown(requests),
      };
    };

    const files = siteFiles();
    const unique = new Map(Object.values(files).map((c) => [sha1(c), size(c)]));
    const siteBytes = [...unique.values()].reduce((a, b) => a + b, 0);
    const first = await deploy(files, 'c0ffee1');

    const changed = { ...files, 'index.html': `${files['index.html']}<p>Now with waitlists</p>` };
    const changedSha = sha1(changed['index.html']);
    const changedBytes = size(changed['index.html']);
    const again = await deploy(changed, 'c0ffee2');
    const onlyChanged = again.files === 1 && again.uploads[0]?.sha === changedSha;

    return [
      {
        name: 'vercel first deploy: API calls',
        value: first.calls,
        unit: 'calls',
        goal: first.breakdown,
      },
      {
        name: 'vercel first deploy: files uploaded',
        value: first.files,
        unit: 'files',
        goal: `each distinct file once (${unique.size})`,
        pass: first.files === unique.size,
      },
      {
        name: 'vercel first deploy: bytes uploaded',
        value: first.bytes,
        unit: 'B',
        goal: `the site's distinct bytes (${siteBytes})`,
        pass: first.bytes === siteBytes,
      },
      {
        name: 'vercel re-deploy after a one-file change: API calls',
        value: again.calls,
        unit: 'calls',
        goal: again.breakdown,
      },
      {
        name: 'vercel re-deploy after a one-file change: files uploaded',
        value: again.files,
        unit: 'files',
        goal: 'only the changed file (1)',
        pass: onlyChanged,
      },
      {
        name: 'vercel re-deploy after a one-file change: bytes uploaded',
        value: again.bytes,
        unit: 'B',
        goal: `only the changed file's bytes (${changedBytes})`,
        pass: onlyChanged && again.bytes === changedBytes,
      },
      ...(await appFigures(deploy)),
    ];
  } finally {
    await standIn.close();
    for (const server of servers) server.close();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/** The same two deploys for an app job: its source (not dependencies or build), its environment. */
async function appFigures(deploy) {
  const job = { jobId: 'job_bench_app', siteName: 'eventhub-app0b1', manifest: APP_MANIFEST };
  const files = appFiles();
  const sent = uploadable(files);
  const unique = new Map(Object.values(sent).map((c) => [sha1(c), size(c)]));
  const sourceBytes = [...unique.values()].reduce((a, b) => a + b, 0);
  const first = await deploy(files, 'a11ce01', job);
  const page = 'app/events/0/page.tsx';
  const changed = { ...files, [page]: `${files[page]}// waitlist\n`, '.next/server/app/page.js': 'rebuilt' };
  const changedBytes = size(changed[page]);
  const again = await deploy(changed, 'a11ce02', job);
  const onlyChanged = again.files === 1 && again.uploads[0]?.sha === sha1(changed[page]);
  return [
    { name: 'vercel app first deploy: API calls', value: first.calls, unit: 'calls', goal: first.breakdown },
    {
      name: 'vercel app first deploy: bytes uploaded',
      value: first.bytes,
      unit: 'B',
      goal: `the source's distinct bytes (${sourceBytes}; no node_modules, .next or .git)`,
      pass: first.bytes === sourceBytes,
    },
    {
      name: 'vercel app re-deploy after a one-file change: API calls',
      value: again.calls,
      unit: 'calls',
      goal: again.breakdown,
    },
    {
      name: 'vercel app re-deploy after a one-file change: bytes uploaded',
      value: again.bytes,
      unit: 'B',
      goal: `only the changed file's bytes (${changedBytes})`,
      pass: onlyChanged && again.bytes === changedBytes,
    },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.table(await run());
}
