// A local stand-in for GitHub (REST and git smart HTTP), and the real git CLI to check what it holds.
export * from './git-cli.js';
export * from './github-stand-in.js';
