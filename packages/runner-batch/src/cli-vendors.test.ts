import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  endTurn,
  type MessagesStandIn,
  scripted,
  startMessagesStandIn,
  toolCalls,
} from '@mvp-pipeline/adapters-claude/testing';
import { type GitHubStandIn, startGitHubStandIn } from '@mvp-pipeline/adapters-github/testing';
import { startVercelStandIn, type VercelStandIn } from '@mvp-pipeline/adapters-vercel/testing';
import type { Job } from '@mvp-pipeline/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './testing/harness.js';

// The production adapters, wired by the configuration as in the Batch container, against local
// stand-ins of GitHub (with real git smart HTTP), the Anthropic Messages API and Vercel.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const GITHUB_TOKEN = 'ghp_' + 'standInToken000000000000000000000001';
const ANTHROPIC_API_KEY = 'sk-ant-' + 'standin-key-0000000000000000';
const VERCEL_TOKEN = 'vercel-standin-token-000000000001';

let github: GitHubStandIn;
let claude: MessagesStandIn;
let vercel: VercelStandIn;
let work: string;

const spec = JSON.parse(await readFile(join(root, 'examples/eventhub.json'), 'utf8'));

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'mvp-cli-vendors-'));
  github = await startGitHubStandIn({ token: GITHUB_TOKEN });
  vercel = await startVercelStandIn({ token: VERCEL_TOKEN });
  // The model fills the landing template's content file from the spec, then says it is done.
  claude = await startMessagesStandIn({
    apiKey: ANTHROPIC_API_KEY,
    script: scripted(
      [
        toolCalls([{ name: 'read_file', input: { path: 'src/site.json' } }]),
        toolCalls([
          { name: 'write_file', input: { path: 'src/site.json', content: JSON.stringify(spec, null, 2) } },
        ]),
        toolCalls([{ name: 'run_command', input: { name: 'build' } }]),
      ],
      () => endTurn('EventHub is built: hero, one section per feature, the audience.'),
    ),
  });
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([github?.close(), claude?.close(), vercel?.close()]);
  await rm(work, { recursive: true, force: true });
});

const mvp = (args: string[], env: Record<string, string>) => runCli(args, { env, cwd: work });

/** Every small file under `dir` (records, logs, checkpoints, workspaces), as one text. */
async function readTree(dir: string): Promise<string> {
  const parts: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || entry.parentPath.includes('node_modules')) continue;
    const file = join(entry.parentPath, entry.name);
    if ((await stat(file)).size < 1_000_000) parts.push(await readFile(file, 'latin1'));
  }
  return parts.join('\n');
}

describe('mvp run with GitHub, Claude and Vercel', () => {
  it('develops with Claude, pushes to GitHub and goes live on Vercel', async () => {
    const run = await mvp(['run', '--spec', join(root, 'examples/eventhub.json'), '--json'], {
      MVP_DATA_DIR: join(work, '.mvp'),
      MVP_REPO_HOST: 'github',
      GITHUB_TOKEN,
      GITHUB_API_URL: github.url,
      MVP_CODE_GENERATOR: 'claude',
      ANTHROPIC_API_KEY,
      ANTHROPIC_BASE_URL: claude.url,
      MVP_DEPLOYER: 'vercel',
      VERCEL_TOKEN,
      VERCEL_API_URL: vercel.apiUrl,
    });
    expect(run.code, run.stderr).toBe(0);
    const job = JSON.parse(run.stdout) as Job;
    expect(job).toMatchObject({ status: 'COMPLETED' });
    expect(job.checkpoints.AI_DEVELOPMENT?.generator).toMatch(/^claude:/);
    expect(job.usage.outputTokens).toBeGreaterThan(0);
    expect(job.usage.cacheReadTokens).toBeGreaterThan(0);
    expect(job.usage.costUsd).toBeGreaterThan(0);
    expect(job.resources.githubRepo?.name).toBe(`${github.login}/eventhub-mvp`);
    expect(job.resources.vercel?.deploymentId).toBeDefined();
    expect(github.repos().map((r) => r.name)).toEqual(['eventhub-mvp']);
    expect(vercel.deployments().length).toBeGreaterThan(0);

    const page = await (await fetch(job.urls.production!)).text();
    expect(page).toContain('EventHub');
    expect(page).toContain('Door check-in on mobile');

    const status = await mvp(['status', job.jobId], { MVP_DATA_DIR: join(work, '.mvp') });
    expect(status.stdout).toMatch(
      /AI cost \$\d+\.\d+ \([\d.]+k? tokens in, cache \d+%; [\d.]+k? out\): development \$\d+\.\d+/,
    );

    // Staging sits behind Deployment Protection: the run checked it with the project's bypass.
    expect((await fetch(job.urls.staging!)).status).toBe(401);
    const bypass = vercel.projects().flatMap((p) => p.bypassSecrets);
    expect(bypass).toHaveLength(1);

    // The key travels in the API's auth header only: never in what the model or its tools see.
    const everything = [
      run.stdout,
      run.stderr,
      status.stdout,
      claude.requests.map((r) => r.raw).join('\n'),
      await readTree(join(work, '.mvp')),
    ].join('\n');
    for (const secret of [GITHUB_TOKEN, ANTHROPIC_API_KEY, VERCEL_TOKEN, ...bypass])
      expect(everything).not.toContain(secret);
  });
});
