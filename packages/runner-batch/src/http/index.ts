// The web app's endpoints as framework-neutral handlers, and the glue that mounts them.
export * from './job-events.js';
export * from './lambda.js';
export * from './node.js';
export * from './status-api.js';
export type * from './types.js';
