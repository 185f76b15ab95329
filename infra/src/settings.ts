import { fileURLToPath } from 'node:url';

/**
 * The stack's settings: defaults (the seed's names), overridden by CDK context, overridden by props.
 *
 * Context values arrive as strings from `cdk synth -c key=value` and as JSON values from cdk.json or
 * CDK_CONTEXT_JSON, so every reader accepts both. Every bad value is reported at once, one line each.
 */

/** The container secrets the runner receives, by environment variable name. */
export const SECRET_ENV_NAMES = [
  'GITHUB_TOKEN',
  'ANTHROPIC_API_KEY',
  'VERCEL_TOKEN',
  'FOUNDERDASH_DB_URL',
] as const;

/** One of {@link SECRET_ENV_NAMES}. */
export type SecretEnvName = (typeof SECRET_ENV_NAMES)[number];

/**
 * The context key that names the Secrets Manager secret for each container secret: a name, or the
 * complete ARN (with its six-character suffix). A secret holds the plain value (not JSON).
 */
export const SECRET_CONTEXT_KEYS = {
  GITHUB_TOKEN: 'githubTokenSecret',
  ANTHROPIC_API_KEY: 'anthropicApiKeySecret',
  VERCEL_TOKEN: 'vercelTokenSecret',
  FOUNDERDASH_DB_URL: 'founderdashDbUrlSecret',
} as const satisfies Record<SecretEnvName, string>;

/**
 * The runner's step deadlines (one try each, minutes) and its repair rounds, as the core's
 * defaults have them (packages/core DEFAULT_SETTINGS: stepTimeoutMs, maxRepairRounds; a test pins
 * them). The stack cannot import the core.
 */
export const STEP_BUDGET_MINUTES = {
  FETCHING_DATA: 1,
  CREATING_REPO: 5,
  AI_DEVELOPMENT: 45,
  BUILDING: 15,
  DEPLOYING: 30,
} as const;
export const MAX_REPAIR_ROUNDS = 2;
/** What an attempt does besides its steps: start, the notification (1 min), the lease release, SIGTERM's 30 s. */
export const ATTEMPT_OVERHEAD_MINUTES = 5;

/**
 * The attempt timeout that lets the steps' own deadlines fire first: every step once, the AI and
 * build steps once more per repair round, plus the overhead. With the defaults:
 * 1 + 5 + (45 + 15) × (1 + 2) + 30 + 5 = 221 minutes.
 */
export function attemptTimeoutMinutes(
  budgets: Readonly<Record<keyof typeof STEP_BUDGET_MINUTES, number>> = STEP_BUDGET_MINUTES,
  repairRounds: number = MAX_REPAIR_ROUNDS,
): number {
  return (
    budgets.FETCHING_DATA +
    budgets.CREATING_REPO +
    (budgets.AI_DEVELOPMENT + budgets.BUILDING) * (1 + repairRounds) +
    budgets.DEPLOYING +
    ATTEMPT_OVERHEAD_MINUTES
  );
}

/** The runner image's tag by default: the version of the runner it is built from (never `latest`). */
export const DEFAULT_IMAGE_TAG = 'v0.1.0';

