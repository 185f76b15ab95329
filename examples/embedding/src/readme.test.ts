// The root README's "Embedding" snippet runs as written: this test takes the first ```ts block of
// that section, writes it to a file beside a `./my-deployer.js` (our memory host's Deployer, the
// one module the snippet asks the reader for), imports it from the repository root and checks
// the job it ran COMPLETED on our host.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** The first ```ts block under `## Embedding` in README.md. */
async function embeddingSnippet(): Promise<string> {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((part) => part.startsWith('Embedding\n'));
  if (!section) throw new Error('README.md has no "## Embedding" section');
  const block = /^```ts\n([\s\S]*?)^```$/m.exec(section);
  if (!block?.[1]) throw new Error('the Embedding section of README.md has no ```ts block');
  return block[1];
}

let dir: string;
let dataDir: string;
let cwd: string;
const saved = { ...process.env };

beforeEach(async () => {
  // Inside this package (gitignored test-output/), so the snippet's imports resolve as ours do.
  await mkdir(join(root, 'examples/embedding/test-output'), { recursive: true });
  dir = await mkdtemp(join(root, 'examples/embedding/test-output/readme-'));
  dataDir = await mkdtemp(join(tmpdir(), 'mvp-readme-'));
  process.env['MVP_DATA_DIR'] = dataDir;
  process.env['MVP_NOTIFIER'] = 'none';
  // The snippet's spec path is relative to the repository root, where its reader runs it.
  cwd = process.cwd();
  process.chdir(root);
});

afterEach(async () => {
  process.chdir(cwd);
  process.env = { ...saved };
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
});

it("runs the README's embedding snippet as written, with a Deployer of our own", async () => {
  const snippet = await embeddingSnippet();
  expect(snippet).toContain("from './my-deployer.js'");
  await writeFile(
    join(dir, 'my-deployer.ts'),
    [
      "import { startMemoryHost } from '../../src/memory-host.js';",
      'export const host = await startMemoryHost();',
      'export const myDeployer = host.deployer;',
      '',
    ].join('\n'),
  );
  await writeFile(join(dir, 'snippet.ts'), snippet);
  const printed: unknown[][] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    printed.push(args);
  });
  const { host } = (await import(join(dir, 'my-deployer.ts'))) as typeof import('./memory-host.js') & {
    host: import('./memory-host.js').MemoryHost;
  };
  try {
    await import(join(dir, 'snippet.ts'));
    expect(printed).toHaveLength(1);
    const [status, url] = printed[0]!;
    expect(status).toBe('COMPLETED');
    expect(String(url).startsWith(`${host.url}/p/`)).toBe(true);
    expect(host.deployments.size).toBe(1);
    const page = await fetch(String(url));
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('EventHub');
  } finally {
    await host.close();
  }
});
