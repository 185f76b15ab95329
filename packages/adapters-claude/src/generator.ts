// Over 400 lines: one Claude session (budgets, the tool loop, cache points, the breaker and error
// mapping) is a closure over the session's state; its tools, prompt, pricing and errors are modules.
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import Anthropic, { type ClientOptions } from '@anthropic-ai/sdk';
import type {
  ContentBlock,
  ContentBlockParam,
  Message,
  MessageCreateParamsBase,
  MessageParam,
  TextBlockParam,
  ThinkingConfigParam,
  ToolResultBlockParam,
  ToolUseBlock,
} from '@anthropic-ai/sdk/resources/messages/messages';
import {
  CancelledError,
  type CodeGenerator,
  ConfigError,
  createRedactor,
  DEVELOPMENT_INSTRUCTIONS_FILE,
  type FeatureOutcome,
  type GenerateOptions,
  type GenerateResult,
  PermanentError,
  PipelineError,
  parseAppModel,
  type Redactor,
  type RetryPolicy,
  renderDevelopmentInstructions,
  renderSpecMarkdown,
  retry,
  SPEC_MARKDOWN_FILE,
  TransientError,
} from '@mvp-pipeline/core';
import { isSecretVariable, resolveInside } from '@mvp-pipeline/workspace';
import { type BreakerSettings, DEFAULT_BREAKER, NoProgressBreaker, type Trip } from './breaker.js';
import { AiBudgetExceededError, type BudgetName, mapModelError, NoProgressError } from './errors.js';
import {
  billedTokens,
  DEFAULT_CLAUDE_MODEL,
  DEFAULT_MODEL_PRICES,
  type ModelPrices,
  toTokenUsage,
} from './pricing.js';
import { ThrottledProgress } from './progress.js';
import {
  buildFailedMessage,
  CUT_OFF_MESSAGE,
  checkFailedMessage,
  systemBlocks,
  taskMessage,
} from './prompt.js';
import { createToolbox, type DependencyPolicy, formatMs, type Toolbox, toolDefinitions } from './tools.js';

/** Settings of the Claude code generator. Budgets apply to each `generate` call (one job step). */
export interface ClaudeCodeGeneratorSettings {
  /** ANTHROPIC_API_KEY. Lives only in the client: never in prompts, tool input or command env. */
  apiKey?: string | undefined;
  /** ANTHROPIC_MODEL; default {@link DEFAULT_CLAUDE_MODEL}. */
  model?: string | undefined;
  /** ANTHROPIC_BASE_URL; default the SDK's (which reads ANTHROPIC_BASE_URL, else api.anthropic.com). */
  baseUrl?: string | undefined;
  /** Most model turns (API calls) per run. Default 40. */
  maxTurns?: number | undefined;
  /** Most output tokens per run, thinking included. Default 200 000. */
  maxOutputTokens?: number | undefined;
  /** Most USD per run, priced with `prices`. Default 5. */
  maxCostUsd?: number | undefined;
  /** Prices of `model` per MTok; default {@link DEFAULT_MODEL_PRICES}[model] (required for other models). */
  prices?: ModelPrices | undefined;
  /** `max_tokens` of one turn, thinking included (calls stream, so whole files fit). Default 32 000. */
  maxTokensPerTurn?: number | undefined;
  /**
   * Thinking: `'adaptive'` (the model decides how much; the only mode Claude 4.7 and later
   * models accept, the default model included), or a manual `budget_tokens` per turn for older
   * models (at least 1 024, below `maxTokensPerTurn`). Thinking tokens count against
   * `max_tokens` and are billed as output. Default off.
   */
  thinking?: 'adaptive' | number | undefined;
  /** `output_config.effort`: how much effort the model puts into each reply. Default: the API's. */
  effort?: Effort | undefined;
  /** Timeout of one template command run by the model. Default 5 minutes. */
  commandTimeoutMs?: number | undefined;
  /** Bytes of a command's output (its tail) shown to the model. Default 16 KiB. */
  outputCap?: number | undefined;
  /** Characters of a file shown by read_file. Default 100 000. */
  maxReadChars?: number | undefined;
  /** Timeout of one HTTP call to the API. Default 10 minutes. */
  callTimeoutMs?: number | undefined;
  /** Watchdog of one turn (the model call, its retries and the tools it asked for). Default 20 minutes. */
  turnTimeoutMs?: number | undefined;
  /**
   * Retries of one call on 429/529/5xx/timeouts before the error goes up (so at most
   * `maxRetries + 1` API calls per turn; the step's own retry does not restart the session for it). Default 4.
   */
  maxRetries?: number | undefined;
  /** A retry-after longer than this is not waited for here: the RateLimitedError goes up with it. Default 60 s. */
  maxRetryWaitMs?: number | undefined;
  /** The no-progress breaker's limits. */
  breaker?: Partial<BreakerSettings> | undefined;
  /** At most one progress line per this many ms. Default 5 s. */
  progressIntervalMs?: number | undefined;
  /** Cache entry lifetime of the prompt's cache points. Default `5m`. */
  cacheTtl?: '5m' | '1h' | undefined;
  /** Run the build when the model says it is done, and send failures back to it. Default true. */
  verifyBuild?: boolean | undefined;
  /** More values to redact from everything sent to the model (the environment's secrets are redacted anyway). */
  secrets?: readonly string[] | undefined;
  /** Which npm packages add_dependency may add (MVP_AI_DEPENDENCIES_ALLOW / _DENY). Default: any the registry has. */
  dependencies?: DependencyPolicy | undefined;
}

