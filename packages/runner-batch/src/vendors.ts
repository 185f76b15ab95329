import type { Redactor } from '@mvp-pipeline/core';
import { type RunnerConfig, secretsOf } from './config.js';

/**
 * The vendor adapters, each loaded and built only when the configuration selects it: a local
 * run loads no AWS, GitHub, Anthropic or PostgreSQL client (start-up stays fast) and needs no
 * tokens. Vendor clients read their endpoints from the vendors' own variables
 * (AWS_ENDPOINT_URL…), so tests point them at stand-ins.
 */
export function vendorAdapters(config: RunnerConfig, redact: Redactor, closers: Array<() => Promise<void>>) {
  const region = config.aws.region ? { region: config.aws.region } : {};
  const aws = () => import('@mvp-pipeline/adapters-aws');
  const github = () => import('@mvp-pipeline/adapters-github');
  return {
    dynamoJobStore: async () => {
      const { createDynamoJobStore, createDynamoDocumentClient } = await aws();
      return createDynamoJobStore(
        { tableName: config.aws.tableName },
        { client: createDynamoDocumentClient(region), redact },
      );
    },
    snsNotifier: async () => (await aws()).createSnsNotifier({ topicArn: config.aws.topicArn! }, {}),
    eventBridgeTrigger: async () =>
      (await aws()).createEventBridgeTrigger({ busName: config.aws.busName }, {}),
    postgresSpecSource: async () => {
      const { createPgSpecSource } = await import('@mvp-pipeline/adapters-postgres');
      const source = createPgSpecSource({
        connectionString: config.databaseUrl!,
        ...(config.databaseCa ? { ca: config.databaseCa } : {}),
      });
      closers.push(() => source.close());
      return source;
    },
    githubRepoHost: async () =>
      (await github()).createGitHubRepoHost({
        ...(config.github.app ? { app: config.github.app } : { token: config.github.token! }),
        owner: config.github.owner,
        apiUrl: config.github.apiUrl,
      }),
    gitTemplateSource: async () =>
      (await github()).createGitTemplateSource({
        templateRepo: config.github.templateRepo!,
        token: config.github.token,
        apiUrl: config.github.apiUrl,
      }),
    claudeCodeGenerator: async () =>
      (await import('@mvp-pipeline/adapters-claude')).createClaudeCodeGenerator({
        apiKey: config.anthropic.apiKey,
        model: config.anthropic.model,
        baseUrl: config.anthropic.baseUrl,
        maxTurns: config.anthropic.maxTurns,
        maxOutputTokens: config.anthropic.maxOutputTokens,
        maxCostUsd: config.anthropic.maxCostUsd,
        secrets: secretsOf(config),
      }),
    vercelDeployer: async () =>
      (await import('@mvp-pipeline/adapters-vercel')).createVercelDeployer({
        token: config.vercel.token!,
        teamId: config.vercel.teamId,
        apiUrl: config.vercel.apiUrl,
      }),
  };
}
