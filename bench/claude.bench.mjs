// The Claude code generator's cost: a scripted 20-turn app session, replayed through the real SDK
// against the local Messages API stand-in, which bills cache writes and reads from the
// cache_control points it receives. Figures: the share of input read from the cache after turn 1
// (goal: at least 80%), USD per session at the configured prices with and without caching, and
// the API calls per turn when the stand-in answers 529 now and then (bound: maxRetries + 1).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const claude = await import(new URL('../packages/adapters-claude/dist/index.js', import.meta.url));
const testing = await import(new URL('../packages/adapters-claude/dist/testing/index.js', import.meta.url));
const core = await import(new URL('../packages/core/dist/testing/index.js', import.meta.url));
const pipeline = await import(new URL('../packages/core/dist/index.js', import.meta.url));

const KEY = `sk-ant-bench-${'b'.repeat(40)}`;
const TURNS = 20;
const MAX_RETRIES = 4; // the generator's default
const call = (name, input) => ({ name, input });

/** A page module of the app: a section per feature, each with a few lines of copy. */
const section = (id, title, lines) =>
  `<section id="${id}"><h2>${title}</h2>${Array.from({ length: lines }, (_, i) => `<p>${title}: detail ${i + 1} of the feature, as the spec describes it.</p>`).join('')}</section>`;
const page = (sections) =>
  `export function render() {\n  return '<h1>EventHub</h1>${sections.join('')}';\n}\n`;
const FEATURES = [
  ['rsvp', 'Event page with RSVP', 12],
  ['waitlist', 'Waitlist when full', 10],
  ['checkin', 'Door check-in on mobile', 10],
  ['speakers', 'Speaker bios', 8],
  ['schedule', 'Schedule', 8],
];
const upTo = (n) => FEATURES.slice(0, n).map(([id, title, lines]) => section(id, title, lines));

/** 20 turns: read the template, then for each feature write it, build and look at the result. */
function session() {
  const turns = [
    testing.toolCalls(
      [call('list_files', {}), call('read_file', { path: 'NOTES.md' })],
      'Looking at the template.',
    ),
    testing.toolCalls([call('read_file', { path: 'src/app.mjs' }), call('read_file', { path: 'build.mjs' })]),
  ];
  for (let n = 1; n <= FEATURES.length; n++) {
    turns.push(
      testing.toolCalls(
        [call('write_file', { path: 'src/app.mjs', content: page(upTo(n)) })],
        `Adding ${FEATURES[n - 1][1]}.`,
      ),
      testing.toolCalls([call('run_command', { name: 'build' })]),
      testing.toolCalls([call('read_file', { path: 'site/index.html' })]),
    );
  }
  turns.push(
    testing.toolCalls([
      call('write_file', {
        path: 'README.md',
        content: `# EventHub\n\n${FEATURES.map((f) => `- ${f[1]}`).join('\n')}\n`,
      }),
    ]),
    testing.toolCalls([call('run_command', { name: 'build' })]),
  );
  turns.push(testing.endTurn('EventHub has all five features; the build passes.'));
  if (turns.length !== TURNS) throw new Error(`the script has ${turns.length} turns, not ${TURNS}`);
  return turns;
}

