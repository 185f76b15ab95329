// The embedded Notifiers: a console line, a JSONL file, a webhook.
export * from './console-jsonl-notifiers.js';
export * from './webhook-notifier.js';
