// A whole app job with Claude (a scripted session against the Messages API stand-in, through the
// real SDK) on the recipes' working baseline: the model extends app.model.json with a field,
// regenerates, adds dependencies (one the registry has, one it lacks, one on the deny list),
// writes a custom page with the one it added, breaks a journey and repairs it after check_app
// reports it, reads the field back with query_database, is refused a protected file, and ends;
// the job then builds, walks the journeys and goes live. The registry of the fixture scope is
// a local stand-in. Slow (an install, builds): in CI, and locally with MVP_SLOW_TESTS=1.
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  endTurn,
  type MessagesStandIn,
  type ScriptContext,
  type StandInReply,
  scripted,
  startMessagesStandIn,
  toolCalls,
} from '@mvp-pipeline/adapters-claude/testing';
import { type NpmRegistryStandIn, startNpmRegistryStandIn } from '@mvp-pipeline/adapters-local/testing';
import { deliveryOf, type Job } from '@mvp-pipeline/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, removeDir, runCli, tempDir } from './harness.js';

const enabled = Boolean(process.env['CI'] || process.env['MVP_SLOW_TESTS']);
if (!enabled)
  console.warn(
    '\n!!! AI app job end-to-end test SKIPPED (slow): set MVP_SLOW_TESTS=1 to run it; CI runs it.\n',
  );

const ANTHROPIC_API_KEY = `sk-ant-${'standin-ai-app-0000000000000000'}`;
const CACHE_DIR = join(tmpdir(), 'mvp-test-cache');
const FEATURE = 'Venue shown on every event';
const BROKEN_FOOTER = '<a href="/api/openapi.json">API</a> <img src="/missing-venue-map.png" alt="" />';
const FOOTER = '<a href="/api/openapi.json">API</a>';
const ABOUT = `import slug from '@mvp-fixture/slug';

export default function About() {
  return (
    <section>
      <h1>About EventHub</h1>
      <p>Every event page says where it happens: {slug('Find The Venue')}</p>
    </section>
  );
}
`;

