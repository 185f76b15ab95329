export { runBatchJob } from './batch.js';
export {
  ConfigErrors,
  DEFAULT_TEMPLATES_DIR,
  debugRequested,
  earlyLogFormat,
  environmentSecrets,
  loadConfig,
  type RunnerConfig,
  SECRET_VARIABLES,
  secretsOf,
} from './config.js';
export {
  type CreatePipelineOptions,
  createPipeline,
  type Pipeline,
  type SpecFiles,
  TOKENS,
} from './container.js';
export { EXIT } from './exit-codes.js';
export * from './http/index.js';
export { createLogger, type LoggerSettings } from './logger.js';
export { type RunningServer, type ServeOptions, startServer } from './serve/server.js';
