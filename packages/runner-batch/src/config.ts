import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, PipelineError } from '@mvp-pipeline/core';
import { parseWholeNumber } from './whole-number.js';

/**
 * The runner's configuration, parsed once from the environment. Names follow the root README's
 * configuration table and the
 * vendors' own conventions, so every external service can point at a local stand-in.
 */
export interface RunnerConfig {
  dataDir: string;
  /** MVP_CACHE_DIR: dependencies per lockfile and build caches, shared by the jobs of this machine. */
  cacheDir: string;
  /**
   * MVP_NPM_SCOPE_REGISTRIES: `@scope=url` pairs, comma-separated: where pnpm fetches those
   * scopes' packages (a company's private registry); every other package from pnpm's default.
   */
  npmScopeRegistries: Record<string, string>;
  /** MVP_APP_PORTS: the ports the local deployer hands to apps, one per job, e.g. 4400-4499. */
  appPorts: { first: number; last: number };
  jobStore: 'file' | 'memory' | 'dynamodb';
  specSource: 'json' | 'postgres';
  repoHost: 'local' | 'github';
  codeGenerator: 'template' | 'claude';
  deployer: 'static' | 'vercel';
  notifiers: Array<'console' | 'jsonl' | 'webhook' | 'sns'>;
  jobTrigger: 'in-process' | 'eventbridge';
  templatesDir: string;
  template: string;
  leaseTtlMs: number;
  maxRepairRounds: number;
  maxAttempts: number;
  aiFallback: 'template' | undefined;
  siteBaseUrl: string | undefined;
  /** `auto`: check deployed sites in Chromium when it is installed; `off`: the http/file check only. */
  browserCheck: 'auto' | 'off';
  chromiumPath: string | undefined;
  webhookUrl: string | undefined;
  logFormat: 'text' | 'json';
  /** MVP_SERVE_TOKEN: the bearer token of `mvp serve` (required off loopback). A secret. */
  serveToken: string | undefined;
  aws: { region: string | undefined; tableName: string; busName: string; topicArn: string | undefined };
  github: {
    token: string | undefined;
    owner: string | undefined;
    apiUrl: string | undefined;
    templateRepo: string | undefined;
    /** A GitHub App instead of GITHUB_TOKEN: GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY, GITHUB_APP_INSTALLATION_ID. */
    app: { appId: string; privateKey: string; installationId: number | undefined } | undefined;
  };
  anthropic: {
    apiKey: string | undefined;
    model: string | undefined;
    baseUrl: string | undefined;
    maxTurns: number | undefined;
    maxOutputTokens: number | undefined;
    maxCostUsd: number | undefined;
    /** MVP_AI_PRICES: USD per million tokens, for a model the built-in table does not know (or to override it). */
    prices: AiPrices | undefined;
    /** MVP_AI_THINKING: `off` (default), `adaptive`, or a manual budget_tokens per turn (models before Claude 4.7). */
    thinking: 'adaptive' | number | undefined;
    /** MVP_AI_EFFORT: output_config.effort (low, medium, high, xhigh, max); unset is the API's default. */
    effort: 'low' | 'medium' | 'high' | 'xhigh' | 'max' | undefined;
    /** MVP_AI_DEPENDENCIES_ALLOW / MVP_AI_DEPENDENCIES_DENY: npm packages add_dependency may (not) add. */
    dependencies: { allow: string[] | undefined; deny: string[] | undefined };
  };
  vercel: { token: string | undefined; teamId: string | undefined; apiUrl: string | undefined };
  databaseUrl: string | undefined;
  /** FOUNDERDASH_DB_CA: the PEM CA the database's certificate chains to (or FOUNDERDASH_DB_CA_SECRET_ARN). */
  databaseCa: string | undefined;
  /**
   * The MVPs' databases: `server` (MVP_APPS_DATABASE_URL), `embedded` (a cluster under the data
   * dir), `pglite` (PGlite data dirs under it, Node.js only), `auto` (the first of these that can work).
   */
  appsDatabase: {
    provisioner: 'auto' | 'server' | 'embedded' | 'pglite' | 'neon';
    adminUrl: string | undefined;
    /** MVP_APPS_DATABASE_CA: the PEM CA the server's certificate chains to (the value, or a file holding it). */
    ca: string | undefined;
    /** MVP_APPS_DATABASE_POOL_URL: the pooler the apps connect through (its host and port). */
    poolUrl: string | undefined;
  };
  /**
   * MVP_SECRET_STORE: where the server provisioner keeps the MVPs' generated database passwords:
   * `file` (0600 files under the data dir) or `secrets-manager` (one secret each, named
   * `<MVP_SECRET_PREFIX><database>`, default prefix `mvp/databases/`).
   */
  secretStore: { kind: 'file' | 'secrets-manager'; prefix: string };
  /** MVP_DATABASE_PROVISIONER=neon: NEON_API_KEY (a secret), NEON_API_URL, NEON_REGION_ID. */
  neon: { apiKey: string | undefined; apiUrl: string | undefined; regionId: string | undefined };
}

