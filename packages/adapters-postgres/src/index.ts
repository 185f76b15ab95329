export * from './commands.js';
export {
  connectionSecrets,
  databaseRedactor,
  isTransientDatabaseError,
  toDatabaseError,
} from './errors.js';
export * from './load-specs.js';
export * from './migrations.js';
export {
  createPool,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_STATEMENT_TIMEOUT_MS,
  type PoolSettings,
} from './pool.js';
export * from './spec-source.js';
