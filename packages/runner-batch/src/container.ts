import { join } from 'node:path';
import {
  createBrowserSiteChecker,
  createConsoleNotifier,
  createDiskWorkspaceProvider,
  createFileJobStore,
  createGitRepoHost,
  createHttpSiteChecker,
  createInProcessTrigger,
  createJsonlNotifier,
  createJsonSpecSource,
  createLocalTemplateSource,
  createMemoryJobStore,
  createProcessBuilder,
  createStaticDeployer,
  createSystemClock,
  createTemplateCodeGenerator,
  createWebhookNotifier,
  type InProcessTrigger,
  type JsonSpecSource,
} from '@mvp-pipeline/adapters-local';
import {
  assertNever,
  type Builder,
  type Clock,
  type CodeGenerator,
  createRedactor,
  type Deployer,
  type IdGenerator,
  type JobStore,
  type JobTrigger,
  type Logger,
  type Notifier,
  type PipelineDeps,
  type PipelinePorts,
  type PipelineSettings,
  pipelineSettings,
  type RepoHost,
  type SiteChecker,
  type SpecSource,
  type TemplateSource,
  TOKENS,
  type WorkspaceProvider,
  withFallbackGenerator,
} from '@mvp-pipeline/core';
import { Container } from 'inversify';
import { type RunnerConfig, secretsOf } from './config.js';
import { createLogger } from './logger.js';
import { createIdGenerator, fanOutNotifier } from './runtime.js';
import { vendorAdapters } from './vendors.js';

export interface CreatePipelineOptions {
  config: RunnerConfig;
  /** Rebind ports here (`container.rebind(TOKENS.Deployer).toConstantValue(mine)`) before they are built. */
  configure?: (container: Container) => void;
  /** Settings beyond the config (tests shorten timeouts). */
  settings?: Partial<PipelineSettings>;
  /** Replaces the structured logger (stderr, redacted). */
  logger?: Logger;
  /** The lowest level the default logger writes. Default info. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

export interface Pipeline {
  container: Container;
  deps: PipelineDeps;
  config: RunnerConfig;
  /** The JSON spec source when the config selects it (the CLI registers spec files with it). */
  specFiles: JsonSpecSource | undefined;
  /** The in-process trigger when the config selects it (a worker in this process listens to it). */
  localTrigger: InProcessTrigger | undefined;
  /** Releases connections and clients. */
  close(): Promise<void>;
}

/**
 * The composition root: binds every port to the adapter the configuration selects, lets the
 * caller rebind any of them, and resolves the use cases' dependencies. No logic lives here.
 */
