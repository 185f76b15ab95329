// Turning a spec into a published site: the template generator, the static deployer, the site
// checker and the notifiers that announce the result.
export * from './site/notifiers.js';
export * from './site/site-checker.js';
export * from './site/static-deployer.js';
export * from './site/template-generator.js';
export * from './site/webhook-notifier.js';
