import { inspect } from 'node:util';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError, createRedactor, PipelineError, type Redactor } from '@mvp-pipeline/core';
import { awsErrorName, toPipelineAwsError } from '../aws-errors.js';

/** The secrets the pipeline uses, by their environment names. */
export const SECRET_NAMES = [
  'GITHUB_TOKEN',
  'ANTHROPIC_API_KEY',
  'VERCEL_TOKEN',
  'FOUNDERDASH_DB_URL',
  // Not secret, but kept where the database URL is: the CA its server's certificate chains to.
  'FOUNDERDASH_DB_CA',
  'GITHUB_APP_PRIVATE_KEY',
  // The MVPs' database server: its admin URL, and (not secret) its CA, kept beside it.
  'MVP_APPS_DATABASE_URL',
  'MVP_APPS_DATABASE_CA',
] as const;
export type SecretName = (typeof SECRET_NAMES)[number];

/** Where a secret came from. */
export type SecretSource = 'env' | 'secrets-manager' | 'unset';

/**
 * The loaded secrets. Printing or serialising this object shows names and sources only, so a
 * stray `console.log(secrets)` or a config dump leaks nothing.
 */
export interface LoadedSecrets {
  /** The secret's value, or undefined when it is set nowhere. */
  get(name: SecretName): string | undefined;
  /** Where each secret came from. */
  readonly sources: Readonly<Record<SecretName, SecretSource>>;
  /** Every loaded value, for registering with other redactors. */
  values(): string[];
  /** A redactor that knows every loaded value (and the usual token shapes). */
  readonly redact: Redactor;
}

export interface LoadSecretsOptions {
  /** The environment to read (usually `process.env`). */
  env: Readonly<Record<string, string | undefined>>;
  /** Used only when some `<NAME>_SECRET_ARN` is set; by default one from the environment (AWS_REGION, AWS_ENDPOINT_URL_SECRETS_MANAGER…). */
  client?: SecretsManagerClient;
  /** The secrets to load (default all of SECRET_NAMES). */
  names?: readonly SecretName[];
  signal?: AbortSignal;
}

/**
 * Reads each secret once: from Secrets Manager when `<NAME>_SECRET_ARN` is set (that wins over
 * `<NAME>`), from `<NAME>` otherwise. A secret stored as a JSON object holding a `<NAME>` key
 * yields that key's value; any other secret string is used whole. Secrets sharing an ARN are
 * fetched once.
 *
 * Errors: ConfigError naming the `_SECRET_ARN` variable (no such secret, no permission, cannot
 * decrypt, empty), TransientError (throttling, 5xx, network). No message carries a value.
 */
export async function loadSecrets(options: LoadSecretsOptions): Promise<LoadedSecrets> {
  const names = options.names ?? SECRET_NAMES;
  const found = new Map<SecretName, string>();
  const sources = Object.fromEntries(SECRET_NAMES.map((n) => [n, 'unset'])) as Record<
    SecretName,
    SecretSource
  >;
  const byArn = new Map<string, SecretName[]>();
  for (const name of names) {
    const arnVariable = `${name}_SECRET_ARN`;
    const arn = options.env[arnVariable]?.trim();
    if (arn) byArn.set(arn, [...(byArn.get(arn) ?? []), name]);
    else if (options.env[name]) {
      found.set(name, options.env[name]);
      sources[name] = 'env';
    }
  }
  if (byArn.size > 0) {
    const client = options.client ?? new SecretsManagerClient({});
    try {
      await Promise.all(
        [...byArn].map(async ([arn, sharing]) => {
          const secret = await fetchSecret(client, arn, `${sharing[0]}_SECRET_ARN`, options.signal);
          for (const name of sharing) {
            const value = pick(secret, name);
            if (!value) throw new ConfigError(`${name}_SECRET_ARN`, 'the secret it names is empty');
            found.set(name, value);
            sources[name] = 'secrets-manager';
          }
        }),
      );
    } finally {
      if (!options.client) client.destroy();
    }
  }
  const values = [...found.values()];
  const redact = createRedactor(values);
  const describe = () => ({ secrets: { ...sources } });
  return {
    get: (name) => found.get(name),
    sources: Object.freeze({ ...sources }),
    values: () => [...values],
    redact,
    toJSON: describe,
    [inspect.custom]: () => `LoadedSecrets ${inspect(describe().secrets)}`,
  } as LoadedSecrets;
}

async function fetchSecret(
  client: SecretsManagerClient,
  arn: string,
  variable: string,
  signal: AbortSignal | undefined,
): Promise<string> {
  try {
    const result = await client.send(
      new GetSecretValueCommand({ SecretId: arn }),
      signal ? { abortSignal: signal } : {},
    );
    if (result.SecretString !== undefined) return result.SecretString;
    if (result.SecretBinary) return Buffer.from(result.SecretBinary).toString('utf8');
    return '';
  } catch (error) {
    const name = awsErrorName(error);
    const problem = CONFIG_PROBLEMS[name];
    if (problem) throw new ConfigError(variable, `${problem} (${name})`);
    const mapped = toPipelineAwsError(error, {
      operation: `Secrets Manager GetSecretValue for ${variable}`,
      signal,
    });
    if (PipelineError.isInstance(mapped) && mapped.code === 'PERMANENT')
      throw new ConfigError(variable, mapped.message);
    throw mapped;
  }
}

/** Failures that mean the configuration is wrong, not that AWS is busy. */
const CONFIG_PROBLEMS: Record<string, string> = {
  ResourceNotFoundException: 'Secrets Manager has no secret by that ARN (or no current version of it)',
  AccessDeniedException: 'the runner’s role may not read the secret it names',
  DecryptionFailure: 'Secrets Manager cannot decrypt the secret it names (check the KMS key policy)',
  InvalidParameterException: 'Secrets Manager refuses the ARN',
  InvalidRequestException: 'Secrets Manager refuses the request (is the secret scheduled for deletion?)',
};

/** The value for `name` in a secret string: a JSON object's `name` key, or the whole string. */
function pick(secret: string, name: SecretName): string {
  const trimmed = secret.trim();
  if (trimmed.startsWith('{')) {
    try {
      const parsed = JSON.parse(trimmed) as Record<string, unknown>;
      if (typeof parsed[name] === 'string') return parsed[name];
    } catch {
      // not JSON: the whole string is the value
    }
  }
  return secret.trim();
}
