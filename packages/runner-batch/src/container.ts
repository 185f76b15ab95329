import { join } from 'node:path';
import {
  createBrowserSiteChecker,
  createConsoleNotifier,
  createDiskBuildOutputs,
  createDiskWorkspaceProvider,
  createFileJobStore,
  createFilePasswordStore,
  createGitRepoHost,
  createHttpSiteChecker,
  createInProcessTrigger,
  createJourneyAppChecker,
  createJsonlNotifier,
  createJsonSpecSource,
  createLocalAppDeployer,
  createLocalDatabaseProvisioner,
  createLocalDeployer,
  createLocalTemplateSource,
  createMemoryJobStore,
  createProcessBuilder,
  createStaticDeployer,
  createSystemClock,
  createTemplateCodeGenerator,
  createWebhookNotifier,
  type InProcessTrigger,
  readSpecFile,
} from '@mvp-pipeline/adapters-local';
import { createNeonProvisioner } from '@mvp-pipeline/adapters-neon';
import {
  assertNever,
  type Clock,
  TOKENS as CORE_TOKENS,
  createSecretRegistry,
  type JobTrigger,
  type Logger,
  type Notifier,
  onBaseline,
  type PipelineDeps,
  type PipelinePorts,
  type PipelineSettings,
  type ProductSpec,
  pipelineSettings,
  type Redactor,
  type SecretRegistry,
  type SpecSource,
  token,
  withFallbackGenerator,
} from '@mvp-pipeline/core';
import { Container } from 'inversify';
import { type RunnerConfig, secretsOf } from './config.js';
import { createLogger } from './logger.js';
import { createIdGenerator, fanOutNotifier } from './runtime.js';
import { type VendorDeps, vendorAdapters } from './vendors.js';

/**
 * The core's tokens (one per port, plus Logger, Clock, Redactor, PipelineSettings) and the
 * runner's configuration. Each token carries its type: `container.rebind(TOKENS.Deployer)` takes
 * a Deployer and nothing else. The symbols are `Symbol.for('mvp-pipeline/<Name>')`.
 */
export const TOKENS = {
  ...CORE_TOKENS,
  Config: token<RunnerConfig>('Config'),
  /** The redactor's registry: adapters that make secrets at run time (database passwords) add them. */
  Secrets: token<SecretRegistry>('Secrets'),
} as const;