describe.runIf(enabled)('an app job developed by Claude on the baseline', () => {
  let dataDir: string;
  let claude: MessagesStandIn;
  let registry: NpmRegistryStandIn;
  const seen: ScriptContext[] = [];
  let job: Job;

  const call = (name: string, input: unknown) => ({ name, input });
  const result = (index: number, tool = 0) => seen[index]!.toolResults[tool]!;

  beforeAll(async () => {
    dataDir = await tempDir('mvp-ai-app-');
    registry = await startNpmRegistryStandIn([
      {
        name: '@mvp-fixture/slug',
        version: '2.0.0',
        manifest: { main: 'index.js', types: 'index.d.ts' },
        files: {
          'index.js': "module.exports = (s) => String(s).toLowerCase().replace(/[^a-z0-9]+/g, '-');\n",
          'index.d.ts': 'declare function slug(text: string): string;\nexport = slug;\n',
        },
      },
    ]);
    const replies: ((c: ScriptContext) => StandInReply)[] = [
      () => toolCalls([call('read_file', { path: 'app.model.json' })], 'Reading the model first.'),
      (c) => {
        const model = JSON.parse(c.toolResults[0]!.content);
        const event = model.entities.find((e: { name: string }) => e.name === 'event');
        event.fields.push({ name: 'venue', type: 'text', maxLength: 120, label: 'Venue' });
        model.features = model.features.map((f: { feature: string }) =>
          f.feature === FEATURE ? { feature: FEATURE, builtBy: 'ai', entities: ['event'] } : f,
        );
        return toolCalls([
          call('write_file', { path: 'app.model.json', content: JSON.stringify(model, null, 2) }),
        ]);
      },
      () => toolCalls([call('run_command', { name: 'generate' })]),
      () =>
        toolCalls([
          call('add_dependency', { name: '@mvp-fixture/slug' }),
          call('add_dependency', { name: '@mvp-fixture/no-such-package' }),
          call('add_dependency', { name: 'left-pad' }),
        ]),
      () =>
        toolCalls([
          call('write_file', { path: 'app/about/page.tsx', content: ABOUT }),
          call('edit_file', { path: 'app/layout.tsx', old_text: FOOTER, new_text: BROKEN_FOOTER }),
        ]),
      () => toolCalls([call('check_app', {})]),
      () =>
        toolCalls([call('edit_file', { path: 'app/layout.tsx', old_text: BROKEN_FOOTER, new_text: FOOTER })]),
      () => toolCalls([call('check_app', {})]),
      () =>
        toolCalls([
          call('query_database', {
            sql: "SELECT table_name, column_name FROM information_schema.columns WHERE column_name = 'venue'",
          }),
          call('write_file', { path: 'lib/auth.ts', content: 'export const anyone = true;\n' }),
        ]),
      () => endTurn('EventHub shows each event’s venue; an About page explains it.'),
    ];
    claude = await startMessagesStandIn({
      apiKey: ANTHROPIC_API_KEY,
      script: scripted(
        replies.map((reply) => (c: ScriptContext) => {
          seen.push(c);
          return reply(c);
        }),
      ),
    });
    const spec = JSON.parse(await readFile(join(REPO_ROOT, 'examples/eventhub.json'), 'utf8'));
    spec.specifications.keyFeatures.push(FEATURE);
    await writeFile(join(dataDir, 'spec.json'), JSON.stringify(spec));
    const run = await runCli(['run', '--spec', join(dataDir, 'spec.json'), '--json'], {
      env: {
        MVP_DATA_DIR: join(dataDir, '.mvp'),
        MVP_CACHE_DIR: CACHE_DIR,
        MVP_TEMPLATE: 'app',
        MVP_CODE_GENERATOR: 'claude',
        ANTHROPIC_API_KEY,
        ANTHROPIC_BASE_URL: claude.url,
        MVP_NPM_SCOPE_REGISTRIES: `@mvp-fixture=${registry.url}`,
        MVP_AI_DEPENDENCIES_DENY: 'left-pad',
        MVP_BROWSER_CHECK: 'auto',
        MVP_APP_PORTS: '4640-4649',
        ...(process.env['TEST_DATABASE_URL']
          ? { MVP_DATABASE_PROVISIONER: 'server', MVP_APPS_DATABASE_URL: process.env['TEST_DATABASE_URL'] }
          : {}),
      },
    });
    if (run.code !== 0)
      throw new Error(`mvp run exited ${run.code}:\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-4000)}`);
    job = JSON.parse(run.stdout) as Job;
  }, 900_000);

  afterAll(async () => {
    await Promise.allSettled([claude?.close(), registry?.close()]);
    if (dataDir) await removeDir(dataDir);
  }, 60_000);

  it('completes, live, with every journey passing and the feature the model built marked ai', () => {
    expect(job.status).toBe('COMPLETED');
    expect(job.checkpoints.AI_DEVELOPMENT?.generator).toMatch(/^claude:/);
    expect(job.checkpoints.BUILDING?.journeys?.results.filter((r) => !r.ok)).toEqual([]);
    const features = deliveryOf(job)?.features ?? [];
    expect(features.find((f) => f.feature === FEATURE)?.builtBy).toBe('ai');
    expect(features.filter((f) => f.builtBy === 'recipe').length).toBeGreaterThan(0);
    expect(job.urls.production).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('added the dependency the registry has, pinned, and refused the missing and the denied one', () => {
    const [added, missing, denied] = [0, 1, 2].map((i) => result(4, i));
    expect(added).toMatchObject({ is_error: false });
    expect(added!.content).toMatch(/Added @mvp-fixture\/slug@2\.0\.0 \(exact version/);
    expect(missing!.is_error).toBe(true);
    expect(missing!.content).toMatch(/@mvp-fixture\/no-such-package@latest could not be added/);
    expect(denied!.content).toMatch(/left-pad is on the deny list/);
  });

  it('told the model which journeys its change broke, with what each page showed, and passed once repaired', () => {
    const broken = result(6);
    expect(broken.is_error).toBe(true);
    expect(broken.content).toMatch(/journeys failed/);
    expect(broken.content).toContain('missing-venue-map.png');
    expect(broken.content).toMatch(/## \/\S* \(200\)/);
    expect(broken.content).toMatch(/form: .*Venue (\(optional\) )?\(text\)/);
    const repaired = result(8);
    expect(repaired.is_error, repaired.content.slice(0, 2000)).toBe(false);
    expect(repaired.content).toMatch(/^All \d+ journeys passed \(in a browser\)/);
  });

  it('found the new field in the database the journeys filled, and refused the protected file', () => {
    const query = result(9, 0);
    expect(query.is_error).toBe(false);
    expect(query.content).toMatch(/^table_name \| column_name\n\w+ \| venue/);
    const refused = result(9, 1);
    expect(refused.is_error).toBe(true);
    expect(refused.content).toMatch(/lib\/auth\.ts is protected/);
  });

  it('pushed the model, the page and the pinned dependency, and never the refused write', async () => {
    const repoUrl = job.resources.repository?.url;
    expect(repoUrl).toMatch(/^file:/);
    const { spawnSync } = await import('node:child_process');
    const show = (path: string) =>
      spawnSync('git', ['--git-dir', fileURLToPath(repoUrl!), 'show', `HEAD:${path}`], { encoding: 'utf8' })
        .stdout;
    expect(JSON.parse(show('package.json')).dependencies['@mvp-fixture/slug']).toBe('2.0.0');
    expect(show('app/about/page.tsx')).toContain("slug('Find The Venue')");
    expect(show('app.model.json')).toContain('"venue"');
    expect(show('lib/auth.ts')).not.toContain('anyone');
  });
});
