import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BudgetExceededError,
  type CodeGenerator,
  onBaseline,
  PipelineError,
  type TemplateManifest,
  withFallbackGenerator,
} from '@mvp-pipeline/core';
import { recordingReporter, sampleSpec } from '@mvp-pipeline/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { AiBudgetExceededError, NoProgressError } from './errors.js';
import { type ClaudeCodeGeneratorSettings, createClaudeCodeGenerator } from './generator.js';
import {
  badRequest,
  cutOff,
  endTurn,
  type MessagesStandIn,
  overloaded,
  rateLimited,
  refusal,
  type ScriptContext,
  type StandInReply,
  type StandInScript,
  scripted,
  spendLimit,
  startMessagesStandIn,
  toolCalls,
  writeTinyTemplate,
} from './testing/index.js';

const KEY = `sk-ant-api03-${'k'.repeat(48)}`;
const WORKING_APP = `export function render() {\n  return '<h1>EventHub</h1><section id="rsvp">Event page with RSVP</section>';\n}\n`;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

interface Setup {
  standIn: MessagesStandIn;
  dir: string;
  outside: string;
  manifest: TemplateManifest;
  sleeps: number[];
  report: ReturnType<typeof recordingReporter>;
  run(options?: {
    repair?: { round: number; buildOutput: string };
    signal?: AbortSignal;
  }): ReturnType<ReturnType<typeof createClaudeCodeGenerator>['generate']>;
}

async function setup(
  script: StandInScript,
  settings: Partial<ClaudeCodeGeneratorSettings> = {},
): Promise<Setup> {
  const standIn = await startMessagesStandIn({ apiKey: KEY, script });
  const root = await mkdtemp(join(tmpdir(), 'claude-gen-'));
  const dir = join(root, 'workspace');
  const outside = join(root, 'outside');
  await mkdir(dir);
  await mkdir(outside);
  await writeFile(join(outside, 'secret.txt'), 'TOP-SECRET-CONTENT\n');
  cleanups.push(async () => {
    await standIn.close();
    await rm(root, { recursive: true, force: true });
  });
  const manifest = await writeTinyTemplate(dir);
  const sleeps: number[] = [];
  const generator = createClaudeCodeGenerator(
    { apiKey: KEY, baseUrl: standIn.url, ...settings },
    {
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    },
  );
  const report = recordingReporter();
  return {
    standIn,
    dir,
    outside,
    manifest,
    sleeps,
    report,
    run: (options = {}) =>
      generator.generate({
        jobId: 'job_1',
        spec: sampleSpec(),
        workspace: { jobId: 'job_1', dir },
        manifest,
        report,
        ...options,
      }),
  };
}

/** Runs the session and returns what it threw. */
async function failure(promise: Promise<unknown>): Promise<PipelineError> {
  try {
    await promise;
  } catch (error) {
    expect(PipelineError.isInstance(error), String(error)).toBe(true);
    return error as PipelineError;
  }
  throw new Error('the session did not fail');
}

const call = (name: string, input: unknown) => ({ name, input });