/** Everything the stack can be told. Each field is also a CDK context key of the same name. */
export interface InfraSettings {
  /** Prefix of every derived name (compute environments, job definition, rule, DLQ, log group, roles…). */
  readonly namePrefix: string;
  /** DynamoDB table of job records (DYNAMODB_TABLE). */
  readonly tableName: string;
  /** Custom EventBridge bus the web app puts job requests on (EVENTBRIDGE_BUS_NAME). */
  readonly busName: string;
  /** SNS topic for completion notifications (its ARN is COMPLETION_TOPIC). */
  readonly topicName: string;
  /** Batch job queue the rule submits to. */
  readonly jobQueueName: string;
  /** `source` of the job request events. */
  readonly eventSource: string;
  /** `detail-type` of the job request events. */
  readonly eventDetailType: string;
  /** ECR repository holding the runner image. */
  readonly imageRepositoryName: string;
  /** Tag of the runner image in that repository: immutable (the repository refuses re-pushed tags); `latest` is refused. */
  readonly imageTag: string;
  /** Create the ECR repository in this stack (true) or use an existing one by name (false). */
  readonly createImageRepository: boolean;
  /** Secrets Manager secret name or ARN per container secret. */
  readonly secrets: Readonly<Record<SecretEnvName, string>>;
  /** Extra plain environment for the runner (adapter choices, GITHUB_OWNER, TEMPLATE_REPO…). Never secrets. */
  readonly environment: Readonly<Record<string, string>>;
  /** Batch job attempts (1–10); the evaluateOnExit rules decide which failures use them. */
  readonly jobAttempts: number;
  /**
   * Per-attempt timeout in minutes. A timed-out attempt is not retried by Batch. Default
   * {@link attemptTimeoutMinutes}: long enough for the steps' own deadlines to fire first.
   */
  readonly jobTimeoutMinutes: number;
  /** Upper bound of vCPUs per compute environment (2 per running job). */
  readonly maxvCpus: number;
  /** Retention of the runner's log group, in days (a CloudWatch Logs retention value). */
  readonly logRetentionDays: number;
  /** NAT gateways: 0 runs jobs in public subnets with a public IP; more runs them in private subnets. */
  readonly natGateways: number;
  /**
   * NAT gateways with Elastic IPs the stack allocates (at least one gateway): the jobs' fixed
   * outbound addresses, to allow-list at a database (DigitalOcean "trusted sources"). Off by default.
   */
  readonly natElasticIps: boolean;
  /**
   * The runner's single-file bundle folder (dist/bundle of packages/runner-batch): the Batch
   * FAILED-event Lambda runs `mvp.batchFailureHandler` from it.
   */
  readonly runnerBundleDir: string;
  /** How often EventBridge retries submitting a job before the event goes to the DLQ (0–185). */
  readonly targetRetryAttempts: number;
  /** How long EventBridge keeps retrying an event, in minutes (1–1440). */
  readonly targetMaxEventAgeMinutes: number;
  /** SNS topic ARN that receives the alarms; none when unset. */
  readonly alarmTopicArn?: string;
}

/** Where the runner's bundle is built in this repository (packages/runner-batch/dist/bundle). */
export const DEFAULT_RUNNER_BUNDLE_DIR = fileURLToPath(
  new URL('../../packages/runner-batch/dist/bundle', import.meta.url),
);

/** The seed's names and our defaults. */
export const DEFAULT_NAME_PREFIX = 'mvp-development';

/** The defaults that do not derive from the name prefix. */
const FIXED_DEFAULTS = {
  eventSource: 'founderdash.web',
  eventDetailType: 'MVP Development Request',
  imageRepositoryName: 'mvp-pipeline-runner',
  imageTag: DEFAULT_IMAGE_TAG,
  createImageRepository: true,
  environment: {},
  jobAttempts: 3,
  jobTimeoutMinutes: attemptTimeoutMinutes(),
  maxvCpus: 16,
  logRetentionDays: 30,
  natGateways: 0,
  natElasticIps: false,
  targetRetryAttempts: 20,
  targetMaxEventAgeMinutes: 120,
} as const;

/** Defaults for a prefix; with the default prefix these are the seed's names. */
export function defaultSettings(namePrefix: string = DEFAULT_NAME_PREFIX): InfraSettings {
  return {
    namePrefix,
    tableName: `${namePrefix}-jobs`,
    busName: namePrefix,
    topicName: `${namePrefix}-completion`,
    jobQueueName: `${namePrefix}-queue`,
    runnerBundleDir: DEFAULT_RUNNER_BUNDLE_DIR,
    secrets: {
      GITHUB_TOKEN: `${namePrefix}/github-token`,
      ANTHROPIC_API_KEY: `${namePrefix}/anthropic-api-key`,
      VERCEL_TOKEN: `${namePrefix}/vercel-token`,
      FOUNDERDASH_DB_URL: `${namePrefix}/founderdash-db-url`,
    },
    ...FIXED_DEFAULTS,
  };
}

/** Plain environment names the stack sets itself; `environment` may not override them. */
export const MANAGED_ENV_NAMES = [
  'DYNAMODB_TABLE',
  'COMPLETION_TOPIC',
  'AWS_REGION',
  'MVP_JOB_STORE',
  'MVP_NOTIFIER',
] as const;

/** Overrides given in code; they win over context. */
export type InfraSettingsOverrides = Partial<Omit<InfraSettings, 'secrets'>> & {
  readonly secrets?: Partial<Record<SecretEnvName, string>>;
};

/** Thrown when settings are invalid; its message has one line per problem. */
export class InfraSettingsError extends Error {
  /** One entry per invalid setting. */
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid infra settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InfraSettingsError';
    this.problems = problems;
  }
}

/** Reads one context value; `undefined` when the key is not set. */
export type ContextReader = (key: string) => unknown;