/** Injectable collaborators (tests, embedders). */
export interface ClaudeCodeGeneratorDeps {
  /** A ready client; `apiKey`, `baseUrl` and `fetch` are then ignored. */
  client?: Anthropic;
  /** The fetch the SDK uses. */
  fetch?: ClientOptions['fetch'];
  /** Waits between retries (default: timers). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Milliseconds clock for the progress rate limit (default Date.now). */
  now?: () => number;
  /**
   * The process's redactor. The generator adds the settings' `secrets` and the environment's
   * secret-looking values to it for what it sends to the model.
   */
  redact?: Redactor;
}

interface Resolved {
  model: string;
  prices: ModelPrices;
  maxTurns: number;
  maxOutputTokens: number;
  maxCostUsd: number;
  maxTokensPerTurn: number;
  thinking: 'adaptive' | number | undefined;
  effort: Effort | undefined;
  commandTimeoutMs: number;
  outputCap: number;
  maxReadChars: number;
  callTimeoutMs: number;
  turnTimeoutMs: number;
  maxRetries: number;
  maxRetryWaitMs: number;
  breaker: BreakerSettings;
  progressIntervalMs: number;
  cacheTtl: '5m' | '1h';
  verifyBuild: boolean;
  secrets: readonly string[];
  dependencies: DependencyPolicy | undefined;
}

// Below this many tokens of room a turn cannot do useful work: the budget counts as spent.
const MIN_TURN_TOKENS = 1_024;

/** The efforts `output_config.effort` takes. */
export const EFFORTS = ['low', 'medium', 'high', 'xhigh', 'max'] as const;
export type Effort = (typeof EFFORTS)[number];

/**
 * The `thinking` and `output_config` fields of a turn: adaptive as configured; a manual budget
 * cut so that `MIN_TURN_TOKENS` of `max_tokens` stay for the answer (thinking counts against
 * it), and none when the room is too small.
 */
function thinkingFor(
  config: Pick<Resolved, 'thinking' | 'effort'>,
  maxTokens: number,
): { thinking?: ThinkingConfigParam; output_config?: { effort: Effort } } {
  const effort = config.effort ? { output_config: { effort: config.effort } } : {};
  if (config.thinking === undefined) return effort;
  if (config.thinking === 'adaptive') return { thinking: { type: 'adaptive' }, ...effort };
  const fits = Math.min(config.thinking, maxTokens - MIN_TURN_TOKENS);
  return fits >= 1_024 ? { thinking: { type: 'enabled', budget_tokens: fits }, ...effort } : effort;
}
const MAX_NOTES_CHARS = 20_000;
/** Backoff of one API call's retries (the number of tries is `maxRetries + 1`). */
const CALL_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 30_000 };

