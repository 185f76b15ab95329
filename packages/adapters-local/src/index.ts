// The embedded defaults and the in-memory fakes. Each barrel below is one area of the package.
export * from './apps/index.js';
export * from './browser/index.js';
export * from './clock/index.js';
export * from './database/index.js';
export * from './disk/index.js';
export * from './generator/index.js';
export * from './journeys/index.js';
export * from './memory/index.js';
export * from './notifiers/index.js';
export * from './site/index.js';
export * from './store/index.js';
export * from './trigger/index.js';
