import { runDbCommand } from '@mvp-pipeline/adapters-postgres';

/** `mvp db migrate | seed FILE…`: the PostgreSQL schema and example specs (FOUNDERDASH_DB_URL). */
export function dbCommand(args: readonly string[]): Promise<number> {
  return runDbCommand(args, {
    env: process.env,
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
  });
}
