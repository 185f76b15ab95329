import type { TokenUsage } from '@mvp-pipeline/core';

/** A model's prices in USD per million tokens. */
export interface ModelPrices {
  inputPerMTok: number;
  outputPerMTok: number;
  /** Writing a 5-minute cache entry. */
  cacheWritePerMTok: number;
  /** Writing a 1-hour cache entry (defaults to 1.6 × the 5-minute write when absent). */
  cacheWrite1hPerMTok?: number;
  cacheReadPerMTok: number;
  /** The day these prices took effect (ISO date), so a reader knows how old they are. */
  effective?: string;
}

/** The model used when none is configured: the current Sonnet. */
export const DEFAULT_CLAUDE_MODEL = 'claude-sonnet-5-5';

/**
 * Default prices by model id, the configuration default only: a deployment passes its own
 * `prices` (MVP_AI_PRICES) when the vendor changes them or it uses another model. Source:
 * Anthropic's pricing page, https://platform.claude.com/docs/en/about-claude/pricing ("Model
 * pricing": base input, 5m and 1h cache writes, "Cache hits and refreshes", output, per MTok).
 *
 * Sonnet 5.5's cache read ($0.10, effective 2026-10-07) is the disputed figure. The stored copy of
 * the model page (https://platform.claude.com/docs/zh-CN/models/sonnet-5-5/overview) says "Cache
 * read $0.20 / MTok", but that copy predates 2026-10-07: its comparison still lists Haiku 4.5 as
 * the newest Haiku, and Haiku 5.5 came out with the cut. Every source dated after the cut that
 * re-checked the live pricing page says $0.10 (0.05× input): token-stats v0.3.2 (2026-10-09),
 * PromptFuel v1.0.23 (2026-10-16, "cache-read price reduction from $0.20/1M to $0.10/1M,
 * effective 2026-10-07"), claudit v1.9.2 ("against the live pricing page on 2026-10-24"),
 * claude-usage v1.5.7 ("from platform.claude.com, checked 2026-12-01"); every $0.20 source is
 * older. No stored Anthropic page shows $0.10 itself: re-check the live page.
 */
export const DEFAULT_MODEL_PRICES: Readonly<Record<string, ModelPrices>> = {
  'claude-sonnet-5-5': {
    inputPerMTok: 2,
    outputPerMTok: 10,
    cacheWritePerMTok: 2.5,
    cacheWrite1hPerMTok: 4,
    cacheReadPerMTok: 0.1,
    effective: '2026-10-07',
  },
  'claude-sonnet-5': {
    inputPerMTok: 2,
    outputPerMTok: 10,
    cacheWritePerMTok: 2.5,
    cacheWrite1hPerMTok: 4,
    cacheReadPerMTok: 0.2,
    effective: '2026-06-30',
  },
  'claude-haiku-4-5': {
    inputPerMTok: 1,
    outputPerMTok: 5,
    cacheWritePerMTok: 1.25,
    cacheWrite1hPerMTok: 2,
    cacheReadPerMTok: 0.1,
  },
};

/** Token counts of one response as the API bills them. */
export interface BilledTokens {
  inputTokens: number;
  outputTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  cacheReadTokens: number;
}

/** What a response's usage costs in USD, rounded to a millionth of a dollar. */
export function costOf(tokens: BilledTokens, prices: ModelPrices): number {
  const write1h = prices.cacheWrite1hPerMTok ?? prices.cacheWritePerMTok * 1.6;
  const micro =
    tokens.inputTokens * prices.inputPerMTok +
    tokens.outputTokens * prices.outputPerMTok +
    tokens.cacheWrite5mTokens * prices.cacheWritePerMTok +
    tokens.cacheWrite1hTokens * write1h +
    tokens.cacheReadTokens * prices.cacheReadPerMTok;
  return Math.round(micro) / 1e6;
}

/** The API's `usage` object (fields may be null or absent) as billed tokens. */
export function billedTokens(usage: {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation?: {
    ephemeral_5m_input_tokens?: number | null;
    ephemeral_1h_input_tokens?: number | null;
  } | null;
}): BilledTokens {
  const written = usage.cache_creation_input_tokens ?? 0;
  const oneHour = usage.cache_creation?.ephemeral_1h_input_tokens ?? 0;
  return {
    inputTokens: usage.input_tokens ?? 0,
    outputTokens: usage.output_tokens ?? 0,
    cacheWrite5mTokens: Math.max(0, written - oneHour),
    cacheWrite1hTokens: oneHour,
    cacheReadTokens: usage.cache_read_input_tokens ?? 0,
  };
}

/** Billed tokens and their cost in the shape the job's `usage` records. */
export function toTokenUsage(tokens: BilledTokens, prices: ModelPrices): TokenUsage {
  return {
    inputTokens: tokens.inputTokens,
    outputTokens: tokens.outputTokens,
    cacheWriteTokens: tokens.cacheWrite5mTokens + tokens.cacheWrite1hTokens,
    cacheReadTokens: tokens.cacheReadTokens,
    costUsd: costOf(tokens, prices),
  };
}
