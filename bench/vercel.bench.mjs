// Files and bytes the Vercel deployer uploads: a first deploy, then a re-deploy after a
// one-file change. Runs against the local Vercel stand-in (no network). Needs `tsc -b` first.
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

const sha1 = (content) => createHash('sha1').update(content).digest('hex');
const size = (content) => Buffer.byteLength(content);

export async function run() {
  const standIn = await startVercelStandIn();
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
      const saved = {};
      await deployer.deploy({
        jobId: 'job_bench',
        commit,
        projectName: 'eventhub',
        outputDir: dir,
        checkpoint: { saved: undefined, save: async (data) => Object.assign(saved, data) },
        report: { log: () => {}, usage: () => {} },
      });
      const uploads = standIn.uploads.slice(before);
      return { files: uploads.length, bytes: uploads.reduce((sum, u) => sum + u.size, 0), uploads };
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
