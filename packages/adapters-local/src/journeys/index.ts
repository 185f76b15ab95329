// Journeys through a running app generated from app.model.json: in Chromium, or over HTTP only.
export * from './app-checker.js';
export * from './browser-journeys.js';
export * from './http-journeys.js';
export * from './model.js';