/**
 * A CodeGenerator that develops the MVP with Claude in a tool-use loop of its own: list, read,
 * write, edit and delete files confined to the workspace, and run the template's declared
 * commands. The stable prefix (tools, system prompt, spec) and the growing conversation are
 * cached. Usage is reported per turn through `report.usage`.
 *
 * Errors (all PipelineErrors, so a wrapper such as a template fallback can catch them by code):
 * - `BUDGET_EXCEEDED` ({@link AiBudgetExceededError}): max turns, output tokens or cost ran out.
 * - `PERMANENT` ({@link NoProgressError}): the no-progress breaker stopped the session.
 * - `PERMANENT`: refusal, spend limit, 4xx request errors, bad credentials.
 * - `TRANSIENT` / `RATE_LIMITED` (with `retryAfterMs`): 529, 5xx, 429, timeouts, after the retries here.
 * - The signal's reason (a PipelineError) or `CANCELLED` when `signal` aborts.
 * The work done before an error stays in the workspace.
 */
export function createClaudeCodeGenerator(
  settings: ClaudeCodeGeneratorSettings,
  deps: ClaudeCodeGeneratorDeps = {},
): CodeGenerator {
  const config = resolveSettings(settings);
  if (!deps.client && !settings.apiKey) {
    throw new ConfigError('ANTHROPIC_API_KEY', 'is required for the Claude code generator');
  }
  const client =
    deps.client ??
    new Anthropic({
      apiKey: settings.apiKey ?? null,
      maxRetries: 0,
      timeout: config.callTimeoutMs,
      logLevel: 'off',
      ...(settings.baseUrl ? { baseURL: settings.baseUrl } : {}),
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    });
  const sleep = deps.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, { signal }));
  const now = deps.now ?? Date.now;

  return {
    specificationVersion: 'v1',
    async generate(options) {
      const session = new Session(
        config,
        client,
        sleep,
        now,
        options,
        [settings.apiKey, ...config.secrets],
        deps.redact,
      );
      return session.run();
    },
  };
}

function resolveSettings(s: ClaudeCodeGeneratorSettings): Resolved {
  const model = s.model?.trim() || DEFAULT_CLAUDE_MODEL;
  const prices = s.prices ?? DEFAULT_MODEL_PRICES[model];
  if (!prices) {
    throw new ConfigError(
      'ANTHROPIC_MODEL',
      `no prices are known for model "${model}": set MVP_AI_PRICES (the \`prices\` setting), USD per million tokens, e.g. {"input":3,"output":15,"cacheWrite":3.75,"cacheRead":0.3}`,
    );
  }
  for (const [name, value] of Object.entries(prices)) {
    if (name !== 'effective' && (typeof value !== 'number' || !(value >= 0))) {
      throw new ConfigError(`prices.${name}`, 'must be a number of USD per million tokens, 0 or more');
    }
  }
  const positive = (name: string, value: number | undefined, fallback: number, integer = true): number => {
    if (value === undefined) return fallback;
    if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
      throw new ConfigError(name, `must be a positive ${integer ? 'whole ' : ''}number, got ${value}`);
    }
    return value;
  };
  const maxTokensPerTurn = positive('maxTokensPerTurn', s.maxTokensPerTurn, 32_000);
  const thinking =
    s.thinking === 'adaptive' || s.thinking === undefined ? s.thinking : positive('thinking', s.thinking, 0);
  if (typeof thinking === 'number' && (thinking < 1_024 || thinking + MIN_TURN_TOKENS > maxTokensPerTurn)) {
    throw new ConfigError(
      'thinking',
      `a manual thinking budget must be at least 1024 and leave ${MIN_TURN_TOKENS} tokens of maxTokensPerTurn (${maxTokensPerTurn}) for the answer, got ${thinking}`,
    );
  }
  if (s.effort !== undefined && !EFFORTS.includes(s.effort)) {
    throw new ConfigError('effort', `must be one of ${EFFORTS.join(', ')}, got ${String(s.effort)}`);
  }
  const breaker = { ...DEFAULT_BREAKER };
  for (const key of Object.keys(DEFAULT_BREAKER) as (keyof BreakerSettings)[]) {
    breaker[key] = positive(`breaker.${key}`, s.breaker?.[key], DEFAULT_BREAKER[key]);
  }
  return {
    model,
    prices,
    maxTurns: positive('maxTurns', s.maxTurns, 40),
    maxOutputTokens: positive('maxOutputTokens', s.maxOutputTokens, 200_000),
    maxCostUsd: positive('maxCostUsd', s.maxCostUsd, 5, false),
    maxTokensPerTurn,
    thinking,
    effort: s.effort,
    commandTimeoutMs: positive('commandTimeoutMs', s.commandTimeoutMs, 5 * 60_000),
    outputCap: positive('outputCap', s.outputCap, 16 * 1024),
    maxReadChars: positive('maxReadChars', s.maxReadChars, 100_000),
    callTimeoutMs: positive('callTimeoutMs', s.callTimeoutMs, 10 * 60_000),
    turnTimeoutMs: positive('turnTimeoutMs', s.turnTimeoutMs, 20 * 60_000),
    maxRetries: s.maxRetries === 0 ? 0 : positive('maxRetries', s.maxRetries, 4),
    maxRetryWaitMs: positive('maxRetryWaitMs', s.maxRetryWaitMs, 60_000),
    breaker,
    progressIntervalMs: positive('progressIntervalMs', s.progressIntervalMs, 5_000),
    cacheTtl: s.cacheTtl ?? '5m',
    verifyBuild: s.verifyBuild ?? true,
    secrets: s.secrets ?? [],
    dependencies: s.dependencies,
  };
}

