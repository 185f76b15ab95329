import type { WorkStep } from '../domain/steps.js';
import type { AppChecker } from '../ports/app-checker.port.js';
import type { BuildOutputStore } from '../ports/build-output.port.js';
import type { Builder } from '../ports/builder.port.js';
import type { CodeGenerator } from '../ports/code-generator.port.js';
import type { DatabaseProvisioner } from '../ports/database-provisioner.port.js';
import type { Deployer } from '../ports/deployer.port.js';
import type { JobStore } from '../ports/job-store.port.js';
import type { JobTrigger } from '../ports/job-trigger.port.js';
import type { Notifier } from '../ports/notifier.port.js';
import type { RepoHost } from '../ports/repo-host.port.js';
import type { Clock, IdGenerator, Logger } from '../ports/runtime.port.js';
import type { SiteChecker } from '../ports/site-checker.port.js';
import type { SpecSource } from '../ports/spec-source.port.js';
import type { TemplateSource } from '../ports/template-source.port.js';
import type { WorkspaceProvider } from '../ports/workspace.port.js';
import type { Redactor } from '../redact.js';
import { createRedactor } from '../redact.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../retry.js';

/** Every port the use cases need. The composition root (or a test) fills it. */
export interface PipelinePorts {
  store: JobStore;
  specs: SpecSource;
  templates: TemplateSource;
  workspaces: WorkspaceProvider;
  repos: RepoHost;
  generator: CodeGenerator;
  builder: Builder;
  /** Build outputs kept on this machine between runs; without it a job resumed at DEPLOYING rebuilds once. */
  buildOutputs?: BuildOutputStore;
  deployer: Deployer;
  siteChecker: SiteChecker;
  /**
   * Databases of the MVPs: the throwaway one of the journey check and the app's own. Needed by
   * jobs on templates with an app model; without it such a job fails at BUILDING, saying so.
   */
  databases?: DatabaseProvisioner;
  /** The journey check of server apps; without it BUILDING says no journeys ran. */
  appChecker?: AppChecker;
  notifier: Notifier;
  trigger: JobTrigger;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
}

export interface PipelineSettings {
  /** The template a job starts from when the request names none. */
  defaultTemplate: string;
  /** How long a runner's lease lasts without renewal; it is renewed every third of that. */
  leaseTtlMs: number;
  /** The one retry policy: a step's tries, the notification, record writes, a worker's polls. */
  retry: RetryPolicy;
  /** How many times a failed build may send the job back to AI_DEVELOPMENT. */
  maxRepairRounds: number;
  /** Runner attempts per job (crashes, Batch retries) before the job is failed. */
  maxAttempts: number;
  /** Deadline of one try of each step. */
  stepTimeoutMs: Record<WorkStep, number>;
  /** Pending log lines and usage are written at least this often (and with every state change). */
  flushIntervalMs: number;
  /** Shown as timestamps.estimatedCompletion when a job starts. */
  estimatedDurationMs: number;
  /** Removes secrets from everything written to a record, a log or a notification. */
  redact: Redactor;
  /** Jitter source; tests fix it. */
  random: () => number;
}

export const DEFAULT_SETTINGS: PipelineSettings = {
  defaultTemplate: 'landing',
  leaseTtlMs: 60_000,
  retry: DEFAULT_RETRY_POLICY,
  maxRepairRounds: 2,
  maxAttempts: 5,
  stepTimeoutMs: {
    FETCHING_DATA: 60_000,
    CREATING_REPO: 5 * 60_000,
    AI_DEVELOPMENT: 45 * 60_000,
    BUILDING: 15 * 60_000,
    DEPLOYING: 30 * 60_000,
  },
  flushIntervalMs: 2_000,
  estimatedDurationMs: 15 * 60_000,
  redact: createRedactor(),
  random: Math.random,
};

export interface PipelineDeps {
  ports: PipelinePorts;
  settings: PipelineSettings;
}

/** Settings with defaults filled in. */
export function pipelineSettings(overrides: Partial<PipelineSettings> = {}): PipelineSettings {
  return {
    ...DEFAULT_SETTINGS,
    ...overrides,
    stepTimeoutMs: { ...DEFAULT_SETTINGS.stepTimeoutMs, ...overrides.stepTimeoutMs },
  };
}
