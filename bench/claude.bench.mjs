// Prompt caching of the Claude code generator: a scripted 10-turn session, replayed through the
// real SDK against the local Messages API stand-in, which bills cache writes and reads from the
// cache_control points it receives. Goal: at least 70% of the input tokens of turns 2–10 are
// read from the cache.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const claude = await import(new URL('../packages/adapters-claude/dist/index.js', import.meta.url));
const testing = await import(new URL('../packages/adapters-claude/dist/testing/index.js', import.meta.url));
const core = await import(new URL('../packages/core/dist/testing/index.js', import.meta.url));
const pipeline = await import(new URL('../packages/core/dist/index.js', import.meta.url));

const KEY = `sk-ant-bench-${'b'.repeat(40)}`;
const call = (name, input) => ({ name, input });
const page = (extra) =>
  `export function render() {\n  return '<h1>EventHub</h1><section id="rsvp">Event page with RSVP</section>${extra}';\n}\n`;

const SESSION = [
  testing.toolCalls(
    [call('list_files', {}), call('read_file', { path: 'NOTES.md' })],
    'Looking at the template.',
  ),
  testing.toolCalls([call('read_file', { path: 'src/app.mjs' }), call('read_file', { path: 'build.mjs' })]),
  testing.toolCalls([call('write_file', { path: 'src/app.mjs', content: page('') })]),
  testing.toolCalls([call('run_command', { name: 'build' })]),
  testing.toolCalls([
    call('write_file', {
      path: 'src/waitlist.mjs',
      content: 'export const waitlist = \'<section id="waitlist">Waitlist when full</section>\';\n',
    }),
  ]),
  testing.toolCalls([
    call('edit_file', {
      path: 'src/app.mjs',
      old_text: "</section>';",
      new_text: '</section><section id="waitlist">Waitlist when full</section>\';',
    }),
  ]),
  testing.toolCalls([call('run_command', { name: 'build' })]),
  testing.toolCalls([
    call('write_file', {
      path: 'README.md',
      content: '# EventHub\n\nEvent page with RSVP and a waitlist.\n',
    }),
  ]),
  testing.toolCalls([call('run_command', { name: 'build' })]),
  testing.endTurn('EventHub has its event page with RSVP and a waitlist; the build passes.'),
];

/**
 * API calls one Claude turn makes when every call answers 529 overloaded: the generator as the
 * AI_DEVELOPMENT step runs it, inside the pipeline's retry policy. Bound: the generator's
 * `maxRetries + 1` (default 5); the step's retry counts those tries and does not start the
 * session again for the same failure.
 */
async function callsUnder529s() {
  const standIn = await testing.startMessagesStandIn({
    apiKey: KEY,
    script: testing.scripted([], () => testing.overloaded(0)),
  });
  const dir = await mkdtemp(join(tmpdir(), 'claude-bench-529-'));
  try {
    const manifest = await testing.writeTinyTemplate(dir);
    const generator = claude.createClaudeCodeGenerator(
      { apiKey: KEY, baseUrl: standIn.url, verifyBuild: false },
      { sleep: async () => undefined },
    );
    const report = core.recordingReporter();
    const error = await pipeline
      .retry(
        () =>
          generator.generate({
            jobId: 'bench',
            spec: core.sampleSpec(),
            workspace: { jobId: 'bench', dir },
            manifest,
            report,
          }),
        {
          policy: pipeline.DEFAULT_RETRY_POLICY,
          random: () => 0,
          sleep: async () => undefined,
          step: 'AI_DEVELOPMENT',
        },
      )
      .then(
        () => undefined,
        (e) => e,
      );
    if (!error) throw new Error('expected the turn to fail under 529s');
    return { calls: standIn.requests.length, bound: 5, code: error.code };
  } finally {
    await standIn.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run() {
  const overload = await callsUnder529s();
  const standIn = await testing.startMessagesStandIn({ apiKey: KEY, script: testing.scripted(SESSION) });
  const dir = await mkdtemp(join(tmpdir(), 'claude-bench-'));
  try {
    const manifest = await testing.writeTinyTemplate(dir);
    const generator = claude.createClaudeCodeGenerator({ apiKey: KEY, baseUrl: standIn.url });
    const report = core.recordingReporter();
    const result = await generator.generate({
      jobId: 'bench',
      spec: core.sampleSpec(),
      workspace: { jobId: 'bench', dir },
      manifest,
      report,
    });
    const usages = standIn.requests.map((r) => r.usage).filter(Boolean);
    if (usages.length !== 10) throw new Error(`expected 10 turns, the session took ${usages.length}`);
    const prompt = (u) => u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens;
    const total = usages.reduce((n, u) => n + prompt(u), 0);
    const later = usages.slice(1);
    const laterTotal = later.reduce((n, u) => n + prompt(u), 0);
    const laterRead = later.reduce((n, u) => n + u.cache_read_input_tokens, 0);
    const share = laterRead / laterTotal;
    const cost = report.usages.reduce((n, u) => n + (u.costUsd ?? 0), 0);
    const prices = claude.DEFAULT_MODEL_PRICES[claude.DEFAULT_CLAUDE_MODEL];
    const uncached = usages.reduce(
      (n, u) => n + (prompt(u) * prices.inputPerMTok + u.output_tokens * prices.outputPerMTok) / 1e6,
      0,
    );
    return [
      { name: 'turns', value: usages.length, unit: 'turns', goal: '10', pass: usages.length === 10 },
      {
        name: 'API calls by one Claude turn under 529s',
        value: overload.calls,
        unit: `calls (then ${overload.code})`,
        goal: `<= ${overload.bound}`,
        pass: overload.calls <= overload.bound,
      },
      { name: 'files changed', value: result.filesChanged.length, unit: 'files', goal: '', pass: undefined },
      { name: 'input tokens billed (all turns)', value: total, unit: 'tokens', goal: '', pass: undefined },
      {
        name: 'of which cache writes / reads / plain',
        value: `${usages.reduce((n, u) => n + u.cache_creation_input_tokens, 0)} / ${usages.reduce((n, u) => n + u.cache_read_input_tokens, 0)} / ${usages.reduce((n, u) => n + u.input_tokens, 0)}`,
        unit: 'tokens',
        goal: '',
        pass: undefined,
      },
      {
        name: 'input read from cache after turn 1',
        value: Math.round(share * 1000) / 10,
        unit: '%',
        goal: '>= 70',
        pass: share >= 0.7,
      },
      {
        name: 'cost (default prices) vs without caching',
        value: `${cost.toFixed(4)} vs ${uncached.toFixed(4)}`,
        unit: 'USD',
        goal: '',
        pass: undefined,
      },
    ];
  } finally {
    await standIn.close();
    await rm(dir, { recursive: true, force: true });
  }
}
