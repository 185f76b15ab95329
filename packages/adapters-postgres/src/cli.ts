#!/usr/bin/env node
import { runDbCommand } from './commands.js';

// mvp-db migrate | mvp-db seed <spec.json…>: see DB_COMMAND_USAGE.
process.exitCode = await runDbCommand(process.argv.slice(2), {
  env: process.env,
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
});
