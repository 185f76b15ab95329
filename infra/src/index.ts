export { type CreateAppOptions, createApp, DEFAULT_OUTDIR } from './create-app.js';
export { RUNNER_COMMAND, RUNNER_EXIT_CODES } from './exit-codes.js';
export {
  type ContextReader,
  DEFAULT_NAME_PREFIX,
  defaultSettings,
  type InfraSettings,
  InfraSettingsError,
  type InfraSettingsOverrides,
  MANAGED_ENV_NAMES,
  resolveSettings,
  SECRET_CONTEXT_KEYS,
  SECRET_ENV_NAMES,
  type SecretEnvName,
} from './settings.js';
export {
  JOB_MEMORY_MIB,
  JOB_TABLE_ACTIONS,
  JOB_VCPUS,
  MvpPipelineStack,
  type MvpPipelineStackProps,
  RETRY_RULES,
  RUNNER_ENVIRONMENT_DEFAULTS,
  TABLE_KEYS,
  USER_JOBS_INDEX,
} from './stack.js';
