// The embedded default JobTrigger: wakes a worker in this process.
export * from './in-process-trigger.js';