const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Name rules of the services, so a bad name fails at synth rather than at deploy. */
const NAME_RULES = {
  namePrefix: {
    pattern: /^[A-Za-z][A-Za-z0-9_-]{0,47}$/,
    text: 'a letter, then up to 47 letters, digits, - or _',
  },
  tableName: { pattern: /^[A-Za-z0-9_.-]{3,255}$/, text: '3–255 letters, digits, _ . -' },
  busName: {
    pattern: /^(?!default$)[A-Za-z0-9._-]{1,256}$/,
    text: '1–256 letters, digits, . _ - (not "default")',
  },
  topicName: { pattern: /^[A-Za-z0-9_-]{1,256}$/, text: '1–256 letters, digits, _ -' },
  jobQueueName: { pattern: /^[A-Za-z0-9_-]{1,128}$/, text: '1–128 letters, digits, _ -' },
  imageRepositoryName: {
    pattern: /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/,
    text: 'an ECR repository name (lower case, digits, . _ - /)',
  },
  imageTag: {
    pattern: /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/,
    text: 'a Docker tag (up to 128 of letters, digits, _ . -)',
  },
} as const;

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
/** Plain environment must not carry credentials: those go through `secrets`. */
const SECRET_LOOKING_ENV =
  /(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|CREDENTIAL|DB_URL|DATABASE_URL)/;
/** A secret name, or a complete ARN (a partial ARN cannot be told from a complete one, so it is refused). */
const SECRET_REF =
  /^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}|(?!arn:)[A-Za-z0-9/_+=.@-]{1,512})$/;

/**
 * Resolves the settings: defaults, then context (through `read`), then `overrides`.
 * Throws {@link InfraSettingsError} listing every invalid value.
 */
