export * from './call-log.js';
export * from './fakes.js';
export * from './manual-clock.js';
export * from './memory-files.js';
export * from './memory-logger.js';
export * from './pipeline.js';
export * from './sequential-ids.js';