export async function createPipeline(options: CreatePipelineOptions): Promise<Pipeline> {
  const { config } = options;
  const redact = createRedactor(secretsOf(config));
  const container = new Container({ defaultScope: 'Singleton' });
  const closers: Array<() => Promise<void>> = [];
  const vendors = vendorAdapters(config, redact, closers);
  const specFiles =
    config.specSource === 'json' ? createJsonSpecSource({ dir: join(config.dataDir, 'specs') }) : undefined;
  const localTrigger = config.jobTrigger === 'in-process' ? createInProcessTrigger() : undefined;

  container
    .bind<Logger>(TOKENS.Logger)
    .toConstantValue(
      options.logger ?? createLogger({ format: config.logFormat, level: options.logLevel ?? 'info', redact }),
    );
  container.bind<Clock>(TOKENS.Clock).toConstantValue(createSystemClock());
  container.bind<IdGenerator>(TOKENS.IdGenerator).toConstantValue(createIdGenerator());
  container.bind<JobStore>(TOKENS.JobStore).toDynamicValue((context) => {
    switch (config.jobStore) {
      case 'file':
        return createFileJobStore({ dataDir: config.dataDir, logger: context.get<Logger>(TOKENS.Logger) });
      case 'memory':
        return createMemoryJobStore();
      case 'dynamodb':
        return vendors.dynamoJobStore();
    }
  });
  container
    .bind<SpecSource>(TOKENS.SpecSource)
    .toDynamicValue(() => specFiles ?? vendors.postgresSpecSource());
  container
    .bind<TemplateSource>(TOKENS.TemplateSource)
    .toDynamicValue(() =>
      config.github.templateRepo
        ? vendors.gitTemplateSource()
        : createLocalTemplateSource({ root: config.templatesDir }),
    );
  container
    .bind<WorkspaceProvider>(TOKENS.WorkspaceProvider)
    .toDynamicValue(() => createDiskWorkspaceProvider({ root: join(config.dataDir, 'workspaces') }));
  container
    .bind<RepoHost>(TOKENS.RepoHost)
    .toDynamicValue(() =>
      config.repoHost === 'github'
        ? vendors.githubRepoHost()
        : createGitRepoHost({ root: join(config.dataDir, 'repos') }),
    );
  container.bind<CodeGenerator>(TOKENS.CodeGenerator).toDynamicValue(async () => {
    const template = createTemplateCodeGenerator();
    if (config.codeGenerator === 'template') return template;
    const claude = await vendors.claudeCodeGenerator();
    return config.aiFallback === 'template' ? withFallbackGenerator(claude, template) : claude;
  });
  container.bind<Builder>(TOKENS.Builder).toDynamicValue(() => createProcessBuilder({}));
  container.bind<Deployer>(TOKENS.Deployer).toDynamicValue(() =>
    config.deployer === 'vercel'
      ? vendors.vercelDeployer()
      : createStaticDeployer({
          root: config.dataDir,
          ...(config.siteBaseUrl ? { baseUrl: config.siteBaseUrl } : {}),
        }),
  );
  container
    .bind<SiteChecker>(TOKENS.SiteChecker)
    .toDynamicValue(() =>
      config.browserCheck === 'off'
        ? createHttpSiteChecker({})
        : createBrowserSiteChecker(config.chromiumPath ? { executablePath: config.chromiumPath } : {}),
    );
  const notifierFor = (name: RunnerConfig['notifiers'][number]): Notifier | Promise<Notifier> => {
    switch (name) {
      case 'console':
        return createConsoleNotifier({});
      case 'jsonl':
        return createJsonlNotifier({ path: join(config.dataDir, 'notifications.jsonl') });
      case 'webhook':
        return createWebhookNotifier({ url: config.webhookUrl! });
      case 'sns':
        return vendors.snsNotifier();
      default:
        return assertNever(name, 'notifier');
    }
  };
  container
    .bind<Notifier>(TOKENS.Notifier)
    .toDynamicValue(async () => fanOutNotifier(await Promise.all(config.notifiers.map(notifierFor))));
  container
    .bind<JobTrigger>(TOKENS.JobTrigger)
    .toDynamicValue(() => localTrigger ?? vendors.eventBridgeTrigger());
  container.bind<PipelineSettings>(TOKENS.PipelineSettings).toConstantValue(
    pipelineSettings({
      defaultTemplate: config.template,
      leaseTtlMs: config.leaseTtlMs,
      maxRepairRounds: config.maxRepairRounds,
      maxAttempts: config.maxAttempts,
      redact,
      ...options.settings,
    }),
  );

  options.configure?.(container);

  const ports: PipelinePorts = {
    store: await container.getAsync(TOKENS.JobStore),
    specs: await container.getAsync(TOKENS.SpecSource),
    templates: await container.getAsync(TOKENS.TemplateSource),
    workspaces: await container.getAsync(TOKENS.WorkspaceProvider),
    repos: await container.getAsync(TOKENS.RepoHost),
    generator: await container.getAsync(TOKENS.CodeGenerator),
    builder: await container.getAsync(TOKENS.Builder),
    deployer: await container.getAsync(TOKENS.Deployer),
    siteChecker: await container.getAsync(TOKENS.SiteChecker),
    notifier: await container.getAsync(TOKENS.Notifier),
    trigger: await container.getAsync(TOKENS.JobTrigger),
    clock: await container.getAsync(TOKENS.Clock),
    ids: await container.getAsync(TOKENS.IdGenerator),
    logger: await container.getAsync(TOKENS.Logger),
  };
  return {
    container,
    deps: { ports, settings: await container.getAsync(TOKENS.PipelineSettings) },
    config,
    specFiles,
    localTrigger,
    close: async () => {
      await Promise.allSettled(closers.map((close) => close()));
    },
  };
}
