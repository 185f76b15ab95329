// Publishing and checking a site on one machine: the static deployer and the http/file site checker.

export * from './local-deployer.js';
export * from './site-checker.js';
export * from './static-deployer.js';
