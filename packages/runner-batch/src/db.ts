import { runDbCommand } from '@mvp-pipeline/adapters-postgres';
import { createRedactor } from '@mvp-pipeline/core';
import { loadConfig, secretsOf } from './config.js';
import { withSecrets } from './secrets.js';

/** `mvp db migrate | seed FILE…`: the PostgreSQL schema and example specs (FOUNDERDASH_DB_URL). */
export async function dbCommand(args: readonly string[]): Promise<number> {
  const config = loadConfig(await withSecrets(process.env));
  return runDbCommand(args, {
    databaseUrl: config.databaseUrl,
    redact: createRedactor(secretsOf(config)),
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
  });
}
