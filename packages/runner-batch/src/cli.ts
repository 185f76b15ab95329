#!/usr/bin/env node
// The `mvp` command. The commands themselves are in commands.ts, which the bundled runner
// (bundle-entry.ts) shares.
import { runCli } from './commands.js';

process.exitCode = await runCli(process.argv.slice(2));