export interface CreatePipelineOptions {
  config: RunnerConfig;
  /** Rebind ports here (`container.rebind(TOKENS.Deployer).toConstantValue(mine)`) before they are built. */
  configure?: (container: Container) => void;
  /** Settings beyond the config (tests shorten timeouts). */
  settings?: Partial<PipelineSettings>;
  /** Replaces the structured logger (stderr, redacted). */
  logger?: Logger;
  /**
   * Whether the local deployer serves the apps it deploys while this process lives (default
   * true). `mvp serve` says false: its own app host serves every published app.
   */
  hostApps?: boolean;
  /** The lowest level the default logger writes. Default info. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/**
 * The spec registry of the SpecSource the container resolved (see `SpecSource.registerSpec`):
 * what `mvp run --spec`, the dashboard and embedders register specs through.
 */
export interface SpecFiles {
  /** Validates and registers a spec; returns it. */
  register(spec: unknown, origin?: string): Promise<ProductSpec>;
  /** Reads, validates and registers a spec file. A missing file or broken JSON is a ValidationError naming the file. */
  registerFile(path: string): Promise<ProductSpec>;
  getSpec: SpecSource['getSpec'];
  /** The users that have specs there. */
  users(): Promise<string[]>;
}

export interface Pipeline {
  container: Container;
  deps: PipelineDeps;
  config: RunnerConfig;
  /** The resolved SpecSource's registry, when it has one (the JSON source does; PostgreSQL does not). */
  specFiles: SpecFiles | undefined;
  /** The resolved JobTrigger when it wakes a worker in this process (the in-process trigger). */
  localTrigger: InProcessTrigger | undefined;
  /** The process's one redactor (the container's `TOKENS.Redactor`). */
  redact: Redactor;
  /** Releases connections and clients. */
  close(): Promise<void>;
}

/** What the use cases are given (`PipelinePorts`), each port by its token. */
export const PORT_TOKENS = {
  store: TOKENS.JobStore,
  specs: TOKENS.SpecSource,
  templates: TOKENS.TemplateSource,
  workspaces: TOKENS.WorkspaceProvider,
  repos: TOKENS.RepoHost,
  generator: TOKENS.CodeGenerator,
  builder: TOKENS.Builder,
  deployer: TOKENS.Deployer,
  siteChecker: TOKENS.SiteChecker,
  databases: TOKENS.DatabaseProvisioner,
  appChecker: TOKENS.AppChecker,
  notifier: TOKENS.Notifier,
  trigger: TOKENS.JobTrigger,
  clock: TOKENS.Clock,
  ids: TOKENS.IdGenerator,
  logger: TOKENS.Logger,
} as const satisfies Record<Exclude<keyof PipelinePorts, 'buildOutputs'>, symbol>;

/** The collaborators most bindings take, in this order. */
const COMMON: [typeof TOKENS.Config, typeof TOKENS.Redactor, typeof TOKENS.Logger, typeof TOKENS.Clock] = [
  TOKENS.Config,
  TOKENS.Redactor,
  TOKENS.Logger,
  TOKENS.Clock,
];
type Common = [config: RunnerConfig, redact: Redactor, logger: Logger, clock: Clock];

/**
 * The composition root: binds every port to the adapter the configuration selects, each built
 * from the container's one Config, Redactor, Logger and Clock (`toResolvedValue` with tokens), lets
 * the caller rebind any of them, and resolves the use cases' dependencies. No logic lives here.
 */
export async function createPipeline(options: CreatePipelineOptions): Promise<Pipeline> {
  const container = new Container({ defaultScope: 'Singleton' });
  const closers: Array<() => Promise<void>> = [];
  const vendor = (...[config, redact, logger, clock]: Common): VendorDeps => ({
    config,
    redact,
    logger,
    clock,
    closers,
  });

  container.bind(TOKENS.Config).toConstantValue(options.config);
  container
    .bind(TOKENS.Secrets)
    .toResolvedValue((config) => createSecretRegistry(secretsOf(config)), [TOKENS.Config]);
  container.bind(TOKENS.Redactor).toResolvedValue((secrets) => secrets.redact, [TOKENS.Secrets]);
  container
    .bind(TOKENS.Logger)
    .toResolvedValue(
      (config, redact) =>
        options.logger ??
        createLogger({ format: config.logFormat, level: options.logLevel ?? 'info', redact }),
      [TOKENS.Config, TOKENS.Redactor],
    );
  container.bind(TOKENS.Clock).toResolvedValue(() => createSystemClock());
  container.bind(TOKENS.IdGenerator).toResolvedValue(() => createIdGenerator());
  container.bind(TOKENS.JobStore).toResolvedValue((...deps: Common) => {
    const [config, , logger, clock] = deps;
    switch (config.jobStore) {
      case 'file':
        return createFileJobStore({ dataDir: config.dataDir, logger });
      case 'memory':
        return createMemoryJobStore({ clock: () => clock.now() });
      case 'dynamodb':
        return vendorAdapters.dynamoJobStore(vendor(...deps));
    }
  }, COMMON);
  container
    .bind(TOKENS.SpecSource)
    .toResolvedValue(
      (...deps: Common) =>
        deps[0].specSource === 'json'
          ? createJsonSpecSource({ dir: join(deps[0].dataDir, 'specs') })
          : vendorAdapters.postgresSpecSource(vendor(...deps)),
      COMMON,
    );
  container
    .bind(TOKENS.TemplateSource)
    .toResolvedValue(
      (...deps: Common) =>
        deps[0].github.templateRepo
          ? vendorAdapters.gitTemplateSource(vendor(...deps))
          : createLocalTemplateSource({ root: deps[0].templatesDir, redact: deps[1] }),
      COMMON,
    );
  container
    .bind(TOKENS.WorkspaceProvider)
    .toResolvedValue(
      (config, redact) => createDiskWorkspaceProvider({ root: join(config.dataDir, 'workspaces'), redact }),
      [TOKENS.Config, TOKENS.Redactor],
    );
  container
    .bind(TOKENS.RepoHost)
    .toResolvedValue(
      (...deps: Common) =>
        deps[0].repoHost === 'github'
          ? vendorAdapters.githubRepoHost(vendor(...deps))
          : createGitRepoHost({ root: join(deps[0].dataDir, 'repos'), redact: deps[1] }),
      COMMON,
    );
  container.bind(TOKENS.CodeGenerator).toResolvedValue(async (...deps: Common) => {
    const [config] = deps;
    const template = createTemplateCodeGenerator();
    if (config.codeGenerator === 'template') return template;
    // Claude carries on from the recipes' working app; the fallback ships that app alone.
    const claude = onBaseline(template, await vendorAdapters.claudeCodeGenerator(vendor(...deps)));
    return config.aiFallback === 'template' ? withFallbackGenerator(claude, template) : claude;
  }, COMMON);
  container.bind(TOKENS.Builder).toResolvedValue(
    (config) =>
      createProcessBuilder({
        cacheDir: config.cacheDir,
        registryArgs: Object.entries(config.npmScopeRegistries).map(
          ([scope, url]) => `--${scope}:registry=${url}`,
        ),
      }),
    [TOKENS.Config],
  );
  container.bind(TOKENS.DatabaseProvisioner).toResolvedValue(
    async (config, secrets, redact, logger, clock) => {
      const passwords =
        config.secretStore.kind === 'secrets-manager'
          ? await vendorAdapters.secretsManagerPasswordStore(vendor(config, redact, logger, clock))
          : undefined;
      if (config.appsDatabase.provisioner === 'neon')
        return createNeonProvisioner({
          apiKey: config.neon.apiKey ?? '',
          apiUrl: config.neon.apiUrl,
          regionId: config.neon.regionId,
          passwords:
            passwords ??
            createFilePasswordStore({ dir: join(config.dataDir, 'databases', 'neon', 'passwords') }),
          registerSecret: secrets.add,
        });
      const { provisioner, close } = createLocalDatabaseProvisioner({
        passwords,
        mode: config.appsDatabase.provisioner,
        adminUrl: config.appsDatabase.adminUrl,
        ca: config.appsDatabase.ca,
        poolUrl: config.appsDatabase.poolUrl,
        dir: join(config.dataDir, 'databases'),
        registerSecret: secrets.add,
      });
      closers.push(close);
      return provisioner;
    },
    [TOKENS.Config, TOKENS.Secrets, TOKENS.Redactor, TOKENS.Logger, TOKENS.Clock],
  );
  container.bind(TOKENS.AppChecker).toResolvedValue(
    (config) =>
      createJourneyAppChecker({
        chromiumPath: config.chromiumPath,
        browser: config.browserCheck !== 'off',
      }),
    [TOKENS.Config],
  );
  container.bind(TOKENS.Deployer).toResolvedValue(
    async (config, redact, logger, clock, databases, secrets) => {
      if (config.deployer === 'vercel') {
        // Each app's session secret is kept as database passwords are: in Secrets Manager when
        // MVP_SECRET_STORE says so, else one 0600 file per job under the data dir.
        const store =
          config.secretStore.kind === 'secrets-manager'
            ? await vendorAdapters.secretsManagerPasswordStore(vendor(config, redact, logger, clock))
            : createFilePasswordStore({ dir: join(config.dataDir, 'secrets') });
        return vendorAdapters.vercelDeployer(
          { ...vendor(config, redact, logger, clock), registerSecret: secrets.add },
          { databases, secrets: store },
        );
      }
      const app = createLocalAppDeployer({
        root: config.dataDir,
        databases,
        redact,
        portRange: config.appPorts,
        // `mvp serve` hosts the apps itself; a run hosts its app while it lives (for the site check).
        serve: options.hostApps !== false,
      });
      closers.push(() => app.close());
      const site = createStaticDeployer({
        root: config.dataDir,
        ...(config.siteBaseUrl ? { baseUrl: config.siteBaseUrl } : {}),
      });
      return createLocalDeployer({ site, app });
    },
    [...COMMON, TOKENS.DatabaseProvisioner, TOKENS.Secrets],
  );
  container
    .bind(TOKENS.SiteChecker)
    .toResolvedValue(
      (config) =>
        config.browserCheck === 'off'
          ? createHttpSiteChecker({})
          : createBrowserSiteChecker(config.chromiumPath ? { executablePath: config.chromiumPath } : {}),
      [TOKENS.Config],
    );
  container.bind(TOKENS.Notifier).toResolvedValue(async (...deps: Common) => {
    const [config, redact] = deps;
    const notifierFor = (name: RunnerConfig['notifiers'][number]): Notifier | Promise<Notifier> => {
      switch (name) {
        case 'console':
          return createConsoleNotifier({ redact });
        case 'jsonl':
          return createJsonlNotifier({ path: join(config.dataDir, 'notifications.jsonl') });
        case 'webhook':
          return createWebhookNotifier({ url: config.webhookUrl!, redact });
        case 'sns':
          return vendorAdapters.snsNotifier(vendor(...deps));
        default:
          return assertNever(name, 'notifier');
      }
    };
    return fanOutNotifier(await Promise.all(config.notifiers.map(notifierFor)));
  }, COMMON);
  container
    .bind(TOKENS.JobTrigger)
    .toResolvedValue(
      (...deps: Common): JobTrigger | Promise<JobTrigger> =>
        deps[0].jobTrigger === 'in-process'
          ? createInProcessTrigger()
          : vendorAdapters.eventBridgeTrigger(vendor(...deps)),
      COMMON,
    );
  container.bind(TOKENS.PipelineSettings).toResolvedValue(
    (config, redact) =>
      pipelineSettings({
        defaultTemplate: config.template,
        leaseTtlMs: config.leaseTtlMs,
        maxRepairRounds: config.maxRepairRounds,
        maxAttempts: config.maxAttempts,
        redact,
        ...options.settings,
      }),
    [TOKENS.Config, TOKENS.Redactor],
  );

  options.configure?.(container);

  const ports = {} as Record<keyof PipelinePorts, unknown>;
  // One at a time, in this order: an adapter's factory may wait on another's.
  for (const [name, id] of Object.entries<symbol>(PORT_TOKENS))
    ports[name as keyof PipelinePorts] = await container.getAsync(id);
  // Build outputs kept beside the data dir: a job resumed on this machine deploys without building again.
  const { dataDir } = await container.getAsync(TOKENS.Config);
  ports.buildOutputs = createDiskBuildOutputs({ root: join(dataDir, 'builds') });
  return {
    container,
    deps: { ports: ports as PipelinePorts, settings: await container.getAsync(TOKENS.PipelineSettings) },
    config: await container.getAsync(TOKENS.Config),
    specFiles: specFilesOf(ports.specs as SpecSource),
    localTrigger: isInProcessTrigger(ports.trigger as JobTrigger)
      ? (ports.trigger as InProcessTrigger)
      : undefined,
    redact: await container.getAsync(TOKENS.Redactor),
    close: async () => {
      await Promise.allSettled(closers.map((close) => close()));
    },
  };
}

/** The registry view of a SpecSource that implements the optional `registerSpec`. */
function specFilesOf(source: SpecSource): SpecFiles | undefined {
  const { registerSpec, listUsers } = source;
  if (!registerSpec) return undefined;
  const register = async (spec: unknown, origin?: string) =>
    (await registerSpec.call(source, { spec, ...(origin === undefined ? {} : { origin }) })).spec;
  return {
    register,
    registerFile: async (path) => register(await readSpecFile(path), `spec file ${path}`),
    getSpec: (options) => source.getSpec(options),
    users: async () => (listUsers ? (await listUsers.call(source)).userIds : []),
  };
}

function isInProcessTrigger(trigger: JobTrigger): trigger is InProcessTrigger {
  return typeof (trigger as Partial<InProcessTrigger>).subscribe === 'function';
}