/** One `generate` call: the conversation, its budgets and its breaker. */
class Session {
  private readonly redact: Redactor;
  private readonly progress: ThrottledProgress;
  private readonly breaker: NoProgressBreaker;
  private readonly toolbox: Toolbox;
  private readonly messages: MessageParam[] = [];
  private readonly touched = new Set<string>();
  private turns = 0;
  private outputTokens = 0;
  private costUsd = 0;
  // Whether a build (or, with a workbench, the app check) has passed since the last change of a file.
  private buildPassed = false;
  private appCheckPassed = false;

  constructor(
    private readonly config: Resolved,
    private readonly client: Anthropic,
    private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
    now: () => number,
    private readonly options: GenerateOptions,
    secrets: readonly (string | undefined)[],
    outer: Redactor | undefined,
  ) {
    const fromEnv = Object.entries(process.env)
      .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
      .filter(([name, value]) => isSecretVariable(name, value))
      .map(([, value]) => value);
    const own = createRedactor([...secrets, ...fromEnv]);
    this.redact = outer ? (text) => own(outer(text)) : own;
    this.progress = new ThrottledProgress(options.report, config.progressIntervalMs, now);
    this.breaker = new NoProgressBreaker(config.breaker);
    this.toolbox = createToolbox({
      dir: options.workspace.dir,
      manifest: options.manifest,
      workbench: options.workbench,
      dependencies: config.dependencies,
      commandTimeoutMs: config.commandTimeoutMs,
      outputCap: config.outputCap,
      maxReadChars: config.maxReadChars,
      redact: this.redact,
    });
  }

  private get signal(): AbortSignal | undefined {
    return this.options.signal;
  }

