// Vercel API calls and the files and bytes the Vercel deployer uploads per static job: a first
// deploy, then a re-deploy after a one-file change. Runs against the local Vercel stand-in (no
// network), which throttles every fifth status poll (429) as a busy API does. Needs `tsc -b` first.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
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

/** `12 uploads, 2 creates, …`: the calls by what they did, most first. */
function breakdown(requests) {
  const kinds = new Map();
  for (const { method, path } of requests) {
    const kind =
      path === '/v2/files'
        ? 'uploads'
        : path === '/v11/projects'
          ? 'project create'
          : path.startsWith('/v9/projects/')
            ? 'project read'
            : path.endsWith('/protection-bypass')
              ? 'bypass'
              : path === '/v13/deployments'
                ? 'creates'
                : path === '/v6/deployments'
                  ? 'lists'
                  : path.startsWith('/v13/deployments/')
                    ? 'polls'
                    : `${method} ${path}`;
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  return [...kinds]
    .sort((a, b) => b[1] - a[1])
    .map(([kind, count]) => `${count} ${kind}`)
    .join(', ');
}

const sha1 = (content) => createHash('sha1').update(content).digest('hex');
const size = (content) => Buffer.byteLength(content);

export async function run() {
  const standIn = await startVercelStandIn({ pollRateLimit: { every: 5 } });
  const dirs = [];
  try {
    const deployer = createVercelDeployer(
      { token: standIn.token, apiUrl: standIn.apiUrl, pollIntervalMs: 1 },
      { sleep: async () => {} },
    );
    const deploy = async (files, commit) => {
      const dir = await writeSite(files);
      dirs.push(dir);
      const before = standIn.uploads.length;
      const calls = standIn.requests.length;
      const saved = {};
      await deployer.deploy({
        jobId: 'job_bench',
        commit,
        siteName: 'eventhub-b3nch0',
        projectName: 'eventhub',
        outputDir: dir,
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
    ];
  } finally {
    await standIn.close();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.table(await run());
}
