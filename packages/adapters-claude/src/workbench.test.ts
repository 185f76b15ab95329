// The Claude generator on a server app: the workbench's tools reach the model only with a
// workbench, add_dependency obeys the policy, check_app's report goes back to the model, the
// pipeline's check (not the build, not the repository's tests) is the gate of "done", and the
// features the model marks as its own come back from the model file.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AppWorkbench,
  type BuildResult,
  deriveAppModel,
  type JourneyReport,
  type TemplateManifest,
} from '@mvp-pipeline/core';
import { recordingReporter, sampleSpec } from '@mvp-pipeline/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type ClaudeCodeGeneratorSettings, createClaudeCodeGenerator } from './generator.js';
import {
  endTurn,
  type ScriptContext,
  type StandInReply,
  scripted,
  startMessagesStandIn,
  toolCalls,
  writeTinyTemplate,
} from './testing/index.js';
import { dependencyRefusal } from './tools.js';

const KEY = `sk-ant-api03-${'w'.repeat(48)}`;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const BUILT: BuildResult = { ok: true, outputDir: '/x', checks: ['install', 'build', 'migrate'] };
const journeys = (failure?: string): JourneyReport => ({
  mode: 'browser',
  ok: failure === undefined,
  results: [
    { name: 'home', ok: true, durationMs: 5 },
    { name: 'event-create', ok: failure === undefined, durationMs: 5, ...(failure ? { failure } : {}) },
  ],
  pages: [
    {
      path: '/events/new',
      status: 200,
      title: 'New event',
      headings: ['h1: New event'],
      forms: ['Title (text, required), Venue (text) → [Create]'],
      buttons: [],
      links: ['Events → /events'],
      problems: failure ? ['console error: TypeError: venue is undefined'] : [],
    },
  ],
});

/** A workbench that records calls; `checks` are the reports its check gives, in order. */
function recordingWorkbench(checks: JourneyReport[]) {
  const calls: string[] = [];
  const workbench: AppWorkbench = {
    async install() {
      calls.push('install');
      return { ok: true, output: 'linked' };
    },
    async addDependency({ name, version }) {
      calls.push(`add ${name}@${version ?? 'latest'}`);
      return name === 'no-such-thing'
        ? { ok: false, output: 'no-such-thing@latest could not be added: 404 Not Found' }
        : { ok: true, version: '4.1.0', output: `Added ${name}@4.1.0` };
    },
    async check() {
      calls.push('check');
      return { build: BUILT, journeys: checks.shift() ?? journeys() };
    },
    async query({ sql }) {
      calls.push(`query ${sql}`);
      return {
        ok: true,
        columns: ['title', 'venue'],
        rows: [['Launch', 'Hall A']],
        rowCount: 1,
        truncated: false,
      };
    },
  };
  return { workbench, calls };
}

async function session(
  replies: ((c: ScriptContext) => StandInReply)[],
  options: {
    checks?: JourneyReport[];
    settings?: Partial<ClaudeCodeGeneratorSettings>;
    model?: boolean;
  } = {},
) {
  const seen: ScriptContext[] = [];
  const standIn = await startMessagesStandIn({
    apiKey: KEY,
    script: scripted(
      replies.map((reply) => (c: ScriptContext) => {
        seen.push(c);
        return reply(c);
      }),
    ),
  });
  const dir = await mkdtemp(join(tmpdir(), 'claude-bench-'));
  cleanups.push(async () => {
    await standIn.close();
    await rm(dir, { recursive: true, force: true });
  });
  const tiny = await writeTinyTemplate(dir);
  const manifest: TemplateManifest = {
    ...tiny,
    commands: { ...tiny.commands, migrate: ['node', 'migrate.mjs'], install: ['pnpm', 'install'] },
    ...(options.model === false ? {} : { model: 'app.model.json' }),
    start: { portEnv: 'PORT', readyPath: '/' },
  };
  const base = sampleSpec();
  // A feature no recipe builds: the model's to build (builtBy null in the baseline's model).
  const spec = {
    ...base,
    specifications: {
      ...base.specifications,
      keyFeatures: ['Event page with RSVP', 'Ticket payments with Stripe'],
    },
  };
  await writeFile(join(dir, 'app.model.json'), JSON.stringify(deriveAppModel(spec).model, null, 2));
  const { workbench, calls } = recordingWorkbench(options.checks ?? []);
  const generator = createClaudeCodeGenerator({ apiKey: KEY, baseUrl: standIn.url, ...options.settings });
  const report = recordingReporter();
  const result = await generator.generate({
    jobId: 'job_wb',
    spec,
    workspace: { jobId: 'job_wb', dir },
    manifest,
    workbench,
    report,
  });
  return { result, calls, seen, dir, report };
}