  async run(): Promise<GenerateResult> {
    const { spec, manifest, repair } = this.options;
    this.throwIfAborted();
    const specMarkdown = renderSpecMarkdown(spec);
    const instructions = renderDevelopmentInstructions(spec, manifest);
    await this.toolbox.writeTracked(SPEC_MARKDOWN_FILE, specMarkdown);
    await this.toolbox.writeTracked(DEVELOPMENT_INSTRUCTIONS_FILE, instructions);
    const notes = await this.readNotes();
    const withWorkbench = this.options.workbench !== undefined;
    const system = systemBlocks({ withWorkbench, specMarkdown, instructions, notes }).map((block) => ({
      ...block,
      text: this.redact(block.text),
    }));
    const tools = toolDefinitions(manifest, withWorkbench);
    if (repair) this.breaker.seedBuildError(repair.buildOutput);
    this.messages.push({
      role: 'user',
      content: [{ type: 'text', text: this.redact(taskMessage({ withWorkbench, spec, manifest, repair })) }],
    });
    if (this.options.workbench) {
      // The template's commands need its dependencies; linked from the machine's cache, not fetched.
      const installed = await this.options.workbench.install(this.signal ? { signal: this.signal } : {});
      if (!installed.ok) {
        this.progress.notice(
          `Installing the dependencies failed: ${clip(this.redact(installed.output), 300)}`,
          'warn',
        );
      }
    }
    this.progress.notice(
      `Claude (${this.config.model}) ${repair ? `repair round ${repair.round}` : 'development'} started: budget ${this.config.maxTurns} turns, ${this.config.maxOutputTokens} output tokens, $${this.config.maxCostUsd}`,
    );

    try {
      const finalText = await this.loop(system, tools);
      const filesChanged = await this.toolbox.changedFiles();
      const features = await this.featuresBuilt();
      this.progress.flush();
      if (finalText) this.progress.notice(`Claude: ${clip(this.redact(finalText), 400)}`);
      const what = repair
        ? `repaired the build of ${spec.product.name} (round ${repair.round})`
        : `developed ${spec.product.name}`;
      const summary = `Claude (${this.config.model}) ${what}: ${filesChanged.length} files changed in ${this.turns} turns`;
      this.progress.notice(`${summary}, $${this.costUsd.toFixed(4)} spent`);
      return {
        generator: `claude:${this.config.model}`,
        summary,
        filesChanged,
        ...(features ? { features } : {}),
      };
    } catch (error) {
      this.progress.flush();
      const reason = PipelineError.isInstance(error) ? error.message : String(error);
      this.progress.notice(
        `Claude stopped after ${this.turns} turns ($${this.costUsd.toFixed(4)} spent, ${this.touched.size} files changed so far): ${reason}`,
        'error',
      );
      throw error;
    }
  }