describe('Claude code generator', () => {
  it('writes a working feature, fixes the build it broke, and finishes when the build passes', async () => {
    const seen: ScriptContext[] = [];
    const step = (reply: (context: ScriptContext) => StandInReply) => (context: ScriptContext) => {
      seen.push(context);
      return reply(context);
    };
    const { run, dir, report, standIn } = await setup(
      scripted([
        step(() =>
          toolCalls([call('list_files', {}), call('read_file', { path: 'NOTES.md' })], 'Looking around.'),
        ),
        step(() =>
          toolCalls([
            call('write_file', {
              path: 'src/app.mjs',
              content: WORKING_APP.replace("</section>';", '</section>'),
            }),
          ]),
        ),
        step(() => toolCalls([call('run_command', { name: 'build' })])),
        step(() =>
          toolCalls([
            call('edit_file', { path: 'src/app.mjs', old_text: '</section>\n', new_text: "</section>';\n" }),
          ]),
        ),
        step(() => toolCalls([call('run_command', { name: 'build' })])),
        step(() => endTurn('EventHub now shows its event page with RSVP.')),
      ]),
    );

    const result = await run();

    expect(result.generator).toBe('claude:claude-sonnet-5-5');
    expect(result.summary).toMatch(/developed EventHub: 3 files changed in 6 turns/);
    expect(result.filesChanged).toEqual(['DEVELOPMENT_INSTRUCTIONS.md', 'MVP_SPECS.md', 'src/app.mjs']);
    expect(await readFile(join(dir, 'src/app.mjs'), 'utf8')).toBe(WORKING_APP);
    expect(await readFile(join(dir, 'site/index.html'), 'utf8')).toContain('Event page with RSVP');
    expect(await readFile(join(dir, 'MVP_SPECS.md'), 'utf8')).toContain('EventHub');

    // The tools answered: listing, notes, then the failed build as an error result, then success.
    expect(seen[1]!.toolResults[0]!.content).toContain('src/app.mjs');
    expect(seen[1]!.toolResults[1]!.content).toContain('Tiny template');
    expect(seen[3]!.toolResults[0]).toMatchObject({ is_error: true });
    expect(seen[3]!.toolResults[0]!.content).toMatch(/build .*exit code 1/);
    expect(seen[5]!.toolResults[0]).toMatchObject({ is_error: false });
    expect(seen[5]!.toolResults[0]!.content).toContain('built site/index.html');

    // The prompt: the spec, the instructions and the template's notes, with run_command limited to the manifest.
    const first = JSON.parse(standIn.requests[0]!.raw);
    const system = first.system.map((b: { text: string }) => b.text).join('\n');
    expect(system).toContain('MVP_SPECS.md');
    expect(system).toContain('Event page with RSVP');
    expect(system).toContain('Tiny template');
    expect(system).toContain('Done means');
    const runCommand = first.tools.find((t: { name: string }) => t.name === 'run_command');
    expect(runCommand.input_schema.properties.name.enum).toEqual(['build', 'printenv']);

    // Usage is reported once per turn; after the first turn most input is read from the cache.
    expect(report.usages).toHaveLength(6);
    expect(report.usages.every((u) => (u.costUsd ?? 0) > 0)).toBe(true);
    const later = report.usages.slice(1);
    const read = later.reduce((n, u) => n + (u.cacheReadTokens ?? 0), 0);
    const billed = later.reduce(
      (n, u) => n + (u.inputTokens ?? 0) + (u.cacheReadTokens ?? 0) + (u.cacheWriteTokens ?? 0),
      0,
    );
    expect(read / billed).toBeGreaterThan(0.7);
    expect(report.usages[0]!.cacheWriteTokens).toBeGreaterThan(0);
  });

  it('moves the conversation cache point forward and keeps at most 4 breakpoints', async () => {
    const { run, standIn } = await setup(
      scripted([
        toolCalls([call('read_file', { path: 'NOTES.md' })]),
        toolCalls([call('write_file', { path: 'src/app.mjs', content: WORKING_APP })]),
        toolCalls([call('run_command', { name: 'build' })]),
        endTurn('Done.'),
      ]),
    );
    await run();
    const marks = standIn.requests.map((r) => {
      const body = JSON.parse(r.raw);
      const points: string[] = [];
      body.system.forEach((b: { cache_control?: unknown }, i: number) => {
        if (b.cache_control) points.push(`system.${i}`);
      });
      body.messages.forEach((m: { content: { cache_control?: unknown }[] }, i: number) => {
        m.content.forEach((b: { cache_control?: unknown }, j: number) => {
          if (b.cache_control) points.push(`messages.${i}.${j}`);
        });
      });
      return points;
    });
    expect(marks[0]).toEqual(['system.1', 'messages.0.0']);
    expect(marks[1]).toEqual(['system.1', 'messages.0.0', 'messages.2.0']);
    expect(marks[3]).toEqual(['system.1', 'messages.4.0', 'messages.6.0']);
    expect(standIn.requests[3]!.usage!.cache_read_input_tokens).toBeGreaterThan(0);
  });

  describe('the no-progress breaker', () => {
    it('stops a session that keeps hitting the same build error, keeping its partial work', async () => {
      const { run, dir } = await setup(
        scripted([], ({ index }) =>
          index % 2 === 0
            ? toolCalls([
                call('write_file', {
                  path: 'src/app.mjs',
                  content: `export function render() { return '<p>try ${index}</p>'; }\n`,
                }),
              ])
            : toolCalls([call('run_command', { name: 'build' })]),
        ),
      );
      const error = await failure(run());
      expect(error).toBeInstanceOf(NoProgressError);
      expect((error as NoProgressError).reason).toBe('same-error');
      expect(error.code).toBe('PERMANENT');
      expect(error.message).toMatch(
        /build failed 3 times with the same error: error: render\(\) must return/,
      );
      expect((error as NoProgressError).filesChanged).toContain('src/app.mjs');
      expect(await readFile(join(dir, 'src/app.mjs'), 'utf8')).toContain('try 4');
    });

    it('counts the build error a repair round starts from', async () => {
      const { run, standIn } = await setup(
        scripted([], ({ index }) =>
          index % 2 === 0
            ? toolCalls([
                call('write_file', {
                  path: 'src/app.mjs',
                  content: `export function render() { return '${index}'; }\n`,
                }),
              ])
            : toolCalls([call('run_command', { name: 'build' })]),
        ),
      );
      const error = await failure(
        run({ repair: { round: 1, buildOutput: 'error: render() must return a page with an <h1>\n' } }),
      );
      expect((error as NoProgressError).reason).toBe('same-error');
      expect(standIn.requests).toHaveLength(4);
      expect(JSON.stringify(standIn.requests[0]!.body.messages?.[0])).toContain('Repair round 1');
    });

    it('stops a model that repeats the same call', async () => {
      const { run, standIn } = await setup(
        scripted([], () => toolCalls([call('read_file', { path: 'NOTES.md' })])),
      );
      const error = await failure(run());
      expect((error as NoProgressError).reason).toBe('repeated-call');
      expect(error.message).toMatch(/same call 3 times/);
      expect(standIn.requests).toHaveLength(3);
    });

    it('stops after turns that change no file', async () => {
      const { run } = await setup(
        scripted([], ({ index }) => toolCalls([call('read_file', { path: `missing-${index}.txt` })])),
        { breaker: { idleTurnLimit: 4 } },
      );
      const error = await failure(run());
      expect((error as NoProgressError).reason).toBe('idle-turns');
      expect(error.message).toMatch(/4 turns in a row changed no file/);
    });

    it('sends a failing build back when the model says it is done too early', async () => {
      const { run, standIn } = await setup(
        scripted([
          toolCalls([
            call('write_file', { path: 'src/app.mjs', content: 'export function render() { return 1; }\n' }),
          ]),
          endTurn('All done.'),
          (context) => {
            expect(JSON.stringify(context.body.messages?.at(-1))).toContain('the build does not pass');
            return toolCalls([call('write_file', { path: 'src/app.mjs', content: WORKING_APP })]);
          },
          endTurn('Fixed.'),
        ]),
      );
      const result = await run();
      expect(result.filesChanged).toContain('src/app.mjs');
      expect(standIn.requests).toHaveLength(4);
    });
  });

  describe('confinement', () => {
    it('refuses traversal, absolute, symlink-escaping and .git paths as error results', async () => {
      let results: ScriptContext['toolResults'] = [];
      const attempts = [
        call('read_file', { path: '../outside/secret.txt' }),
        call('read_file', { path: '/etc/passwd' }),
        call('read_file', { path: 'link/secret.txt' }),
        call('write_file', { path: '../outside/escape.txt', content: 'x' }),
        call('write_file', { path: 'link/new.txt', content: 'x' }),
        call('write_file', { path: '/tmp/absolute.txt', content: 'x' }),
        call('edit_file', { path: 'src/../../outside/secret.txt', old_text: 'outside', new_text: 'x' }),
        call('delete_file', { path: 'link/secret.txt' }),
        call('list_files', { path: 'link' }),
        call('read_file', { path: '.git/config' }),
      ];
      const { run, dir, outside } = await setup(
        scripted([
          toolCalls(attempts),
          (context) => {
            results = context.toolResults;
            return endTurn('Nothing to do.');
          },
        ]),
        { verifyBuild: false },
      );
      await symlink(outside, join(dir, 'link'));
      await run();
      expect(results).toHaveLength(attempts.length);
      for (const [i, result] of results.entries()) {
        expect(result.is_error, `${JSON.stringify(attempts[i])} → ${result.content}`).toBe(true);
        expect(result.content).not.toContain('TOP-SECRET-CONTENT');
      }
      expect(results[0]!.content).toMatch(/\.\./);
      expect(results[1]!.content).toMatch(/absolute/);
      expect(results[2]!.content).toMatch(/symlink/);
      expect(results[9]!.content).toMatch(/\.git/);
      expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('TOP-SECRET-CONTENT\n');
      await expect(readFile(join(outside, 'escape.txt'))).rejects.toThrow();
      await expect(readFile(join(outside, 'new.txt'))).rejects.toThrow();
    });

    it('refuses writes, edits and deletes of files the template protects, naming the file', async () => {
      let results: ScriptContext['toolResults'] = [];
      const AUTH = 'export const auth = true;\n';
      const attempts = [
        call('write_file', { path: 'lib/auth.ts', content: 'export const auth = false;\n' }),
        call('edit_file', { path: './lib/auth.ts', old_text: 'true', new_text: 'false' }),
        call('delete_file', { path: 'lib/auth.ts' }),
        call('write_file', { path: 'journeys/new.mjs', content: 'x' }),
        call('write_file', { path: 'via-link/auth.ts', content: 'x' }),
        call('read_file', { path: 'lib/auth.ts' }),
        call('write_file', { path: 'lib/auth.ts.bak', content: 'copy' }),
      ];
      const { run, dir, manifest } = await setup(
        scripted([
          toolCalls(attempts),
          (context) => {
            results = context.toolResults;
            return endTurn('Left the protected files alone.');
          },
        ]),
        { verifyBuild: false },
      );
      manifest.protectedFiles = ['lib/auth.ts', 'journeys/'];
      await mkdir(join(dir, 'lib'));
      await mkdir(join(dir, 'journeys'));
      await writeFile(join(dir, 'lib', 'auth.ts'), AUTH);
      await symlink('lib', join(dir, 'via-link'));
      const result = await run();
      expect(results.map((r) => r.is_error)).toEqual([true, true, true, true, true, false, false]);
      for (const refused of results.slice(0, 3)) {
        expect(refused.content).toContain('lib/auth.ts is protected by the "tiny" template');
      }
      expect(results[3]!.content).toContain('journeys/new.mjs is protected');
      // A write through a symlink is refused either way (writes follow no symlink).
      expect(results[5]!.content).toBe(AUTH);
      expect(await readFile(join(dir, 'lib', 'auth.ts'), 'utf8')).toBe(AUTH);
      await expect(readFile(join(dir, 'journeys', 'new.mjs'))).rejects.toThrow();
      expect(result.filesChanged).toContain('lib/auth.ts.bak');
      expect(result.filesChanged).not.toContain('lib/auth.ts');
    });

    it('refuses a command that is not declared, and arguments to a declared one', async () => {
      let results: ScriptContext['toolResults'] = [];
      const { run } = await setup(
        scripted([
          toolCalls([
            call('run_command', { name: 'rm' }),
            call('run_command', { name: 'build', args: ['--evil'] }),
            call('run_command', { name: 'constructor' }),
            call('bash', { command: 'ls' }),
            call('edit_file', { path: 'src/app.mjs', old_text: 'nothing like this', new_text: 'x' }),
          ]),
          (context) => {
            results = context.toolResults;
            return endTurn('ok');
          },
        ]),
        { verifyBuild: false },
      );
      await run();
      expect(results.map((r) => r.is_error)).toEqual([true, true, true, true, true]);
      expect(results[0]!.content).toMatch(/"rm" is not a declared command.*declared: build, printenv/);
      expect(results[1]!.content).toMatch(/Invalid input for run_command/);
      expect(results[2]!.content).toMatch(/not a declared command/);
      expect(results[3]!.content).toMatch(/Unknown tool "bash"/);
      expect(results[4]!.content).toMatch(/old_text was not found/);
    });
  });

  describe('budgets', () => {
    const runaway = scripted([], ({ index }) =>
      toolCalls([call('write_file', { path: `notes/${index}.md`, content: `note ${index}\n`.repeat(50) })]),
    );

    it('stops a runaway model at max turns, keeping its work', async () => {
      const { run, dir, report } = await setup(runaway, { maxTurns: 5 });
      const error = await failure(run());
      expect(error).toBeInstanceOf(AiBudgetExceededError);
      expect(BudgetExceededError.isInstance(error) && error.code).toBe('BUDGET_EXCEEDED');
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(/Turn budget exhausted: Claude used 5 of 5 turns/);
      const budget = error as AiBudgetExceededError;
      expect([budget.budget, budget.spent, budget.limit]).toEqual(['turns', 5, 5]);
      expect(budget.filesChanged).toContain('notes/4.md');
      expect(await readFile(join(dir, 'notes/4.md'), 'utf8')).toContain('note 4');
      expect(report.usages).toHaveLength(5);
      expect(report.lines.join('\n')).toMatch(/Claude stopped after 5 turns/);
    });

    it('lets a fallback generator finish the job when the budget runs out, usage of the failed run kept', async () => {
      const standIn = await startMessagesStandIn({ apiKey: KEY, script: runaway });
      const dir = await mkdtemp(join(tmpdir(), 'claude-fallback-'));
      cleanups.push(async () => {
        await standIn.close();
        await rm(dir, { recursive: true, force: true });
      });
      const manifest = await writeTinyTemplate(dir);
      const template: CodeGenerator = {
        specificationVersion: 'v1',
        async generate({ workspace }) {
          await writeFile(join(workspace.dir, 'src/app.mjs'), WORKING_APP);
          return { generator: 'template', summary: 'Filled the template', filesChanged: ['src/app.mjs'] };
        },
      };
      const claude = createClaudeCodeGenerator({ apiKey: KEY, baseUrl: standIn.url, maxTurns: 3 });
      const report = recordingReporter();
      const result = await withFallbackGenerator(claude, template).generate({
        jobId: 'job_f',
        spec: sampleSpec(),
        workspace: { jobId: 'job_f', dir },
        manifest,
        report,
      });
      expect(result.generator).toBe('template (fallback after budget_exceeded)');
      expect(await readFile(join(dir, 'src/app.mjs'), 'utf8')).toBe(WORKING_APP);
      expect(report.usages).toHaveLength(3);
      expect(report.lines.join('\n')).toMatch(/Turn budget exhausted.*finishing with the fallback generator/);
    });

    it('ships the baseline alone, from a fresh checkout, when the session on it runs out of budget', async () => {
      const standIn = await startMessagesStandIn({ apiKey: KEY, script: runaway });
      const root = await mkdtemp(join(tmpdir(), 'claude-baseline-'));
      cleanups.push(async () => {
        await standIn.close();
        await rm(root, { recursive: true, force: true });
      });
      const dir = join(root, 'first');
      await mkdir(dir);
      const manifest = await writeTinyTemplate(dir);
      const template: CodeGenerator = {
        specificationVersion: 'v1',
        async generate({ workspace }) {
          await writeFile(join(workspace.dir, 'src/app.mjs'), WORKING_APP);
          return { generator: 'template', summary: 'Filled the template', filesChanged: ['src/app.mjs'] };
        },
      };
      const claude = createClaudeCodeGenerator({
        apiKey: KEY,
        baseUrl: standIn.url,
        prices: { inputPerMTok: 3, outputPerMTok: 15, cacheWritePerMTok: 3.75, cacheReadPerMTok: 0.3 },
        maxCostUsd: 0.02,
      });
      const report = recordingReporter();
      let restarts = 0;
      const result = await withFallbackGenerator(onBaseline(template, claude), template).generate({
        jobId: 'job_b',
        spec: sampleSpec(),
        workspace: { jobId: 'job_b', dir },
        manifest,
        report,
        // The step's commit in a new directory, as the core's develop step makes it.
        restart: async () => {
          restarts++;
          const fresh = join(root, 'fresh');
          await mkdir(fresh);
          await writeTinyTemplate(fresh);
          return { jobId: 'job_b', dir: fresh };
        },
      });
      expect(restarts).toBe(1);
      expect(result.generator).toBe('template (fallback after budget_exceeded)');
      expect(result.workspace?.dir).toBe(join(root, 'fresh'));
      expect(await readFile(join(root, 'fresh', 'src/app.mjs'), 'utf8')).toBe(WORKING_APP);
      // The session's notes are in the abandoned directory only.
      expect(await readFile(join(dir, 'notes/0.md'), 'utf8')).toContain('note');
      await expect(readFile(join(root, 'fresh', 'notes/0.md'), 'utf8')).rejects.toThrow();
      expect(report.lines.join('\n')).toMatch(/Cost budget exhausted.*finishing with the fallback generator/);
      expect(report.usages.length).toBeGreaterThan(0);
    });

    it('stops when the cost budget is spent', async () => {
      const prices = { inputPerMTok: 3, outputPerMTok: 0.01, cacheWritePerMTok: 3.75, cacheReadPerMTok: 0.3 };
      const { run, report } = await setup(runaway, { prices, maxCostUsd: 0.03 });
      const error = await failure(run());
      const budget = error as AiBudgetExceededError;
      expect([budget.budget, budget.limit]).toEqual(['cost', 0.03]);
      expect(error.message).toMatch(/Cost budget exhausted: Claude spent \$0\.03\d+ of \$0\.03/);
      const costs = report.usages.map((u) => u.costUsd ?? 0);
      const spent = costs.reduce((n, c) => n + c, 0);
      expect(spent).toBeCloseTo(budget.spent, 6);
      expect(costs.length).toBeGreaterThan(2);
      // It stops at the first turn that reaches the limit: one turn earlier it was still under.
      expect(spent).toBeGreaterThanOrEqual(0.03);
      expect(spent - costs.at(-1)!).toBeLessThan(0.03);
    });

    it('stops before a turn whose output the cost budget could not pay for', async () => {
      const prices = { inputPerMTok: 3, outputPerMTok: 15, cacheWritePerMTok: 3.75, cacheReadPerMTok: 0.3 };
      const { run, report, standIn } = await setup(runaway, {
        prices,
        maxCostUsd: 0.02,
        maxTokensPerTurn: 4096,
      });
      const error = await failure(run());
      expect((error as AiBudgetExceededError).budget).toBe('cost');
      expect(error.message).toMatch(/not enough is left for another turn/);
      const spent = report.usages.reduce((n, u) => n + (u.costUsd ?? 0), 0);
      expect(spent).toBeLessThan(0.02);
      expect(spent + (1024 * 15) / 1e6).toBeGreaterThan(0.02);
      // Each turn's max_tokens was cut to what the remaining budget pays for.
      const last = standIn.requests.at(-1)!.body.max_tokens;
      expect(last).toBeLessThan(4096);
    });

    it('stops when the output-token budget is spent', async () => {
      const { run } = await setup(runaway, { maxOutputTokens: 1_500, maxTokensPerTurn: 1024 });
      const error = await failure(run());
      expect((error as AiBudgetExceededError).budget).toBe('output-tokens');
      expect(error.message).toMatch(/Output-token budget exhausted/);
    });

    it('caps max_tokens of a turn at what the budgets leave', async () => {
      const { run, standIn } = await setup(scripted([endTurn('done')]), {
        maxOutputTokens: 3_000,
        maxTokensPerTurn: 16_000,
        verifyBuild: false,
      });
      await run();
      expect(standIn.requests[0]!.body.max_tokens).toBe(3_000);
    });
  });

  describe('any model', () => {
    it('runs a model the price table does not know with configured prices, and refuses it without', async () => {
      const prices = { inputPerMTok: 3, outputPerMTok: 15, cacheWritePerMTok: 3.75, cacheReadPerMTok: 0.3 };
      const { run, standIn, report } = await setup(scripted([endTurn('done')]), {
        model: 'claude-future-9',
        prices,
        verifyBuild: false,
      });
      const result = await run();
      expect(result.generator).toBe('claude:claude-future-9');
      expect(standIn.requests[0]!.body.model).toBe('claude-future-9');
      const u = standIn.requests[0]!.usage!;
      const expected =
        (u.input_tokens * 3 +
          u.output_tokens * 15 +
          u.cache_creation_input_tokens * 3.75 +
          u.cache_read_input_tokens * 0.3) /
        1e6;
      expect(report.usages[0]!.costUsd).toBeCloseTo(expected, 5);
      expect(() => createClaudeCodeGenerator({ apiKey: KEY, model: 'claude-future-9' })).toThrow(
        /ANTHROPIC_MODEL.*claude-future-9.*MVP_AI_PRICES/,
      );
    });
  });

  describe('thinking', () => {
    it('sends the thinking budget inside max_tokens, and sends thinking blocks back', async () => {
      const { run, standIn } = await setup(
        scripted([
          {
            kind: 'message',
            content: [
              { type: 'thinking', thinking: 'The page needs an RSVP section.', signature: 'sig-1' },
              { type: 'tool_use', name: 'write_file', input: { path: 'src/app.mjs', content: WORKING_APP } },
            ],
            stopReason: 'tool_use',
          },
          endTurn('done'),
        ]),
        { model: 'claude-haiku-4-5', thinking: 4_000, maxTokensPerTurn: 20_000, verifyBuild: false },
      );
      await run();
      const first = standIn.requests[0]!.body;
      expect(first['thinking']).toEqual({ type: 'enabled', budget_tokens: 4_000 });
      expect(first.max_tokens).toBe(20_000);
      const replay = standIn.requests[1]!.body.messages!.find((m) => m.role === 'assistant')!;
      expect(replay.content).toContainEqual(
        expect.objectContaining({
          type: 'thinking',
          thinking: 'The page needs an RSVP section.',
          signature: 'sig-1',
        }),
      );
    });

    it('keeps to the API rules with thinking on: tool turns, a cut-off reply, a failing build', async () => {
      const broken = WORKING_APP.replace("</section>';", '</section>');
      const { run, standIn } = await setup(
        scripted([
          toolCalls([call('write_file', { path: 'src/app.mjs', content: broken })]),
          cutOff([
            { type: 'text', text: 'Writing the rest.' },
            { type: 'tool_use', name: 'write_file', input: { path: 'src/more.mjs' } },
          ]),
          endTurn('Done, I think.'),
          toolCalls([call('write_file', { path: 'src/app.mjs', content: WORKING_APP })]),
          endTurn('Done: the build passes.'),
        ]),
        { model: 'claude-haiku-4-5', thinking: 2_000, maxTokensPerTurn: 8_000 },
      );
      await run();
      // Every request passed the stand-in's checks (a refused one has no usage) and was answered
      // with the stand-in's own signed thinking block first.
      expect(standIn.requests).toHaveLength(5);
      expect(standIn.requests.every((r) => r.usage)).toBe(true);
      const last = standIn.requests.at(-1)!.body.messages!;
      const assistants = last.filter((m) => m.role === 'assistant');
      expect(assistants).toHaveLength(4);
      for (const message of assistants)
        expect((message.content as { type: string }[])[0]?.type).toBe('thinking');
    });

    it('refuses a thinking budget that leaves no room for the answer, and an unknown effort', () => {
      expect(() => createClaudeCodeGenerator({ apiKey: KEY, thinking: 500 })).toThrow(/thinking/);
      expect(() =>
        createClaudeCodeGenerator({ apiKey: KEY, thinking: 16_000, maxTokensPerTurn: 16_000 }),
      ).toThrow(/thinking/);
      expect(() => createClaudeCodeGenerator({ apiKey: KEY, effort: 'extreme' as never })).toThrow(/effort/);
    });

    it('thinks adaptively on the default model, with the effort configured', async () => {
      const { run, standIn } = await setup(
        scripted([
          toolCalls([call('write_file', { path: 'src/app.mjs', content: WORKING_APP })]),
          endTurn('done'),
        ]),
        { thinking: 'adaptive', effort: 'medium' },
      );
      await run();
      const first = standIn.requests[0]!.body;
      expect(first['thinking']).toEqual({ type: 'adaptive' });
      expect(first['output_config']).toEqual({ effort: 'medium' });
      expect(standIn.requests.every((r) => r.usage)).toBe(true);
    });

    it('fails for good, with the API message, when manual thinking meets a model that takes adaptive only', async () => {
      const { run } = await setup(scripted([endTurn('never')]), { thinking: 4_000 });
      const error = await failure(run());
      expect(error.code).toBe('PERMANENT');
      expect(error.message).toMatch(/thinking\.type\.enabled" is not supported for this model/);
    });
  });

  describe('API errors', () => {
    const done = endTurn('done');

    it('retries 529 overloaded, honouring retry-after', async () => {
      const { run, sleeps, standIn, report } = await setup(scripted([overloaded(2), done]), {
        verifyBuild: false,
      });
      await run();
      expect(sleeps).toEqual([2_000]);
      expect(standIn.requests).toHaveLength(2);
      expect(report.lines.join('\n')).toMatch(/overloaded \(529 overloaded_error\).*retrying in 2\.0 s/);
    });

    it('streams every call; one turn under two 529s makes three calls, its usage taken from the stream', async () => {
      const { run, standIn, report } = await setup(
        scripted([
          overloaded(),
          overloaded(),
          toolCalls([call('write_file', { path: 'src/app.mjs', content: WORKING_APP })]),
          done,
        ]),
        { verifyBuild: false },
      );
      const result = await run();
      expect(result.filesChanged).toContain('src/app.mjs');
      expect(standIn.requests).toHaveLength(4);
      expect(standIn.requests.every((r) => r.body['stream'] === true)).toBe(true);
      // Usage is reported once per answered turn, and equals what the stand-in billed.
      const billed = standIn.requests.filter((r) => r.usage).map((r) => r.usage!);
      expect(billed).toHaveLength(2);
      expect(
        report.usages.map((u) => [u.inputTokens, u.outputTokens, u.cacheWriteTokens, u.cacheReadTokens]),
      ).toEqual(
        billed.map((u) => [
          u.input_tokens,
          u.output_tokens,
          u.cache_creation_input_tokens,
          u.cache_read_input_tokens,
        ]),
      );
      expect(billed[0]!.cache_creation_input_tokens).toBeGreaterThan(0);
    });

    it('bounds the calls of one turn under 529s to maxRetries + 1', async () => {
      const { run, standIn } = await setup(() => overloaded(), { verifyBuild: false, maxRetries: 2 });
      const error = await failure(run());
      expect(error.code).toBe('TRANSIENT');
      expect(standIn.requests).toHaveLength(3);
    });

    it('retries a 429 rate limit after retry-after, and gives up typed when it persists', async () => {
      const first = await setup(scripted([rateLimited(1), done]), { verifyBuild: false });
      await first.run();
      expect(first.sleeps).toEqual([1_000]);

      const second = await setup(
        scripted([], () => rateLimited(3)),
        { verifyBuild: false, maxRetries: 2 },
      );
      const error = await failure(second.run());
      expect(error.code).toBe('RATE_LIMITED');
      expect(error.retryAfterMs).toBe(3_000);
      expect(second.sleeps).toEqual([3_000, 3_000]);
    });

    it('hands a long retry-after up instead of waiting', async () => {
      const { run, sleeps } = await setup(scripted([rateLimited(3_600)]), { verifyBuild: false });
      const error = await failure(run());
      expect(error.code).toBe('RATE_LIMITED');
      expect(error.retryAfterMs).toBe(3_600_000);
      expect(sleeps).toEqual([]);
    });

    it('fails at once on the spend limit and on request errors', async () => {
      const spend = await setup(scripted([spendLimit()]), { verifyBuild: false });
      const spent = await failure(spend.run());
      expect(spent.code).toBe('PERMANENT');
      expect(spent.message).toMatch(/spend limit reached \(429 enforced_spend_limit_reached\)/);
      expect(spend.standIn.requests).toHaveLength(1);

      const bad = await setup(scripted([badRequest('messages: text content blocks must be non-empty')]));
      const rejected = await failure(bad.run());
      expect(rejected.code).toBe('PERMANENT');
      expect(rejected.message).toMatch(
        /rejected the request \(400 invalid_request_error\): messages: text content/,
      );
      expect(bad.standIn.requests).toHaveLength(1);
    });

    it('fails with the model reason on a refusal', async () => {
      const { run } = await setup(scripted([refusal('cyber', 'This looks like exploit development.')]));
      const error = await failure(run());
      expect(error.code).toBe('PERMANENT');
      expect(error.message).toBe('Claude declined to continue (cyber): This looks like exploit development.');
    });

    it('continues after max_tokens, dropping the tool call that was cut off', async () => {
      const { run, dir, standIn } = await setup(
        scripted([
          cutOff([
            { type: 'text', text: 'Writing the page.' },
            {
              type: 'tool_use',
              name: 'write_file',
              input: { path: 'src/half.mjs', content: 'export const' },
            },
          ]),
          (context) => {
            expect(JSON.stringify(context.body.messages?.at(-1))).toContain('output limit');
            return endTurn('done');
          },
        ]),
        { verifyBuild: false },
      );
      await run();
      expect(standIn.requests).toHaveLength(2);
      await expect(readFile(join(dir, 'src/half.mjs'))).rejects.toThrow();
    });

    it('ends a hung call with the watchdog, typed as transient', async () => {
      const { run } = await setup(scripted([{ kind: 'hang' }]), { callTimeoutMs: 200, maxRetries: 0 });
      const error = await failure(run());
      expect(error.code).toBe('TRANSIENT');
      expect(error.message).toMatch(/did not answer in time/);

      const turn = await setup(scripted([{ kind: 'hang' }]), { turnTimeoutMs: 200 });
      const stuck = await failure(turn.run());
      expect(stuck.code).toBe('TRANSIENT');
      expect(stuck.message).toMatch(/Claude turn 1 did not finish within 200 ms; the watchdog stopped it/);
    });

    it('stops when its signal aborts mid-call', async () => {
      const { run } = await setup(scripted([{ kind: 'hang' }]));
      const controller = new AbortController();
      const pending = run({ signal: controller.signal });
      setTimeout(() => controller.abort(new Error('job cancelled')), 50);
      const error = await failure(pending);
      expect(error.code).toBe('CANCELLED');
      expect(error.message).toMatch(/job cancelled/);
    });
  });

  it('never sends the API key or the environment secrets to the model or its tools', async () => {
    const githubToken = `ghp_${'G'.repeat(36)}`;
    const saved = {
      GITHUB_TOKEN: process.env['GITHUB_TOKEN'],
      ANTHROPIC_API_KEY: process.env['ANTHROPIC_API_KEY'],
    };
    process.env['GITHUB_TOKEN'] = githubToken;
    process.env['ANTHROPIC_API_KEY'] = KEY;
    cleanups.push(async () => {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });
    let results: ScriptContext['toolResults'] = [];
    const { run, dir, standIn } = await setup(
      scripted([
        toolCalls([call('run_command', { name: 'printenv' }), call('read_file', { path: 'leaked.txt' })]),
        (context) => {
          results = context.toolResults;
          return endTurn('done');
        },
      ]),
      { verifyBuild: false },
    );
    await writeFile(join(dir, 'leaked.txt'), `token=${githubToken}\nkey=${KEY}\n`);
    await run();
    expect(results[0]!.is_error).toBe(false);
    expect(results[0]!.content).toContain('"NODE_ENV":"production"');
    expect(results[0]!.content).not.toContain('GITHUB_TOKEN');
    expect(results[1]!.content).toContain('[REDACTED]');
    expect(standIn.requests.length).toBe(2);
    for (const request of standIn.requests) {
      expect(request.raw).not.toContain(KEY);
      expect(request.raw).not.toContain(githubToken);
    }
    // The key travels only in the client's auth header.
    const auth = standIn.requests[0]!.headers;
    expect(auth['x-api-key'] === KEY || auth.authorization === `Bearer ${KEY}`).toBe(true);
  });

  it('reports progress at a bounded rate', async () => {
    const standIn = await startMessagesStandIn({
      apiKey: KEY,
      script: scripted([
        toolCalls([
          call('list_files', {}),
          call('read_file', { path: 'NOTES.md' }),
          call('read_file', { path: 'build.mjs' }),
        ]),
        toolCalls([call('write_file', { path: 'src/app.mjs', content: WORKING_APP })]),
        toolCalls([call('run_command', { name: 'build' })]),
        endTurn('done'),
      ]),
    });
    const root = await mkdtemp(join(tmpdir(), 'claude-progress-'));
    cleanups.push(async () => {
      await standIn.close();
      await rm(root, { recursive: true, force: true });
    });
    const manifest = await writeTinyTemplate(root);
    const clock = 0;
    const generator = createClaudeCodeGenerator(
      { apiKey: KEY, baseUrl: standIn.url, progressIntervalMs: 10_000 },
      { now: () => clock },
    );
    const report = recordingReporter();
    const pending = generator.generate({
      jobId: 'job_p',
      spec: sampleSpec(),
      workspace: { jobId: 'job_p', dir: root },
      manifest,
      report,
    });
    await pending;
    // Five tool calls, one clock instant: one activity line plus the held-back latest, and the notices.
    const activity = report.lines.filter((line) => /^Claude turn/.test(line));
    expect(activity.length).toBeLessThanOrEqual(2);
    expect(activity.at(-1)).toMatch(/Claude turn 3\/40: running build — 1 files changed, \$0\.\d{4} spent/);
    expect(report.lines[0]).toMatch(/Claude \(claude-sonnet-5-5\) development started/);
    expect(report.lines.at(-1)).toMatch(/developed EventHub: 3 files changed in 4 turns, \$0\.\d{4} spent/);
  });
});
