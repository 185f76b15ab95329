import type { SecretStore } from '@mvp-pipeline/adapters-vercel';
import type { Clock, DatabaseProvisioner, Logger, Redactor } from '@mvp-pipeline/core';
import { type RunnerConfig, secretsOf } from './config.js';

/** What every vendor adapter is built with: the process's one config, redactor, logger and clock. */
export interface VendorDeps {
  config: RunnerConfig;
  redact: Redactor;
  logger: Logger;
  clock: Clock;
  /** Where an adapter that holds connections registers its close. */
  closers: Array<() => Promise<void>>;
  /** Teaches the process's redactor a secret an adapter learnt while running. */
  registerSecret?: (value: string) => void;
}

/**
 * The vendor adapters, each loaded and built only when the configuration selects it: a local
 * run loads no AWS, GitHub, Anthropic or PostgreSQL client (start-up stays fast) and needs no
 * tokens. Vendor clients read their endpoints from the vendors' own variables
 * (AWS_ENDPOINT_URL…), so tests point them at stand-ins.
 */
export const vendorAdapters = {
  dynamoJobStore: async ({ config, redact, logger, clock }: VendorDeps) => {
    const { createDynamoJobStore, createDynamoDocumentClient } = await import('@mvp-pipeline/adapters-aws');
    return createDynamoJobStore(
      { tableName: config.aws.tableName },
      { client: createDynamoDocumentClient(regionOf(config)), redact, logger, clock: () => clock.now() },
    );
  },
  snsNotifier: async ({ config, redact }: VendorDeps) =>
    (await import('@mvp-pipeline/adapters-aws')).createSnsNotifier(
      { topicArn: config.aws.topicArn! },
      { redact },
    ),
  eventBridgeTrigger: async ({ config, redact }: VendorDeps) =>
    (await import('@mvp-pipeline/adapters-aws')).createEventBridgeTrigger(
      { busName: config.aws.busName },
      { redact },
    ),
  secretsManagerPasswordStore: async ({ config, redact, closers }: VendorDeps) => {
    const { createSecretsManagerPasswordStore } = await import('@mvp-pipeline/adapters-aws');
    const store = createSecretsManagerPasswordStore(
      { prefix: config.secretStore.prefix, ...regionOf(config) },
      { redact },
    );
    closers.push(() => store.close());
    return store;
  },
  postgresSpecSource: async ({ config, redact, logger, closers }: VendorDeps) => {
    const { createPgSpecSource } = await import('@mvp-pipeline/adapters-postgres');
    const source = createPgSpecSource(
      { connectionString: config.databaseUrl!, ...(config.databaseCa ? { ca: config.databaseCa } : {}) },
      { redact, logger },
    );
    closers.push(() => source.close());
    return source;
  },
  githubRepoHost: async ({ config, redact }: VendorDeps) =>
    (await import('@mvp-pipeline/adapters-github')).createGitHubRepoHost(
      {
        ...(config.github.app ? { app: config.github.app } : { token: config.github.token! }),
        owner: config.github.owner,
        apiUrl: config.github.apiUrl,
      },
      { redact },
    ),
  gitTemplateSource: async ({ config, redact }: VendorDeps) =>
    (await import('@mvp-pipeline/adapters-github')).createGitTemplateSource(
      {
        templateRepo: config.github.templateRepo!,
        ...(config.github.app ? { app: config.github.app } : { token: config.github.token }),
        apiUrl: config.github.apiUrl,
      },
      { redact },
    ),
  claudeCodeGenerator: async ({ config, redact, clock }: VendorDeps) =>
    (await import('@mvp-pipeline/adapters-claude')).createClaudeCodeGenerator(
      {
        apiKey: config.anthropic.apiKey,
        model: config.anthropic.model,
        baseUrl: config.anthropic.baseUrl,
        maxTurns: config.anthropic.maxTurns,
        maxOutputTokens: config.anthropic.maxOutputTokens,
        maxCostUsd: config.anthropic.maxCostUsd,
        prices: config.anthropic.prices,
        thinking: config.anthropic.thinking,
        effort: config.anthropic.effort,
        dependencies: config.anthropic.dependencies,
        secrets: secretsOf(config),
      },
      { redact, now: () => clock.now().getTime() },
    ),
  /** With the job's `app` databases and the store of each app's session secret, for framework apps. */
  vercelDeployer: async (
    { config, redact, clock, registerSecret }: VendorDeps,
    apps: { databases: DatabaseProvisioner; secrets: SecretStore },
  ) =>
    (await import('@mvp-pipeline/adapters-vercel')).createVercelDeployer(
      { token: config.vercel.token!, teamId: config.vercel.teamId, apiUrl: config.vercel.apiUrl },
      {
        redact,
        now: () => clock.now().getTime(),
        ...(registerSecret ? { registerSecret } : {}),
        databases: apps.databases,
        secrets: apps.secrets,
      },
    ),
};

const regionOf = (config: RunnerConfig) => (config.aws.region ? { region: config.aws.region } : {});
