import type { Redactor } from '../redact.js';
import type { PipelineSettings } from '../use-cases/deps.js';
import type { AppChecker } from './app-checker.port.js';
import type { Builder } from './builder.port.js';
import type { CodeGenerator } from './code-generator.port.js';
import type { DatabaseProvisioner } from './database-provisioner.port.js';
import type { Deployer } from './deployer.port.js';
import type { JobStore } from './job-store.port.js';
import type { JobTrigger } from './job-trigger.port.js';
import type { Notifier } from './notifier.port.js';
import type { RepoHost } from './repo-host.port.js';
import type { Clock, IdGenerator, Logger } from './runtime.port.js';
import type { SiteChecker } from './site-checker.port.js';
import type { SpecSource } from './spec-source.port.js';
import type { TemplateSource } from './template-source.port.js';
import type { WorkspaceProvider } from './workspace.port.js';

/**
 * A DI token that carries the type of what it names. At run time it is a plain
 * `Symbol.for('mvp-pipeline/<Name>')`; the construct signature exists only in the type, so that
 * containers which infer a service's type from its identifier (inversify's
 * `ServiceIdentifier<T>`) bind, rebind and resolve `T` and nothing else:
 * `container.rebind(TOKENS.Deployer).toConstantValue(notADeployer)` does not compile.
 */
export type Token<T> = symbol & (abstract new (...args: never[]) => T);

/** The token named `mvp-pipeline/<name>`: equal across duplicated installs of this package. */
export function token<T>(name: string): Token<T> {
  return Symbol.for(`mvp-pipeline/${name}`) as Token<T>;
}

/**
 * DI tokens, one per port, plus the process-wide collaborators every adapter may take (Logger,
 * Clock, Redactor). `Symbol.for` keeps them equal across duplicated installs, so an embedder's
 * container and ours agree: `container.rebind(TOKENS.Deployer)`.
 */
export const TOKENS = {
  JobStore: token<JobStore>('JobStore'),
  SpecSource: token<SpecSource>('SpecSource'),
  TemplateSource: token<TemplateSource>('TemplateSource'),
  WorkspaceProvider: token<WorkspaceProvider>('WorkspaceProvider'),
  RepoHost: token<RepoHost>('RepoHost'),
  CodeGenerator: token<CodeGenerator>('CodeGenerator'),
  Builder: token<Builder>('Builder'),
  Deployer: token<Deployer>('Deployer'),
  DatabaseProvisioner: token<DatabaseProvisioner>('DatabaseProvisioner'),
  SiteChecker: token<SiteChecker>('SiteChecker'),
  AppChecker: token<AppChecker>('AppChecker'),
  Notifier: token<Notifier>('Notifier'),
  JobTrigger: token<JobTrigger>('JobTrigger'),
  Clock: token<Clock>('Clock'),
  IdGenerator: token<IdGenerator>('IdGenerator'),
  Logger: token<Logger>('Logger'),
  /** The one redactor of the process: it knows every configured secret. */
  Redactor: token<Redactor>('Redactor'),
  PipelineSettings: token<PipelineSettings>('PipelineSettings'),
} as const;

export type PortName = keyof typeof TOKENS;
