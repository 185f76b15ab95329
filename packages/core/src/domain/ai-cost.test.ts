import { describe, expect, it } from 'vitest';
import { aiCostLine, aiCostOf, cacheShare, formatTokens, formatUsd } from './ai-cost.js';
import { addUsage, emptyJobUsage, type JobUsage } from './job.js';

const turn = (costUsd: number, cacheReadTokens = 8_000) => ({
  inputTokens: 1_000,
  cacheWriteTokens: 1_000,
  cacheReadTokens,
  outputTokens: 500,
  costUsd,
});

describe('usage by step and round', () => {
  it('adds AI usage to the step and to its round; time alone makes no round entry', () => {
    let usage = emptyJobUsage();
    usage = addUsage(usage, 'FETCHING_DATA', { seconds: 1.5 });
    usage = addUsage(usage, 'AI_DEVELOPMENT', turn(0.3), 0);
    usage = addUsage(usage, 'AI_DEVELOPMENT', turn(0.31), 0);
    usage = addUsage(usage, 'AI_DEVELOPMENT', { seconds: 40 }, 0);
    usage = addUsage(usage, 'BUILDING', { seconds: 3 }, 0);
    usage = addUsage(usage, 'AI_DEVELOPMENT', turn(0.23), 1);
    expect(usage.byRound).toEqual([
      {
        round: 0,
        step: 'AI_DEVELOPMENT',
        inputTokens: 2_000,
        cacheWriteTokens: 2_000,
        cacheReadTokens: 16_000,
        outputTokens: 1_000,
        costUsd: 0.61,
      },
      {
        round: 1,
        step: 'AI_DEVELOPMENT',
        inputTokens: 1_000,
        cacheWriteTokens: 1_000,
        cacheReadTokens: 8_000,
        outputTokens: 500,
        costUsd: 0.23,
      },
    ]);
    // The step's and the job's totals are unchanged by the split.
    expect(usage.byStep.AI_DEVELOPMENT).toMatchObject({ costUsd: 0.84, seconds: 40, inputTokens: 3_000 });
    expect(usage).toMatchObject({ costUsd: 0.84, seconds: 44.5, cacheReadTokens: 24_000 });
  });

  it('keeps a record without AI usage free of the round list', () => {
    const usage = addUsage(emptyJobUsage(), 'BUILDING', { seconds: 2 });
    expect(usage).not.toHaveProperty('byRound');
    expect(aiCostLine(usage)).toBeUndefined();
  });
});

describe('the AI cost line', () => {
  it('gives the total, the tokens, the cache share and each round', () => {
    let usage = emptyJobUsage();
    usage = addUsage(usage, 'AI_DEVELOPMENT', { ...turn(0.61), cacheReadTokens: 52_000 }, 0);
    usage = addUsage(usage, 'AI_DEVELOPMENT', { ...turn(0.23), cacheReadTokens: 34_000 }, 1);
    // 4 000 plain + cache-write input, 86 000 read of 90 000 in all.
    expect(cacheShare(usage)).toBeCloseTo(86_000 / 90_000, 6);
    expect(aiCostLine(usage)).toBe(
      'AI cost $0.84 (90k tokens in, cache 96%; 1.0k out): development $0.61, repair 1 $0.23',
    );
  });

  it('reads a record written before rounds were kept: one part per step that spent tokens', () => {
    const old: JobUsage = {
      inputTokens: 10,
      outputTokens: 5,
      cacheWriteTokens: 0,
      cacheReadTokens: 30,
      costUsd: 0.004,
      seconds: 9,
      byStep: {
        AI_DEVELOPMENT: {
          inputTokens: 10,
          outputTokens: 5,
          cacheWriteTokens: 0,
          cacheReadTokens: 30,
          costUsd: 0.004,
          seconds: 8,
        },
        BUILDING: {
          inputTokens: 0,
          outputTokens: 0,
          cacheWriteTokens: 0,
          cacheReadTokens: 0,
          costUsd: 0,
          seconds: 1,
        },
      },
    };
    expect(aiCostOf(old)?.parts.map((p) => [p.label, p.round])).toEqual([['development', undefined]]);
    expect(aiCostLine(old)).toBe('AI cost $0.0040 (40 tokens in, cache 75%; 5 out): development $0.0040');
  });

  it('shows nothing for a job that used no AI, and no cache share without input', () => {
    expect(aiCostLine(emptyJobUsage())).toBeUndefined();
    expect(aiCostLine(undefined)).toBeUndefined();
    expect(
      cacheShare({ inputTokens: 0, outputTokens: 3, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0 }),
    ).toBeUndefined();
  });

  it('formats money and token counts for people', () => {
    expect([formatUsd(0), formatUsd(0.004), formatUsd(1.234)]).toEqual(['$0.00', '$0.0040', '$1.23']);
    expect([950, 4_100, 41_000, 1_250_000].map(formatTokens)).toEqual(['950', '4.1k', '41k', '1.3M']);
  });
});