/** Variables whose values are secrets: never echoed, always registered with the redactor. */
export const SECRET_VARIABLES = [
  'GITHUB_TOKEN',
  'ANTHROPIC_API_KEY',
  'VERCEL_TOKEN',
  'FOUNDERDASH_DB_URL',
  'MVP_WEBHOOK_URL',
  'GITHUB_APP_PRIVATE_KEY',
  'MVP_APPS_DATABASE_URL',
  'NEON_API_KEY',
];

/** Every problem with the environment, one line per variable. */
export class ConfigErrors extends PipelineError {
  readonly code = 'CONFIG' as const;
  readonly retryable = false;
  readonly problems: readonly ConfigError[];
  constructor(problems: readonly ConfigError[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.message}`).join('\n')}`);
    this.problems = problems;
  }
}

/**
 * Where templates are when MVP_TEMPLATES_DIR is unset: beside the running file (the bundled
 * runner ships them there), else the package's own folder (the packed tarball ships them there,
 * see scripts/pack.mjs), else the repository's folder (running from src or dist).
 */
export const DEFAULT_TEMPLATES_DIR =
  [
    new URL('./templates', import.meta.url),
    new URL('../templates', import.meta.url),
    new URL('../../../templates', import.meta.url),
  ]
    .map((url) => fileURLToPath(url))
    .find((dir) => existsSync(dir)) ?? fileURLToPath(new URL('../../../templates', import.meta.url));

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env, cwd = process.cwd()): RunnerConfig {
  const problems: ConfigError[] = [];
  const read = (name: string) => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const value = read(name);
    if (value === undefined) return fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    problems.push(new ConfigError(name, `must be one of ${allowed.join(', ')}`));
    return fallback;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const value = read(name);
    if (value === undefined) return fallback;
    const n = parseWholeNumber(value, min, max);
    if (n !== undefined) return n;
    problems.push(new ConfigError(name, `must be a whole number from ${min} to ${max}`));
    return fallback;
  };
  const decimal = (name: string): number | undefined => {
    const value = read(name);
    if (value === undefined) return undefined;
    const n = Number(value);
    if (Number.isFinite(n) && n > 0) return n;
    problems.push(new ConfigError(name, 'must be a positive number'));
    return undefined;
  };
  const portRange = (name: string, fallback: { first: number; last: number }) => {
    const value = read(name);
    if (value === undefined) return fallback;
    const match = /^(\d{4,5})-(\d{4,5})$/.exec(value.trim());
    const [first, last] = [Number(match?.[1]), Number(match?.[2])];
    if (!match || first < 1024 || last > 65535 || first > last) {
      problems.push(new ConfigError(name, 'must be a port range like 4400-4499 (1024-65535, first ≤ last)'));
      return fallback;
    }
    return { first, last };
  };
  const url = (name: string): string | undefined => {
    const value = read(name);
    if (value === undefined) return undefined;
    try {
      const parsed = new URL(value);
      if (!['http:', 'https:'].includes(parsed.protocol)) throw new Error('protocol');
      return value.replace(/\/+$/, '');
    } catch {
      // The value is not echoed: URLs may carry credentials.
      problems.push(new ConfigError(name, 'must be an http(s) URL'));
      return undefined;
    }
  };
  /** A PEM certificate given as its text, or as the path of a file holding it. */
  const pem = (name: string): string | undefined => {
    const value = read(name);
    if (value === undefined || value.includes('-----BEGIN')) return value;
    try {
      const text = readFileSync(resolve(cwd, value), 'utf8');
      if (text.includes('-----BEGIN CERTIFICATE-----')) return text;
      problems.push(new ConfigError(name, `names ${value}, which holds no PEM certificate`));
    } catch (error) {
      problems.push(
        new ConfigError(
          name,
          `must be a PEM certificate or the path of one; ${value} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
        ),
      );
    }
    return undefined;
  };
  const required = (name: string, value: string | undefined, because: string) => {
    if (value === undefined) problems.push(new ConfigError(name, `is required ${because}`));
  };

  const notifierNames = (read('MVP_NOTIFIER') ?? 'jsonl')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const allowedNotifiers = ['console', 'jsonl', 'webhook', 'sns'] as const;
  for (const name of notifierNames) {
    if (!(allowedNotifiers as readonly string[]).includes(name) && name !== 'none') {
      problems.push(
        new ConfigError(
          'MVP_NOTIFIER',
          `must be a comma-separated list of ${allowedNotifiers.join(', ')} (or none)`,
        ),
      );
    }
  }

  const dataDir = resolve(cwd, read('MVP_DATA_DIR') ?? '.mvp');
  const config: RunnerConfig = {
    dataDir,
    cacheDir: resolve(cwd, read('MVP_CACHE_DIR') ?? join(dataDir, 'cache')),
    npmScopeRegistries: scopeRegistries(read('MVP_NPM_SCOPE_REGISTRIES'), problems),
    jobStore: oneOf('MVP_JOB_STORE', ['file', 'memory', 'dynamodb'] as const, 'file'),
    specSource: oneOf('MVP_SPEC_SOURCE', ['json', 'postgres'] as const, 'json'),
    repoHost: oneOf('MVP_REPO_HOST', ['local', 'github'] as const, 'local'),
    codeGenerator: oneOf('MVP_CODE_GENERATOR', ['template', 'claude'] as const, 'template'),
    deployer: oneOf('MVP_DEPLOYER', ['static', 'vercel'] as const, 'static'),
    notifiers: notifierNames.filter((n): n is RunnerConfig['notifiers'][number] =>
      (allowedNotifiers as readonly string[]).includes(n),
    ),
    jobTrigger: oneOf('MVP_JOB_TRIGGER', ['in-process', 'eventbridge'] as const, 'in-process'),
    templatesDir: resolve(cwd, read('MVP_TEMPLATES_DIR') ?? DEFAULT_TEMPLATES_DIR),
    template: read('MVP_TEMPLATE') ?? 'app',
    leaseTtlMs: integer('MVP_LEASE_TTL_MS', 60_000, 1_000, 3_600_000),
    maxRepairRounds: integer('MVP_MAX_REPAIR_ROUNDS', 2, 0, 10),
    maxAttempts: integer('MVP_MAX_ATTEMPTS', 5, 1, 50),
    aiFallback:
      oneOf('MVP_AI_FALLBACK', ['template', 'none'] as const, 'none') === 'template' ? 'template' : undefined,
    siteBaseUrl: url('MVP_SITE_BASE_URL'),
    appPorts: portRange('MVP_APP_PORTS', { first: 4400, last: 4499 }),
    browserCheck: oneOf('MVP_BROWSER_CHECK', ['auto', 'off'] as const, 'auto'),
    chromiumPath: read('MVP_CHROMIUM_PATH'),
    webhookUrl: url('MVP_WEBHOOK_URL'),
    logFormat: oneOf('MVP_LOG_FORMAT', ['text', 'json'] as const, 'text'),
    serveToken: read('MVP_SERVE_TOKEN'),
    aws: {
      region: read('AWS_REGION'),
      tableName: read('DYNAMODB_TABLE') ?? 'mvp-development-jobs',
      busName: read('EVENTBRIDGE_BUS_NAME') ?? 'mvp-development',
      topicArn: read('COMPLETION_TOPIC'),
    },
    github: {
      token: read('GITHUB_TOKEN'),
      owner: read('GITHUB_OWNER'),
      apiUrl: url('GITHUB_API_URL'),
      templateRepo: read('TEMPLATE_REPO'),
      app: read('GITHUB_APP_ID')
        ? {
            appId: read('GITHUB_APP_ID')!,
            privateKey: read('GITHUB_APP_PRIVATE_KEY') ?? '',
            installationId:
              read('GITHUB_APP_INSTALLATION_ID') === undefined
                ? undefined
                : integer('GITHUB_APP_INSTALLATION_ID', 0, 1, Number.MAX_SAFE_INTEGER),
          }
        : undefined,
    },
    anthropic: {
      apiKey: read('ANTHROPIC_API_KEY'),
      model: read('ANTHROPIC_MODEL'),
      baseUrl: url('ANTHROPIC_BASE_URL'),
      maxTurns: read('MVP_AI_MAX_TURNS') === undefined ? undefined : integer('MVP_AI_MAX_TURNS', 40, 1, 500),
      maxOutputTokens:
        read('MVP_AI_MAX_OUTPUT_TOKENS') === undefined
          ? undefined
          : integer('MVP_AI_MAX_OUTPUT_TOKENS', 200_000, 1_000, 10_000_000),
      maxCostUsd: decimal('MVP_AI_MAX_COST_USD'),
      prices: aiPrices(read('MVP_AI_PRICES'), problems),
      thinking: aiThinking(read('MVP_AI_THINKING'), problems),
      effort:
        read('MVP_AI_EFFORT') === undefined
          ? undefined
          : oneOf('MVP_AI_EFFORT', ['low', 'medium', 'high', 'xhigh', 'max'] as const, 'high'),
      dependencies: {
        allow: packageList('MVP_AI_DEPENDENCIES_ALLOW', read('MVP_AI_DEPENDENCIES_ALLOW'), problems),
        deny: packageList('MVP_AI_DEPENDENCIES_DENY', read('MVP_AI_DEPENDENCIES_DENY'), problems),
      },
    },
    vercel: { token: read('VERCEL_TOKEN'), teamId: read('VERCEL_TEAM_ID'), apiUrl: url('VERCEL_API_URL') },
    databaseUrl: read('FOUNDERDASH_DB_URL'),
    databaseCa: read('FOUNDERDASH_DB_CA'),
    appsDatabase: {
      provisioner: oneOf(
        'MVP_DATABASE_PROVISIONER',
        ['auto', 'server', 'embedded', 'pglite', 'neon'] as const,
        'auto',
      ),
      adminUrl: read('MVP_APPS_DATABASE_URL'),
      ca: pem('MVP_APPS_DATABASE_CA'),
      poolUrl: read('MVP_APPS_DATABASE_POOL_URL'),
    },
    secretStore: {
      kind: oneOf('MVP_SECRET_STORE', ['file', 'secrets-manager'] as const, 'file'),
      prefix: read('MVP_SECRET_PREFIX') ?? 'mvp/databases/',
    },
    neon: { apiKey: read('NEON_API_KEY'), apiUrl: url('NEON_API_URL'), regionId: read('NEON_REGION_ID') },
  };
  if (config.appsDatabase.provisioner === 'neon')
    required('NEON_API_KEY', config.neon.apiKey, 'when MVP_DATABASE_PROVISIONER=neon');
  if (config.appsDatabase.provisioner === 'server')
    required('MVP_APPS_DATABASE_URL', config.appsDatabase.adminUrl, 'when MVP_DATABASE_PROVISIONER=server');
  if (config.appsDatabase.adminUrl && !/^postgres(ql)?:\/\/./.test(config.appsDatabase.adminUrl))
    problems.push(new ConfigError('MVP_APPS_DATABASE_URL', 'must be a postgresql:// URL'));
  if (config.appsDatabase.poolUrl && !/^postgres(ql)?:\/\/[^/?#]/.test(config.appsDatabase.poolUrl))
    problems.push(new ConfigError('MVP_APPS_DATABASE_POOL_URL', 'must be a postgresql://host:port URL'));
  for (const name of ['MVP_APPS_DATABASE_CA', 'MVP_APPS_DATABASE_POOL_URL'] as const) {
    if (read(name) && !config.appsDatabase.adminUrl)
      problems.push(
        new ConfigError(name, 'is used with MVP_APPS_DATABASE_URL only (the server provisioner)'),
      );
  }

  if (config.secretStore.kind === 'secrets-manager') {
    required('AWS_REGION', config.aws.region, 'when MVP_SECRET_STORE=secrets-manager');
    if (!config.appsDatabase.adminUrl)
      problems.push(
        new ConfigError(
          'MVP_SECRET_STORE',
          'secrets-manager keeps the passwords of the server provisioner: set MVP_APPS_DATABASE_URL',
        ),
      );
  }
  if (!/^[A-Za-z0-9/_+=.@-]{0,128}$/.test(config.secretStore.prefix))
    problems.push(new ConfigError('MVP_SECRET_PREFIX', 'must be at most 128 of A-Z a-z 0-9 / _ + = . @ -'));
  if (config.jobStore === 'dynamodb')
    required('AWS_REGION', config.aws.region, 'when MVP_JOB_STORE=dynamodb');
  if (config.notifiers.includes('sns'))
    required('COMPLETION_TOPIC', config.aws.topicArn, 'when MVP_NOTIFIER includes sns');
  if (config.notifiers.includes('webhook'))
    required('MVP_WEBHOOK_URL', config.webhookUrl, 'when MVP_NOTIFIER includes webhook');
  if (config.jobTrigger === 'eventbridge')
    required('AWS_REGION', config.aws.region, 'when MVP_JOB_TRIGGER=eventbridge');
  if (config.specSource === 'postgres')
    required('FOUNDERDASH_DB_URL', config.databaseUrl, 'when MVP_SPEC_SOURCE=postgres');
  if (config.repoHost === 'github' && config.github.app)
    required(
      'GITHUB_APP_PRIVATE_KEY',
      config.github.app.privateKey || undefined,
      'when GITHUB_APP_ID is set',
    );
  else if (config.repoHost === 'github')
    required('GITHUB_TOKEN', config.github.token, 'when MVP_REPO_HOST=github (or GITHUB_APP_ID)');
  if (config.codeGenerator === 'claude')
    required('ANTHROPIC_API_KEY', config.anthropic.apiKey, 'when MVP_CODE_GENERATOR=claude');
  if (config.deployer === 'vercel') required('VERCEL_TOKEN', config.vercel.token, 'when MVP_DEPLOYER=vercel');
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(config.template)) {
    problems.push(new ConfigError('MVP_TEMPLATE', 'must be a template name (lowercase letters, digits, -)'));
  }
  const unique = [...new Map(problems.map((p) => [p.message, p])).values()];
  if (unique.length > 0) throw new ConfigErrors(unique);
  return config;
}

/** Prices of the Claude model in USD per million tokens, as the adapter takes them. */
export interface AiPrices {
  inputPerMTok: number;
  outputPerMTok: number;
  cacheWritePerMTok: number;
  cacheWrite1hPerMTok?: number;
  cacheReadPerMTok: number;
}

const PRICE_FIELDS = {
  input: 'inputPerMTok',
  output: 'outputPerMTok',
  cacheWrite: 'cacheWritePerMTok',
  cacheWrite1h: 'cacheWrite1hPerMTok',
  cacheRead: 'cacheReadPerMTok',
} as const;

/** MVP_AI_THINKING: `off`, `adaptive`, or a manual budget_tokens. */
function aiThinking(value: string | undefined, problems: ConfigError[]): 'adaptive' | number | undefined {
  if (value === undefined || value === 'off') return undefined;
  if (value === 'adaptive') return value;
  const budget = parseWholeNumber(value, 1_024, 1_000_000);
  if (budget === undefined) {
    problems.push(
      new ConfigError(
        'MVP_AI_THINKING',
        'must be off, adaptive, or a manual budget_tokens from 1024 to 1000000',
      ),
    );
  }
  return budget;
}

/** MVP_NPM_SCOPE_REGISTRIES, e.g. `@acme=https://npm.acme.example/`. */
function scopeRegistries(value: string | undefined, problems: ConfigError[]): Record<string, string> {
  const registries: Record<string, string> = {};
  for (const pair of (value ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [scope, url] = pair.split(/=(.*)/s);
    let parsed: URL | undefined;
    try {
      parsed = new URL(url ?? '');
    } catch {
      parsed = undefined;
    }
    if (!scope || !/^@[a-z0-9][a-z0-9._~-]*$/.test(scope) || !parsed || !/^https?:$/.test(parsed.protocol)) {
      problems.push(
        new ConfigError(
          'MVP_NPM_SCOPE_REGISTRIES',
          `must be @scope=http(s)://… pairs, comma-separated; not "${pair}"`,
        ),
      );
      continue;
    }
    registries[scope] = parsed.toString();
  }
  return registries;
}

/** A comma-separated list of npm package names or `@scope/*`. */
function packageList(name: string, value: string | undefined, problems: ConfigError[]): string[] | undefined {
  if (value === undefined) return undefined;
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const bad = entries.filter(
    (entry) => !/^(@[a-z0-9][a-z0-9._~-]*\/)?([a-z0-9][a-z0-9._~-]*|\*)$/.test(entry),
  );
  if (bad.length > 0) {
    problems.push(
      new ConfigError(name, `must be npm package names or @scope/*, comma-separated; not ${bad.join(', ')}`),
    );
  }
  return entries;
}

/** MVP_AI_PRICES, e.g. {"input":3,"output":15,"cacheWrite":3.75,"cacheRead":0.3} (cacheWrite1h optional). */
function aiPrices(value: string | undefined, problems: ConfigError[]): AiPrices | undefined {
  if (value === undefined) return undefined;
  const wrong = () => {
    problems.push(
      new ConfigError(
        'MVP_AI_PRICES',
        'must be JSON of USD per million tokens: {"input":3,"output":15,"cacheWrite":3.75,"cacheRead":0.3} (cacheWrite1h optional), each a number 0 or more',
      ),
    );
    return undefined;
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return wrong();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return wrong();
  const entries = Object.entries(parsed as Record<string, unknown>);
  const out: Record<string, number> = {};
  for (const [key, price] of entries) {
    const field = Object.hasOwn(PRICE_FIELDS, key)
      ? PRICE_FIELDS[key as keyof typeof PRICE_FIELDS]
      : undefined;
    if (!field || typeof price !== 'number' || !Number.isFinite(price) || price < 0) return wrong();
    out[field] = price;
  }
  for (const key of ['input', 'output', 'cacheWrite', 'cacheRead'] as const) {
    if (out[PRICE_FIELDS[key]] === undefined) return wrong();
  }
  return out as unknown as AiPrices;
}

/** The secret values in the configuration, for the redactor. */
export function secretsOf(config: RunnerConfig): string[] {
  return [
    config.github.token,
    config.anthropic.apiKey,
    config.vercel.token,
    config.databaseUrl,
    config.webhookUrl,
    config.serveToken,
    config.appsDatabase.adminUrl,
    config.neon.apiKey,
  ].filter((s): s is string => typeof s === 'string');
}

/*
 * What is read before a configuration exists (or when it could not be parsed): the CLI's last
 * error line and the launcher's warnings. The rest of the process reads `loadConfig`'s result.
 */

/** The values of the secret variables as set in `env`, for redacting an error printed without a config. */
export function environmentSecrets(env: Env = process.env): string[] {
  return [...SECRET_VARIABLES, 'MVP_SERVE_TOKEN']
    .map((name) => env[name]?.trim())
    .filter((s): s is string => typeof s === 'string' && s !== '');
}

/** What AWS Batch tells a job's container: JOB_ID (or the argument), AWS_BATCH_JOB_ID, AWS_BATCH_JOB_ATTEMPT. */
export function batchEnvironment(env: Env = process.env): {
  jobId: string | undefined;
  batchJobId: string | undefined;
  attempt: number | undefined;
} {
  const attempt = Number(env['AWS_BATCH_JOB_ATTEMPT']);
  return {
    jobId: env['JOB_ID'],
    batchJobId: env['AWS_BATCH_JOB_ID'] || undefined,
    attempt: Number.isInteger(attempt) ? attempt : undefined,
  };
}

/** MVP_DEBUG: print the stack of an unexpected error. */
export function debugRequested(env: Env = process.env): boolean {
  return Boolean(env['MVP_DEBUG']);
}

/** MVP_LOG_FORMAT for a message written before the configuration is loaded (the launcher's). */
export function earlyLogFormat(env: Env = process.env): RunnerConfig['logFormat'] {
  return env['MVP_LOG_FORMAT'] === 'json' ? 'json' : 'text';
}
