/**
 * DI tokens, one per port. `Symbol.for` keeps them equal across duplicated installs, so an
 * embedder's container and ours agree: `container.rebind(TOKENS.Deployer)`.
 */
export const TOKENS = {
  JobStore: Symbol.for('mvp-pipeline/JobStore'),
  SpecSource: Symbol.for('mvp-pipeline/SpecSource'),
  TemplateSource: Symbol.for('mvp-pipeline/TemplateSource'),
  WorkspaceProvider: Symbol.for('mvp-pipeline/WorkspaceProvider'),
  RepoHost: Symbol.for('mvp-pipeline/RepoHost'),
  CodeGenerator: Symbol.for('mvp-pipeline/CodeGenerator'),
  Builder: Symbol.for('mvp-pipeline/Builder'),
  Deployer: Symbol.for('mvp-pipeline/Deployer'),
  DatabaseProvisioner: Symbol.for('mvp-pipeline/DatabaseProvisioner'),
  SiteChecker: Symbol.for('mvp-pipeline/SiteChecker'),
  Notifier: Symbol.for('mvp-pipeline/Notifier'),
  JobTrigger: Symbol.for('mvp-pipeline/JobTrigger'),
  Clock: Symbol.for('mvp-pipeline/Clock'),
  IdGenerator: Symbol.for('mvp-pipeline/IdGenerator'),
  Logger: Symbol.for('mvp-pipeline/Logger'),
  PipelineSettings: Symbol.for('mvp-pipeline/PipelineSettings'),
} as const;

export type PortName = keyof typeof TOKENS;
