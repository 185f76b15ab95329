// Claude CodeGenerator on @anthropic-ai/sdk: a confined tool loop with budgets and prompt caching.
export { type BreakerSettings, DEFAULT_BREAKER, errorSignature } from './breaker.js';
export {
  AiBudgetExceededError,
  type BudgetName,
  mapModelError,
  NoProgressError,
  type NoProgressReason,
  retryAfterMs,
} from './errors.js';
export {
  type ClaudeCodeGeneratorDeps,
  type ClaudeCodeGeneratorSettings,
  createClaudeCodeGenerator,
} from './generator.js';
export {
  type BilledTokens,
  billedTokens,
  costOf,
  DEFAULT_CLAUDE_MODEL,
  DEFAULT_MODEL_PRICES,
  type ModelPrices,
  toTokenUsage,
} from './pricing.js';
export { type DependencyPolicy, dependencyRefusal, describeCheck, toolDefinitions } from './tools.js';