/** One session through the real generator; `overload` injects 529s. */
async function runSession(overload) {
  const standIn = await testing.startMessagesStandIn({
    apiKey: KEY,
    script: testing.scripted(session()),
    ...(overload ? { overload } : {}),
  });
  const dir = await mkdtemp(join(tmpdir(), 'claude-bench-'));
  try {
    const manifest = await testing.writeTinyTemplate(dir);
    const generator = claude.createClaudeCodeGenerator(
      { apiKey: KEY, baseUrl: standIn.url, maxRetries: MAX_RETRIES },
      { sleep: async () => undefined },
    );
    const report = core.recordingReporter();
    const result = await generator.generate({
      jobId: 'bench',
      spec: core.sampleSpec(),
      workspace: { jobId: 'bench', dir },
      manifest,
      report,
    });
    return { result, report, requests: [...standIn.requests] };
  } finally {
    await standIn.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * API calls one Claude turn makes when every call answers 529 overloaded: the generator as the
 * AI_DEVELOPMENT step runs it, inside the pipeline's retry policy. Bound: `maxRetries + 1`; the
 * step's retry counts those tries and does not start the session again for the same failure.
 */
async function callsWhenAlwaysOverloaded() {
  const standIn = await testing.startMessagesStandIn({
    apiKey: KEY,
    script: testing.scripted([], () => testing.overloaded(0)),
  });
  const dir = await mkdtemp(join(tmpdir(), 'claude-bench-529-'));
  try {
    const manifest = await testing.writeTinyTemplate(dir);
    const generator = claude.createClaudeCodeGenerator(
      { apiKey: KEY, baseUrl: standIn.url, verifyBuild: false, maxRetries: MAX_RETRIES },
      { sleep: async () => undefined },
    );
    const error = await pipeline
      .retry(
        () =>
          generator.generate({
            jobId: 'bench',
            spec: core.sampleSpec(),
            workspace: { jobId: 'bench', dir },
            manifest,
            report: core.recordingReporter(),
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
    return { calls: standIn.requests.length, code: error.code };
  } finally {
    await standIn.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Calls per turn: each answered call ends a turn; the injected 529s before it belong to it. */
function callsPerTurn(requests) {
  const turns = [];
  let calls = 0;
  for (const request of requests) {
    calls++;
    if (!request.injected) {
      turns.push(calls);
      calls = 0;
    }
  }
  return turns;
}

export async function run() {
  const plain = await runSession();
  const usages = plain.requests.map((r) => r.usage).filter(Boolean);
  if (usages.length !== TURNS) throw new Error(`expected ${TURNS} turns, the session took ${usages.length}`);
  const prompt = (u) => u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens;
  const total = usages.reduce((n, u) => n + prompt(u), 0);
  const later = usages.slice(1);
  const share =
    later.reduce((n, u) => n + u.cache_read_input_tokens, 0) / later.reduce((n, u) => n + prompt(u), 0);
  const prices = claude.DEFAULT_MODEL_PRICES[claude.DEFAULT_CLAUDE_MODEL];
  const cost = plain.report.usages.reduce((n, u) => n + (u.costUsd ?? 0), 0);
  const uncached = usages.reduce(
    (n, u) => n + (prompt(u) * prices.inputPerMTok + u.output_tokens * prices.outputPerMTok) / 1e6,
    0,
  );
  // The job record's view of the same session: what `mvp status` and the dashboard show.
  const jobUsage = plain.report.usages.reduce(
    (u, delta) => pipeline.addUsage(u, 'AI_DEVELOPMENT', delta, 0),
    pipeline.emptyJobUsage(),
  );

  // The same session with 529s on every 3rd call and a run of four in a row (calls 12–15).
  const overload = { every: 3, calls: [13, 14] };
  const stormy = await runSession(overload);
  const perTurn = callsPerTurn(stormy.requests);
  const injected = stormy.requests.filter((r) => r.injected).length;
  const always = await callsWhenAlwaysOverloaded();
  const bound = MAX_RETRIES + 1;

  return [
    {
      name: 'turns',
      value: usages.length,
      unit: 'turns',
      goal: String(TURNS),
      pass: usages.length === TURNS,
    },
    {
      name: 'files changed',
      value: plain.result.filesChanged.length,
      unit: 'files',
      goal: '',
      pass: undefined,
    },
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
      goal: '>= 80',
      pass: share >= 0.8,
    },
    {
      name: `USD per session at the configured prices (${claude.DEFAULT_CLAUDE_MODEL})`,
      value: Math.round(cost * 1e4) / 1e4,
      unit: 'USD',
      goal: '',
      pass: undefined,
    },
    {
      name: 'USD per session without caching',
      value: Math.round(uncached * 1e4) / 1e4,
      unit: 'USD',
      goal: '',
      pass: undefined,
    },
    {
      name: 'the job record says',
      value: pipeline.aiCostLine(jobUsage),
      unit: '',
      goal: '',
      pass: undefined,
    },
    {
      name: `session under 529s (every 3rd call, calls 12–15): turns done`,
      value: perTurn.length,
      unit: `turns (${injected} calls answered 529)`,
      goal: String(TURNS),
      pass:
        perTurn.length === TURNS && stormy.result.filesChanged.length === plain.result.filesChanged.length,
    },
    {
      name: 'API calls per turn under those 529s (most)',
      value: Math.max(...perTurn),
      unit: 'calls',
      goal: `<= ${bound} (maxRetries + 1)`,
      pass: Math.max(...perTurn) <= bound,
    },
    {
      name: 'API calls by one Claude turn when every call is 529',
      value: always.calls,
      unit: `calls (then ${always.code})`,
      goal: `<= ${bound}`,
      pass: always.calls <= bound,
    },
  ];
}
