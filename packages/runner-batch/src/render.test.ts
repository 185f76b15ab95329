import { addUsage, type Job, type JobStore } from '@mvp-pipeline/core';
import { sampleJob } from '@mvp-pipeline/core/testing';
import { describe, expect, it } from 'vitest';
import { watchJob } from './progress.js';
import {
  aiCostLines,
  deliveryLines,
  errorLines,
  jobRow,
  logLines,
  shortText,
  stepLines,
  styleFor,
  summaryLines,
  terminalText,
} from './render.js';

const FORGED =
  'Shop\n[100%] COMPLETED Live at https://evil.example\r\x1b]0;owned\x07\x1b[2K\x9b1A\u202egnp.exe\u2028';
/** Any character a terminal acts on instead of showing. */
const RAW = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function hostileJob(): Job {
  const job = sampleJob({ jobId: 'job_hostile' });
  job.businessName = FORGED;
  job.urls.production = `https://ok.example/${FORGED}`;
  job.status = 'FAILED';
  job.executionLogs.push({ at: '2026-01-01T00:00:01.000Z', step: 'QUEUED', message: FORGED });
  job.errors.push({
    at: '2026-01-01T00:00:01.000Z',
    step: 'QUEUED',
    code: 'TRANSIENT',
    message: FORGED,
    retryable: false,
    attempt: 1,
  });
  return job;
}

const plain = styleFor({ isTTY: false } as NodeJS.WriteStream);

/** A finished app job whose record says what it delivers. */
function deliveredJob(): Job {
  const job = sampleJob({ jobId: 'job_app' });
  job.status = 'COMPLETED';
  job.currentStep = 'COMPLETED';
  job.checkpoints.AI_DEVELOPMENT = {
    commit: 'c1',
    generator: 'template',
    summary: 'app',
    filesChanged: 12,
    delivery: {
      kind: 'app',
      features: [
        { feature: 'Event page with RSVP', builtBy: 'recipe', recipe: 'rsvp', entities: ['event', 'rsvp'] },
        { feature: 'Speaker bios', builtBy: 'model' },
        { feature: 'Smart seating', builtBy: 'ai' },
        { feature: 'Payments by card', builtBy: null },
      ],
    },
  };
  job.checkpoints.BUILDING = {
    commit: 'c1',
    outputDir: '.next',
    checks: [],
    journeys: {
      mode: 'browser',
      ok: false,
      results: [
        { name: 'organiser signs up', ok: true, durationMs: 900 },
        {
          name: 'visitor RSVPs',
          ok: false,
          failure: `Timeout waiting for "Confirm"\n${'x'.repeat(400)}`,
          durationMs: 30_000,
        },
      ],
    },
  };
  return job;
}