export function resolveSettings(read: ContextReader, overrides: InfraSettingsOverrides = {}): InfraSettings {
  const problems: string[] = [];
  const pick = (key: keyof InfraSettings | string): { value: unknown; from: string } | undefined => {
    const own = (overrides as Record<string, unknown>)[key];
    if (own !== undefined) return { value: own, from: `setting "${key}"` };
    const ctx = read(key);
    if (ctx !== undefined && ctx !== null) return { value: ctx, from: `context "${key}"` };
    return undefined;
  };

  const str = (key: keyof typeof NAME_RULES, fallback: string): string => {
    const got = pick(key);
    if (got === undefined) return fallback;
    const rule = NAME_RULES[key];
    if (typeof got.value !== 'string' || !rule.pattern.test(got.value)) {
      problems.push(`${got.from}: expected ${rule.text}, got ${JSON.stringify(got.value)}`);
      return fallback;
    }
    return got.value;
  };

  const text = (key: 'eventSource' | 'eventDetailType', fallback: string): string => {
    const got = pick(key);
    if (got === undefined) return fallback;
    if (typeof got.value !== 'string' || got.value.trim() === '' || got.value.length > 256) {
      problems.push(`${got.from}: expected a non-empty string of at most 256 characters`);
      return fallback;
    }
    return got.value;
  };

  const int = (key: keyof InfraSettings, fallback: number, min: number, max: number): number => {
    const got = pick(key);
    if (got === undefined) return fallback;
    const n =
      typeof got.value === 'string' && /^-?\d+$/.test(got.value.trim()) ? Number(got.value) : got.value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      problems.push(
        `${got.from}: expected an integer from ${min} to ${max}, got ${JSON.stringify(got.value)}`,
      );
      return fallback;
    }
    return n;
  };

  const bool = (key: keyof InfraSettings, fallback: boolean): boolean => {
    const got = pick(key);
    if (got === undefined) return fallback;
    if (got.value === true || got.value === 'true') return true;
    if (got.value === false || got.value === 'false') return false;
    problems.push(`${got.from}: expected true or false, got ${JSON.stringify(got.value)}`);
    return fallback;
  };

  const pathSetting = (key: 'runnerBundleDir', fallback: string): string => {
    const got = pick(key);
    if (got === undefined) return fallback;
    if (typeof got.value !== 'string' || got.value.trim() === '') {
      problems.push(`${got.from}: expected a folder path`);
      return fallback;
    }
    return got.value;
  };

  const namePrefix = str('namePrefix', DEFAULT_NAME_PREFIX);
  const defaults = defaultSettings(namePrefix);

  const secrets = {} as Record<SecretEnvName, string>;
  for (const envName of SECRET_ENV_NAMES) {
    const key = SECRET_CONTEXT_KEYS[envName];
    const own = overrides.secrets?.[envName];
    const value = own ?? read(key) ?? defaults.secrets[envName];
    const from = own !== undefined ? `setting "secrets.${envName}"` : `context "${key}"`;
    if (typeof value !== 'string' || !SECRET_REF.test(value)) {
      problems.push(
        `${from}: expected a Secrets Manager secret name or complete ARN (ending in -xxxxxx), got ${JSON.stringify(value)}`,
      );
      secrets[envName] = defaults.secrets[envName];
    } else {
      secrets[envName] = value;
    }
  }

  const environment = readEnvironment(pick('environment'), problems);

  const logRetentionDays = int('logRetentionDays', defaults.logRetentionDays, 1, 3653);
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays)) {
    problems.push(
      `"logRetentionDays": ${logRetentionDays} is not a CloudWatch Logs retention; use one of ${LOG_RETENTION_DAYS.join(', ')}`,
    );
  }

  let alarmTopicArn: string | undefined;
  const alarm = pick('alarmTopicArn');
  if (alarm !== undefined) {
    if (
      typeof alarm.value !== 'string' ||
      !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+$/.test(alarm.value)
    ) {
      problems.push(`${alarm.from}: expected an SNS topic ARN, got ${JSON.stringify(alarm.value)}`);
    } else {
      alarmTopicArn = alarm.value;
    }
  }

  const settings: InfraSettings = {
    namePrefix,
    tableName: str('tableName', defaults.tableName),
    busName: str('busName', defaults.busName),
    topicName: str('topicName', defaults.topicName),
    jobQueueName: str('jobQueueName', defaults.jobQueueName),
    eventSource: text('eventSource', defaults.eventSource),
    eventDetailType: text('eventDetailType', defaults.eventDetailType),
    imageRepositoryName: str('imageRepositoryName', defaults.imageRepositoryName),
    imageTag: str('imageTag', defaults.imageTag),
    runnerBundleDir: pathSetting('runnerBundleDir', defaults.runnerBundleDir),
    createImageRepository: bool('createImageRepository', defaults.createImageRepository),
    secrets,
    environment,
    jobAttempts: int('jobAttempts', defaults.jobAttempts, 1, 10),
    // Batch needs at least 60 s; Fargate jobs cannot run longer than 14 days.
    jobTimeoutMinutes: int('jobTimeoutMinutes', defaults.jobTimeoutMinutes, 1, 14 * 24 * 60),
    maxvCpus: int('maxvCpus', defaults.maxvCpus, 2, 4096),
    logRetentionDays,
    natGateways: int('natGateways', defaults.natGateways, 0, 3),
    natElasticIps: bool('natElasticIps', defaults.natElasticIps),
    targetRetryAttempts: int('targetRetryAttempts', defaults.targetRetryAttempts, 0, 185),
    targetMaxEventAgeMinutes: int('targetMaxEventAgeMinutes', defaults.targetMaxEventAgeMinutes, 1, 1440),
    ...(alarmTopicArn === undefined ? {} : { alarmTopicArn }),
  };

  if (settings.imageTag === 'latest') {
    problems.push(
      '"imageTag": "latest" moves under a running job definition; use an immutable tag (the version or commit the image was built from)',
    );
  }
  if (problems.length > 0) throw new InfraSettingsError(problems);
  return settings;
}

function readEnvironment(
  got: { value: unknown; from: string } | undefined,
  problems: string[],
): Record<string, string> {
  if (got === undefined) return {};
  let value = got.value;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      problems.push(`${got.from}: expected a JSON object of NAME: "value" strings`);
      return {};
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`${got.from}: expected an object of NAME: "value" strings`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (!ENV_NAME.test(name)) {
      problems.push(`${got.from}: "${name}" is not an environment variable name (A–Z, 0–9, _)`);
    } else if (name.startsWith('AWS_BATCH_')) {
      problems.push(`${got.from}: "${name}" uses the AWS_BATCH_ prefix, which Batch reserves`);
    } else if ((MANAGED_ENV_NAMES as readonly string[]).includes(name)) {
      problems.push(`${got.from}: "${name}" is set by the stack itself; change the matching setting instead`);
    } else if ((SECRET_ENV_NAMES as readonly string[]).includes(name) || SECRET_LOOKING_ENV.test(name)) {
      // The value is not echoed: it may be the secret itself.
      problems.push(
        `${got.from}: "${name}" looks like a credential; pass it as a Secrets Manager secret instead`,
      );
    } else if (typeof v !== 'string') {
      problems.push(`${got.from}: "${name}" must be a string`);
    } else {
      out[name] = v;
    }
  }
  return out;
}
