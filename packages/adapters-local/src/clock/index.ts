// The embedded default Clock: the wall clock.
export * from './system-clock.js';
