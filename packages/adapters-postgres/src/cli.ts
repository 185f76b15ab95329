#!/usr/bin/env node
import { runDbCommand } from './commands.js';

// mvp-db migrate | mvp-db seed <spec.json…>: see DB_COMMAND_USAGE.
// This bin is its own small entry point: FOUNDERDASH_DB_URL is the one variable it reads.
process.exitCode = await runDbCommand(process.argv.slice(2), {
  databaseUrl: process.env['FOUNDERDASH_DB_URL'],
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
});
