export * from './disk-files.js';
export * from './faults.js';
