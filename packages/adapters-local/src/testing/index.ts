export * from './disk-files.js';
export * from './fake-server-app.js';
export * from './faults.js';
export * from './npm-registry-stand-in.js';