const call = (name: string, input: unknown) => ({ name, input });
const toolNames = (c: ScriptContext) => (c.body.tools ?? []).map((t) => (t as { name: string }).name);

describe('the Claude generator with a workbench', () => {
  it("repairs a journey check_app reports, and finishes only when the pipeline's check passes", async () => {
    const { calls, seen, result } = await session(
      [
        () => toolCalls([call('check_app', {})]),
        () => toolCalls([call('write_file', { path: 'src/app.mjs', content: 'export const venue = 1;\n' })]),
        // Done without checking again: the generator's own gate runs the check.
        () => endTurn('Fixed the venue field.'),
      ],
      { checks: [journeys('the form did not submit: venue is required')] },
    );
    expect(toolNames(seen[0]!)).toEqual(
      expect.arrayContaining(['add_dependency', 'check_app', 'query_database']),
    );
    const report = seen[1]!.toolResults[0]!;
    expect(report.is_error).toBe(true);
    expect(report.content).toContain('1 of 2 journeys failed');
    expect(report.content).toContain('event-create: the form did not submit: venue is required');
    expect(report.content).toContain('form: Title (text, required), Venue (text) → [Create]');
    expect(report.content).toContain('PROBLEM: console error: TypeError: venue is undefined');
    // install at the start, the model's check, then the gate's check; never the raw build.
    expect(calls).toEqual(['install', 'check', 'check']);
    expect(result.filesChanged).toContain('src/app.mjs');
  });

  it('sends a failing gate back to the model instead of finishing', async () => {
    const { calls, seen } = await session(
      [
        () => endTurn('All done.'),
        () => toolCalls([call('write_file', { path: 'src/app.mjs', content: 'export const fixed = 1;\n' })]),
        () => endTurn('Now it is done.'),
      ],
      { checks: [journeys('signup: no confirmation shown')] },
    );
    const sentBack = JSON.stringify(seen[1]!.body.messages.at(-1));
    expect(sentBack).toContain("does not pass the pipeline's check");
    expect(sentBack).toContain('signup: no confirmation shown');
    expect(calls.filter((c) => c === 'check')).toHaveLength(2);
  });

  it('adds dependencies through the workbench, refusing what the policy denies without asking it', async () => {
    const { calls, seen } = await session(
      [
        () =>
          toolCalls([
            call('add_dependency', { name: 'date-fns', version: '^4.0.0' }),
            call('add_dependency', { name: 'no-such-thing' }),
            call('add_dependency', { name: 'left-pad' }),
            call('add_dependency', { name: '@evil/tracker' }),
          ]),
        () => toolCalls([call('check_app', {})]),
        () => endTurn('Dates are formatted.'),
      ],
      { settings: { dependencies: { deny: ['left-pad', '@evil/*'] } } },
    );
    const results = seen[1]!.toolResults;
    expect(results[0]).toMatchObject({ is_error: false, content: 'Added date-fns@4.1.0' });
    expect(results[1]).toMatchObject({ is_error: true });
    expect(results[1]!.content).toContain('404 Not Found');
    expect(results[2]!.content).toContain('left-pad is on the deny list');
    expect(results[3]!.content).toContain('@evil/tracker is on the deny list of dependencies (@evil/*)');
    expect(calls.filter((c) => c.startsWith('add '))).toEqual([
      'add date-fns@^4.0.0',
      'add no-such-thing@latest',
    ]);
  });

  it('answers query_database from the workbench, routes install to it and refuses a raw migrate', async () => {
    const { calls, seen } = await session([
      () =>
        toolCalls([
          call('query_database', { sql: 'SELECT title, venue FROM events' }),
          call('run_command', { name: 'install' }),
          call('run_command', { name: 'migrate' }),
        ]),
      () => endTurn('Looked at the data.'),
    ]);
    const [query, install, migrate] = seen[1]!.toolResults;
    expect(query!.content).toBe('title | venue\nLaunch | Hall A\n(1 rows)');
    expect(install).toMatchObject({ is_error: false });
    expect(migrate!.is_error).toBe(true);
    expect(migrate!.content).toContain('call check_app');
    expect(calls).toEqual(['install', 'query SELECT title, venue FROM events', 'install', 'check']);
  });

  it("returns the features as the model file says, with the model's own marked ai", async () => {
    const { result, dir } = await session([
      (c) => {
        void c;
        return toolCalls([call('read_file', { path: 'app.model.json' })]);
      },
      (c) => {
        const model = JSON.parse(c.toolResults[0]!.content);
        const features = model.features.map((f: { builtBy: string | null; feature: string }) =>
          f.builtBy === null ? { feature: f.feature, builtBy: 'ai' } : f,
        );
        return toolCalls([
          call('write_file', {
            path: 'app.model.json',
            content: JSON.stringify({ ...model, features }, null, 2),
          }),
        ]);
      },
      () => endTurn('Built the rest.'),
    ]);
    const onDisk = JSON.parse(await readFile(join(dir, 'app.model.json'), 'utf8'));
    expect(result.features).toEqual(onDisk.features);
    expect(result.features?.find((f) => f.feature === 'Ticket payments with Stripe')?.builtBy).toBe('ai');
    expect(result.features?.some((f) => f.builtBy === 'ai')).toBe(true);
    expect(result.features?.every((f) => f.builtBy !== null)).toBe(true);
  });

  it('offers only the file and command tools without a workbench', async () => {
    const seen: ScriptContext[] = [];
    const standIn = await startMessagesStandIn({
      apiKey: KEY,
      script: scripted([
        (c) => {
          seen.push(c);
          return toolCalls([call('check_app', {})]);
        },
        (c) => {
          seen.push(c);
          return toolCalls([call('run_command', { name: 'build' })]);
        },
        () => endTurn('done'),
      ]),
    });
    const dir = await mkdtemp(join(tmpdir(), 'claude-nobench-'));
    cleanups.push(async () => {
      await standIn.close();
      await rm(dir, { recursive: true, force: true });
    });
    const manifest = await writeTinyTemplate(dir);
    await writeFile(join(dir, 'src/app.mjs'), "export function render() { return '<h1>x</h1>'; }\n");
    await createClaudeCodeGenerator({ apiKey: KEY, baseUrl: standIn.url }).generate({
      jobId: 'job_nb',
      spec: sampleSpec(),
      workspace: { jobId: 'job_nb', dir },
      manifest,
      report: recordingReporter(),
    });
    expect(toolNames(seen[0]!)).not.toContain('check_app');
    expect(seen[1]!.toolResults[0]!.content).toMatch(/Unknown tool "check_app"/);
  });
});

describe('dependencyRefusal', () => {
  it('lets deny win over allow and matches scopes', () => {
    expect(dependencyRefusal(undefined, 'zod')).toBeUndefined();
    expect(dependencyRefusal({ allow: ['zod', '@radix-ui/*'] }, '@radix-ui/react-dialog')).toBeUndefined();
    expect(dependencyRefusal({ allow: ['zod'] }, 'lodash')).toContain('not on the allow list');
    expect(
      dependencyRefusal({ allow: ['@radix-ui/*'], deny: ['@radix-ui/react-x'] }, '@radix-ui/react-x'),
    ).toContain('deny list');
    expect(dependencyRefusal({ deny: ['@evil/*'] }, '@evilcorp/x')).toBeUndefined();
  });
});
