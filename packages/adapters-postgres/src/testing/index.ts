export * from './database.js';
export * from './postgres-front.js';
export * from './tcp-proxy.js';