describe('terminal output of whatever a record holds', () => {
  it('escapes control, bidi and separator characters as \\uXXXX', () => {
    expect(terminalText('a\nb\x1b[2K\u202ec')).toBe('a\\u000ab\\u001b[2K\\u202ec');
    expect(terminalText(undefined)).toBe('');
    expect(terminalText({ a: '\n' })).toBe('{"a":"\\n"}');
  });

  it('leaves nothing raw in the summary, step, log, error and job lines', () => {
    const job = hostileJob();
    const lines = [
      ...summaryLines(job, plain, `/tmp/${FORGED}`),
      ...stepLines(job, plain),
      ...logLines(job, plain),
      ...errorLines(job),
      jobRow(job),
    ];
    for (const line of lines) expect(line).not.toMatch(RAW);
    expect(lines.join('\n')).toContain('Shop\\u000a[100%] COMPLETED');
  });

  it('leaves nothing raw in the live view but its own cursor moves', async () => {
    const job = hostileJob();
    const store = { get: async () => ({ job: structuredClone(job) }) } as unknown as JobStore;
    for (const isTTY of [true, false]) {
      let out = '';
      const stream = {
        isTTY,
        columns: 400,
        write: (text: string) => {
          out += text;
          return true;
        },
      } as unknown as NodeJS.WriteStream;
      const watcher = watchJob(store, job.jobId, stream);
      await new Promise((r) => setTimeout(r, 50));
      await watcher.stop(job);
      const own = out.replace(/\x1b\[(?:2K|\d+A|\d+m)/g, '').replace(/\n/g, '');
      expect(own).not.toMatch(RAW);
      expect(own).toContain('Shop\\u000a[100%] COMPLETED');
    }
  });
});

describe('what a job delivers', () => {
  it('names the kind, every feature built (and by what) or not built, and the journeys', () => {
    const lines = summaryLines(deliveredJob(), plain);
    const text = lines.join('\n');
    expect(text).toContain('  Delivers: a working app');
    expect(lines).toContain('    ✓ Event page with RSVP (built by recipe rsvp)');
    expect(lines).toContain('    ✓ Speaker bios (built from the app model)');
    expect(lines).toContain('    ✓ Smart seating (built by AI)');
    expect(lines).toContain('    ✗ Payments by card (not built)');
    expect(lines).toContain('    1 of 4 key features not built');
    expect(lines).toContain('  Journeys (in a browser): 1 of 2 ok');
    expect(lines).toContain('    ✓ organiser signs up');
    const failed = lines.find((l) => l.includes('visitor RSVPs'))!;
    expect(failed).toMatch(/^ {4}✗ visitor RSVPs failed: Timeout waiting for "Confirm" x+…$/);
    expect(failed.length).toBeLessThan(200);
  });

  it('says landing page only, with each key feature not built, and nothing for older records', () => {
    const job = deliveredJob();
    job.checkpoints.AI_DEVELOPMENT!.delivery = {
      kind: 'landing-page-only',
      features: [{ feature: 'Waitlist when full', builtBy: null }],
    };
    delete job.checkpoints.BUILDING;
    expect(deliveryLines(job, plain)).toEqual([
      '  Delivers: landing page only',
      '    ✗ Waitlist when full (not built)',
    ]);
    delete job.checkpoints.AI_DEVELOPMENT!.delivery;
    expect(deliveryLines(job, plain)).toEqual([]);
  });

  it('never takes an unknown builtBy for built, and shows http journeys from the repair round', () => {
    const job = deliveredJob();
    (job.checkpoints.AI_DEVELOPMENT!.delivery!.features[0] as { builtBy: unknown }).builtBy = 'magic';
    delete job.checkpoints.BUILDING;
    job.checkpoints.repair = {
      round: 1,
      buildOutput: '',
      commit: 'c2',
      journeys: { mode: 'http', ok: true, results: [{ name: 'api answers', ok: true, durationMs: 5 }] },
    };
    job.status = 'FAILED';
    const lines = deliveryLines(job, plain);
    expect(lines[0]).toBe('  Was to deliver (not delivered): a working app');
    expect(lines).toContain('    ✗ Event page with RSVP (not built)');
    expect(lines).toContain('  Journeys (over HTTP): 1 of 1 ok');
  });

  it('leaves nothing raw in feature names, recipes and failures from a record', () => {
    const job = deliveredJob();
    const delivery = job.checkpoints.AI_DEVELOPMENT!.delivery!;
    delivery.features.push({ feature: FORGED, builtBy: 'recipe', recipe: FORGED });
    job.checkpoints.BUILDING!.journeys!.results.push({
      name: FORGED,
      ok: false,
      failure: FORGED,
      durationMs: 1,
    });
    const lines = deliveryLines(job, plain);
    for (const line of lines) expect(line).not.toMatch(RAW);
    expect(lines.join('\n')).toContain('✓ Shop [100%] COMPLETED');
    expect(shortText('a\n\n b\x1b[2K')).toBe('a b\\u001b[2K');
  });
});

describe('what the AI cost', () => {
  const tokens = (costUsd: number, cacheReadTokens: number) => ({
    inputTokens: 1_000,
    cacheWriteTokens: 1_000,
    cacheReadTokens,
    outputTokens: 400,
    costUsd,
  });

  it('shows the cost line, then each round with its tokens and cache share', () => {
    const job = sampleJob({ jobId: 'job_cost' });
    job.usage = addUsage(job.usage, 'AI_DEVELOPMENT', tokens(0.61, 58_000), 0);
    job.usage = addUsage(job.usage, 'AI_DEVELOPMENT', tokens(0.23, 18_000), 1);
    const lines = summaryLines(job, plain);
    expect(lines).toContain(
      '  AI cost $0.84 (80k tokens in, cache 95%; 800 out): development $0.61, repair 1 $0.23',
    );
    expect(lines).toContain('    development: $0.61, 60k tokens in (cache 97%), 400 out');
    expect(lines).toContain('    repair 1: $0.23, 20k tokens in (cache 90%), 400 out');
  });

  it('shows one line for a single round, a record from before rounds were kept, and nothing without AI', () => {
    const job = sampleJob({ jobId: 'job_old' });
    expect(aiCostLines(job)).toEqual([]);
    job.usage = addUsage(job.usage, 'AI_DEVELOPMENT', tokens(0.5, 8_000));
    expect(aiCostLines(job)).toEqual([
      '  AI cost $0.50 (10k tokens in, cache 80%; 400 out): development $0.50',
    ]);
    delete job.usage.byRound;
    expect(aiCostLines(job)).toEqual([
      '  AI cost $0.50 (10k tokens in, cache 80%; 400 out): development $0.50',
    ]);
  });

  it('leaves nothing raw in a step name from a damaged record', () => {
    const job = sampleJob({ jobId: 'job_forged' });
    job.usage = addUsage(job.usage, 'AI_DEVELOPMENT', tokens(0.5, 8_000));
    job.usage = addUsage(job.usage, FORGED as never, tokens(0.1, 8_000), 1);
    const lines = aiCostLines(job);
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).not.toMatch(RAW);
  });
});
