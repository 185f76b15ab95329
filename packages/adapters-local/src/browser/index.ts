// Checking published sites in a real browser (headless Chromium through playwright-core).
export * from './browser-site-checker.js';
export * from './chromium.js';
