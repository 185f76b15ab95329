import type { JobUsage, TokenUsage } from './job.js';
import { STEP_LABELS, type WorkStep } from './steps.js';

/** Every input token of a usage: plain, written to the cache and read from it. */
export function allInputTokens(usage: TokenUsage): number {
  return (usage.inputTokens || 0) + (usage.cacheWriteTokens || 0) + (usage.cacheReadTokens || 0);
}

/**
 * The share of input tokens read from the prompt cache (cache-read / all input), 0 to 1;
 * undefined when there was no input at all.
 */
export function cacheShare(usage: TokenUsage): number | undefined {
  const all = allInputTokens(usage);
  return all > 0 ? (usage.cacheReadTokens || 0) / all : undefined;
}

/** One part of a job's AI cost: a step in a round ("development", "repair 1"). */
export interface AiCostPart extends TokenUsage {
  /** What a person reads: `development`, `repair 2`, or another step's label. */
  label: string;
  step: WorkStep;
  /** The round (0: first development); undefined for records without per-round usage. */
  round: number | undefined;
}

/** A job's AI cost: the totals and the parts by step and round, in the order they were spent. */
export interface AiCost extends TokenUsage {
  parts: AiCostPart[];
}

function partLabel(step: WorkStep, round: number | undefined): string {
  if (step === 'AI_DEVELOPMENT') return round ? `repair ${round}` : 'development';
  const label = STEP_LABELS[step] ?? String(step);
  return round ? `${label} (round ${round})` : label;
}

const tokensOf = (u: Partial<TokenUsage>): TokenUsage => ({
  inputTokens: Number(u.inputTokens) || 0,
  outputTokens: Number(u.outputTokens) || 0,
  cacheWriteTokens: Number(u.cacheWriteTokens) || 0,
  cacheReadTokens: Number(u.cacheReadTokens) || 0,
  costUsd: Number(u.costUsd) || 0,
});

const spentAny = (u: TokenUsage) => allInputTokens(u) + u.outputTokens > 0 || u.costUsd > 0;

/**
 * A job's AI cost by step and round, or undefined when it used no AI. Records written before
 * per-round usage was kept give one part per step that spent tokens (its rounds together).
 */
export function aiCostOf(usage: JobUsage | undefined): AiCost | undefined {
  if (!usage) return undefined;
  const total = tokensOf(usage);
  if (!spentAny(total)) return undefined;
  const rounds = Array.isArray(usage.byRound) ? usage.byRound : undefined;
  const parts: AiCostPart[] = rounds
    ? rounds.map((r) => ({ ...tokensOf(r), step: r.step, round: r.round, label: partLabel(r.step, r.round) }))
    : Object.entries(usage.byStep ?? {}).flatMap(([step, u]) => {
        const tokens = tokensOf(u ?? {});
        return spentAny(tokens)
          ? [{ ...tokens, step: step as WorkStep, round: undefined, label: partLabel(step as WorkStep, 0) }]
          : [];
      });
  return { ...total, parts };
}

/** USD as a person reads it: cents, or four decimals under a cent. */
export function formatUsd(usd: number): string {
  const n = Number(usd) || 0;
  return `$${n > 0 && n < 0.01 ? n.toFixed(4) : n.toFixed(2)}`;
}

/** A token count in short: 950, 41k, 1.2M. */
export function formatTokens(count: number): string {
  const n = Number(count) || 0;
  if (n < 1_000) return String(n);
  if (n < 1_000_000) return `${n < 10_000 ? (n / 1_000).toFixed(1) : Math.round(n / 1_000)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

const percent = (share: number | undefined) => (share === undefined ? '' : `${Math.round(share * 100)}%`);

/**
 * The job's AI cost on one line, e.g.
 * `AI cost $0.84 (412k tokens in, cache 86%; 38k out): development $0.61, repair 1 $0.23`;
 * undefined when the job used no AI. `mvp status` and the dashboard show it.
 */
export function aiCostLine(usage: JobUsage | undefined): string | undefined {
  const cost = aiCostOf(usage);
  if (!cost) return undefined;
  const share = cacheShare(cost);
  const tokens = `${formatTokens(allInputTokens(cost))} tokens in${share === undefined ? '' : `, cache ${percent(share)}`}; ${formatTokens(cost.outputTokens)} out`;
  const parts = cost.parts.map((p) => `${p.label} ${formatUsd(p.costUsd)}`).join(', ');
  return `AI cost ${formatUsd(cost.costUsd)} (${tokens})${parts ? `: ${parts}` : ''}`;
}

/** One part on one line: `repair 1: $0.23, 96k tokens in (cache 91%), 12k out`. */
export function aiCostPartLine(part: AiCostPart): string {
  const share = cacheShare(part);
  return `${part.label}: ${formatUsd(part.costUsd)}, ${formatTokens(allInputTokens(part))} tokens in${share === undefined ? '' : ` (cache ${percent(share)})`}, ${formatTokens(part.outputTokens)} out`;
}
