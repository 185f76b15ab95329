export * from './file-job-store.js';
export * from './json-spec-source.js';
export * from './memory-job-store.js';
export * from './record-job-store.js';
export * from './spec-file.js';