  /** Turns until the model is done; returns its closing text. */
  private async loop(system: TextBlockParam[], tools: ReturnType<typeof toolDefinitions>): Promise<string> {
    const ttl = this.config.cacheTtl;
    const cacheControl = ttl === '5m' ? { type: 'ephemeral' as const } : { type: 'ephemeral' as const, ttl };
    const cachedSystem = system.map((block, i) =>
      i === system.length - 1 ? { ...block, cache_control: cacheControl } : block,
    );
    for (;;) {
      const maxTokens = await this.roomForTurn();
      const watchdog = new AbortController();
      const timer = setTimeout(
        () =>
          watchdog.abort(
            new TransientError(
              `Claude turn ${this.turns + 1} did not finish within ${formatMs(this.config.turnTimeoutMs)}; the watchdog stopped it`,
            ),
          ),
        this.config.turnTimeoutMs,
      );
      const signal = this.signal ? AbortSignal.any([this.signal, watchdog.signal]) : watchdog.signal;
      try {
        const response = await this.call(
          {
            model: this.config.model,
            max_tokens: maxTokens,
            ...thinkingFor(this.config, maxTokens),
            system: cachedSystem,
            tools,
            messages: withCachePoints(this.messages, cacheControl),
          },
          signal,
        );
        this.turns++;
        this.account(response);
        const done = await this.handle(response, signal);
        if (done !== undefined) return done;
      } catch (error) {
        throw this.abortReason() ?? (watchdog.signal.aborted ? watchdog.signal.reason : error);
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /** Acts on one response; returns the closing text when the session is done. */
  private async handle(response: Message, signal: AbortSignal): Promise<string | undefined> {
    const content = response.content;
    switch (response.stop_reason) {
      case 'tool_use': {
        this.messages.push({ role: 'assistant', content: asParams(content) });
        const results = await this.runTools(toolUses(content), signal);
        this.messages.push({ role: 'user', content: results.blocks });
        await this.endTurn(results.changed);
        return undefined;
      }
      case 'max_tokens': {
        // A tool call at the very end may be cut off mid-input: drop it and ask for smaller steps.
        const kept = content.at(-1)?.type === 'tool_use' ? content.slice(0, -1) : content;
        const results = await this.runTools(toolUses(kept), signal);
        const note: TextBlockParam = { type: 'text', text: CUT_OFF_MESSAGE };
        if (kept.length > 0) {
          this.messages.push({ role: 'assistant', content: asParams(kept) });
          this.messages.push({ role: 'user', content: [...results.blocks, note] });
        } else {
          const last = this.messages.at(-1);
          if (last?.role === 'user' && Array.isArray(last.content)) last.content.push(note);
          else this.messages.push({ role: 'user', content: [note] });
        }
        this.progress.activity(`Claude turn ${this.turns}: the reply reached the output limit; continuing`);
        await this.endTurn(results.changed);
        return undefined;
      }
      case 'pause_turn': {
        this.messages.push({ role: 'assistant', content: asParams(content) });
        await this.endTurn(false);
        return undefined;
      }
      case 'end_turn':
      case 'stop_sequence': {
        const text = textOf(content);
        if (this.config.verifyBuild && this.options.workbench) {
          if (await this.appCheckFails(content, signal)) return undefined;
        } else if (this.config.verifyBuild && !this.buildPassed) {
          this.progress.activity(`Claude turn ${this.turns}: the model is done; checking the build`);
          const outcome = await this.toolbox.run('run_command', { name: 'build' }, signal);
          if (outcome.command?.failed) {
            await this.trip(this.breaker.command('build', true, outcome.command.output));
            if (content.length > 0) this.messages.push({ role: 'assistant', content: asParams(content) });
            this.messages.push({
              role: 'user',
              content: [{ type: 'text', text: buildFailedMessage(outcome.command.output) }],
            });
            this.progress.notice(
              `Claude said it was done but the build fails; sending the errors back`,
              'warn',
            );
            await this.endTurn(false);
            return undefined;
          }
          if (outcome.isError && !outcome.command) {
            throw new PermanentError(`The build could not be run to check the work: ${outcome.content}`);
          }
        }
        return text ?? '';
      }
      case 'refusal': {
        const details = response.stop_details;
        const category = details?.category ? ` (${details.category})` : '';
        const reason = details?.explanation ?? textOf(content) ?? 'no reason given';
        throw new PermanentError(this.redact(`Claude declined to continue${category}: ${clip(reason, 500)}`));
      }
      case 'model_context_window_exceeded':
        throw new PermanentError(
          `The conversation filled ${this.config.model}'s context window after ${this.turns} turns; the work so far is in the workspace`,
        );
      default:
        throw new PermanentError(`Claude stopped for an unexpected reason: ${String(response.stop_reason)}`);
    }
  }

  private async runTools(
    calls: ToolUseBlock[],
    signal: AbortSignal,
  ): Promise<{ blocks: ToolResultBlockParam[]; changed: boolean }> {
    const blocks: ToolResultBlockParam[] = [];
    let changed = false;
    for (const call of calls) {
      await this.trip(this.breaker.call(call.name, call.input));
      const outcome = await this.toolbox.run(call.name, call.input, signal);
      if (outcome.changed) {
        changed = true;
        this.buildPassed = false;
        this.appCheckPassed = false;
        this.breaker.changed();
        const path = (call.input as { path?: unknown }).path;
        if (typeof path === 'string') this.touched.add(path);
      }
      if (outcome.command) {
        if (outcome.command.name === 'build' && !outcome.command.failed) this.buildPassed = true;
        if (outcome.command.name === 'check_app' && !outcome.command.failed) this.appCheckPassed = true;
        await this.trip(
          this.breaker.command(outcome.command.name, outcome.command.failed, outcome.command.output),
        );
      }
      this.progress.activity(
        `Claude turn ${this.turns}/${this.config.maxTurns}: ${outcome.activity}${outcome.isError ? ' (failed)' : ''} — ${this.touched.size} files changed, $${this.costUsd.toFixed(4)} spent`,
      );
      blocks.push({
        type: 'tool_result',
        tool_use_id: call.id,
        content: outcome.content,
        ...(outcome.isError ? { is_error: true } : {}),
      });
    }
    return { blocks, changed };
  }

  private async endTurn(changed: boolean): Promise<void> {
    await this.trip(this.breaker.turn(changed));
  }

  /** Throws NoProgressError when the breaker tripped. */
  private async trip(trip: Trip | undefined): Promise<void> {
    if (!trip) return;
    throw new NoProgressError(
      `Stopped AI development: no progress — ${trip.message}. The work so far stays in the repository.`,
      { reason: trip.reason, filesChanged: await this.toolbox.changedFiles() },
    );
  }

  /**
   * One API call under the core's retry policy: 429/529/5xx/timeouts are tried again (honouring
   * retry-after) at most `maxRetries` times, so one turn makes at most `maxRetries + 1` calls.
   * The SDK's own retries are off (`maxRetries: 0`): they would multiply these. The error that
   * goes up says how many tries were made (`tries`), and the pipeline's step retry counts them
   * against the same policy instead of restarting the session for the same failure.
   */
  private async call(body: MessageCreateParamsBase, signal: AbortSignal): Promise<Message> {
    const { maxRetries, maxRetryWaitMs, callTimeoutMs } = this.config;
    try {
      return await retry(
        () =>
          // Streamed: a turn writing whole files runs for minutes, which the SDK refuses (and a
          // proxy may cut) without streaming. The timeout bounds the wait for the response to start.
          this.client.messages
            .stream(body, { signal, timeout: callTimeoutMs, maxRetries: 0 })
            .finalMessage()
            .catch((thrown) => {
              throw signal.aborted ? (signal.reason ?? thrown) : mapModelError(thrown, this.redact);
            }),
        {
          policy: { ...CALL_RETRY_POLICY, maxAttempts: maxRetries + 1, maxRetryAfterMs: maxRetryWaitMs },
          random: Math.random,
          sleep: (ms, s) => this.sleep(ms, s),
          signal,
          tooLong: (error) => error,
          onRetry: (error, { attempt, waitMs }) =>
            this.progress.notice(
              `${error.message} — retrying in ${(waitMs / 1000).toFixed(1)} s (try ${attempt + 1} of ${maxRetries + 1})`,
              'warn',
            ),
        },
      );
    } catch (error) {
      if (signal.aborted) throw signal.reason ?? error;
      throw error;
    }
  }

  /** Adds a response's usage to the budgets and reports it to the job. */
  private account(response: Message): void {
    const usage = toTokenUsage(billedTokens(response.usage ?? {}), this.config.prices);
    this.outputTokens += usage.outputTokens;
    this.costUsd = Math.round((this.costUsd + usage.costUsd) * 1e6) / 1e6;
    this.options.report.usage(usage);
  }

  /** The max_tokens of the next turn, or a budget error when no room is left. */
  private async roomForTurn(): Promise<number> {
    const { maxTurns, maxOutputTokens, maxCostUsd, maxTokensPerTurn, prices } = this.config;
    if (this.turns >= maxTurns) {
      await this.overBudget(
        'turns',
        this.turns,
        maxTurns,
        `used ${this.turns} of ${maxTurns} turns without finishing`,
      );
    }
    if (this.costUsd >= maxCostUsd) {
      await this.overBudget(
        'cost',
        this.costUsd,
        maxCostUsd,
        `spent $${this.costUsd.toFixed(4)} of $${maxCostUsd}`,
      );
    }
    const outputLeft = maxOutputTokens - this.outputTokens;
    const affordable =
      prices.outputPerMTok > 0
        ? Math.floor(((maxCostUsd - this.costUsd) * 1e6) / prices.outputPerMTok)
        : Infinity;
    const room = Math.min(maxTokensPerTurn, outputLeft, affordable);
    if (room < Math.min(MIN_TURN_TOKENS, maxTokensPerTurn)) {
      if (outputLeft <= affordable) {
        await this.overBudget(
          'output-tokens',
          this.outputTokens,
          maxOutputTokens,
          `used ${this.outputTokens} of ${maxOutputTokens} output tokens`,
        );
      }
      await this.overBudget(
        'cost',
        this.costUsd,
        maxCostUsd,
        `spent $${this.costUsd.toFixed(4)} of $${maxCostUsd}; not enough is left for another turn`,
      );
    }
    return room;
  }

  private async overBudget(budget: BudgetName, spent: number, limit: number, what: string): Promise<never> {
    const label = { turns: 'Turn', 'output-tokens': 'Output-token', cost: 'Cost' }[budget];
    throw new AiBudgetExceededError(
      `${label} budget exhausted: Claude ${what}. The work so far stays in the repository; raise the budget or finish with the template generator.`,
      { budget, spent, limit, filesChanged: await this.toolbox.changedFiles() },
    );
  }

  /**
   * The pipeline's check as the gate of "done" (never the repository's own tests, which the
   * model may edit): sends the report back and returns true when it does not pass.
   */
  private async appCheckFails(content: readonly ContentBlock[], signal: AbortSignal): Promise<boolean> {
    if (this.appCheckPassed) return false;
    this.progress.activity(`Claude turn ${this.turns}: the model is done; checking the app`);
    const outcome = await this.toolbox.run('check_app', {}, signal);
    if (!outcome.isError) return false;
    await this.trip(this.breaker.command('check_app', true, outcome.content));
    if (content.length > 0) this.messages.push({ role: 'assistant', content: asParams(content) });
    this.messages.push({
      role: 'user',
      content: [{ type: 'text', text: checkFailedMessage(outcome.content) }],
    });
    this.progress.notice(
      "Claude said it was done but the app does not pass the pipeline's check; sending the report back",
      'warn',
    );
    await this.endTurn(false);
    return true;
  }

  /** Per key feature, what built it, as the model file now says (it marks its own `ai`). */
  private async featuresBuilt(): Promise<FeatureOutcome[] | undefined> {
    const file = this.options.manifest.model;
    if (!file) return undefined;
    try {
      const text = await readFile(await resolveInside(this.options.workspace.dir, file), 'utf8');
      return parseAppModel(JSON.parse(text) as unknown, `app model ${file}`).features;
    } catch (error) {
      // The build gate runs generate on the model: an unreadable one fails there, with its reasons.
      this.progress.notice(
        `The app model ${file} could not be read for its features: ${(error as Error).message}`,
        'warn',
      );
      return undefined;
    }
  }

  private async readNotes(): Promise<{ path: string; text: string } | undefined> {
    const path = this.options.manifest.notes;
    if (!path) return undefined;
    try {
      const text = await readFile(await resolveInside(this.options.workspace.dir, path), 'utf8');
      return { path, text: clip(text, MAX_NOTES_CHARS) };
    } catch (error) {
      this.progress.notice(
        `The template's notes (${path}) could not be read: ${(error as Error).message}`,
        'warn',
      );
      return undefined;
    }
  }

  private abortReason(): PipelineError | undefined {
    const signal = this.signal;
    if (!signal?.aborted) return undefined;
    const reason: unknown = signal.reason;
    if (PipelineError.isInstance(reason)) return reason;
    const message = reason instanceof Error ? reason.message : String(reason ?? 'aborted');
    return new CancelledError(`AI development stopped: ${message}`, { cause: reason });
  }

  private throwIfAborted(): void {
    const reason = this.abortReason();
    if (reason) throw reason;
  }
}

/** The conversation with cache points on the last block of the last two user messages. */
export function withCachePoints(
  messages: readonly MessageParam[],
  cacheControl: { type: 'ephemeral'; ttl?: '5m' | '1h' },
): MessageParam[] {
  const users = messages.flatMap((m, i) => (m.role === 'user' ? [i] : [])).slice(-2);
  return messages.map((message, i): MessageParam => {
    if (message.role !== 'user' || !users.includes(i)) return message;
    const content: ContentBlockParam[] =
      typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : [...message.content];
    const last = content.at(-1);
    if (last && (last.type === 'text' || last.type === 'tool_result')) {
      content[content.length - 1] = { ...last, cache_control: cacheControl };
    }
    return { role: 'user', content };
  });
}

function toolUses(content: readonly ContentBlock[]): ToolUseBlock[] {
  return content.filter((block): block is ToolUseBlock => block.type === 'tool_use');
}

function textOf(content: readonly ContentBlock[]): string | undefined {
  const text = content
    .flatMap((block) => (block.type === 'text' ? [block.text] : []))
    .join('\n')
    .trim();
  return text || undefined;
}

// The response's blocks go back as they came (thinking blocks included, as the API requires).
function asParams(content: readonly ContentBlock[]): ContentBlockParam[] {
  return content as unknown as ContentBlockParam[];
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
