// The embedded defaults and the in-memory fakes. Each barrel below is one area of the package.
export * from './browser/index.js';
export * from './disk.js';
export * from './journeys/index.js';
export * from './memory/index.js';
export * from './site.js';
export * from './store/index.js';
