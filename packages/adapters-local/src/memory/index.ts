export * from './call-log.js';
export * from './fakes.js';
export * from './memory-files.js';
export * from './pipeline.js';
export * from './runtime.js';
