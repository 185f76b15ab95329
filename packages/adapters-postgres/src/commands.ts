import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  ConfigError,
  PipelineError,
  parseProductSpec,
  type Redactor,
  ValidationError,
} from '@mvp-pipeline/core';
import { connectionSecrets, databaseRedactor } from './errors.js';
import { loadSpecs } from './load-specs.js';
import { applyMigrations } from './migrations.js';
import { createPool } from './pool.js';

/** Where a database command reads its settings and writes its output. */
export interface DbCommandIo {
  /** The FounderDash database (FOUNDERDASH_DB_URL, read by the caller's configuration). */
  databaseUrl: string | undefined;
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  /** Relative spec paths resolve against it. Default: the process's working directory. */
  cwd?: string;
  /** The application's redactor; the database URL is added to it. */
  redact?: Redactor;
}

export const DB_COMMAND_USAGE = `Usage:
  migrate                  apply the schema migrations to FOUNDERDASH_DB_URL (idempotent)
  seed <spec.json>...      upsert the users, products and MVP specifications of these specs`;

/**
 * Runs `migrate` or `seed <spec.json…>` against FOUNDERDASH_DB_URL and returns the exit code:
 * 0 done, 1 failed, 2 bad usage or configuration. Every line it prints is redacted.
 */
export async function runDbCommand(args: readonly string[], io: DbCommandIo): Promise<number> {
  const [command, ...rest] = args;
  const url = io.databaseUrl;
  const redact = databaseRedactor(connectionSecrets(url), io.redact);
  const out = (line: string) => io.stdout(redact(line));
  const err = (line: string) => io.stderr(redact(line));
  if (command === 'help' || command === '--help' || command === '-h') {
    out(DB_COMMAND_USAGE);
    return 0;
  }
  if (command !== 'migrate' && command !== 'seed') {
    err(command ? `Unknown command: ${command}` : 'No command given');
    err(DB_COMMAND_USAGE);
    return 2;
  }
  if (command === 'seed' && rest.length === 0) {
    err('seed needs at least one spec file');
    err(DB_COMMAND_USAGE);
    return 2;
  }
  if (command === 'migrate' && rest.length > 0) {
    err(`migrate takes no arguments (got ${rest.join(' ')})`);
    return 2;
  }
  if (!url?.trim()) {
    err(
      new ConfigError('FOUNDERDASH_DB_URL', 'is not set; give the PostgreSQL URL of the FounderDash database')
        .message,
    );
    return 2;
  }
  // Migrations may take a while on a large table; a seed is small.
  const pool = createPool({ connectionString: url, statementTimeoutMs: 5 * 60_000, maxConnections: 1 });
  pool.on('error', () => undefined);
  try {
    if (command === 'migrate') {
      const { applied, skipped } = await applyMigrations({ pool, redact });
      if (applied.length === 0) out(`Schema up to date (${skipped.length} migrations applied before)`);
      for (const file of applied) out(`Applied ${file}`);
    } else {
      const specs = await readSpecs(rest, io.cwd ?? process.cwd());
      const { loaded } = await loadSpecs({ pool, specs: specs.map((s) => s.spec), redact });
      loaded.forEach((spec, i) => {
        out(
          `Loaded ${spec.product.name} (user ${spec.user.id}, product ${spec.product.id}) from ${specs[i]!.file}`,
        );
      });
    }
    return 0;
  } catch (error) {
    err(PipelineError.isInstance(error) ? error.message : `Unexpected error: ${String(error)}`);
    return 1;
  } finally {
    await pool.end().catch(() => undefined);
  }
}

/** Each file holds one spec or an array of specs. */
async function readSpecs(
  files: readonly string[],
  cwd: string,
): Promise<Array<{ file: string; spec: unknown }>> {
  const specs: Array<{ file: string; spec: unknown }> = [];
  for (const file of files) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(resolve(cwd, file), 'utf8'));
    } catch (error) {
      const problem =
        (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
      throw new ValidationError(`spec file ${file}`, [{ path: '', message: problem }]);
    }
    const list = Array.isArray(parsed) ? parsed : [parsed];
    list.forEach((spec, i) => {
      // Validated here too, so that a bad spec is named by its file.
      const where = list.length > 1 ? `spec ${i + 1} of ${file}` : `spec in ${file}`;
      specs.push({ file, spec: parseProductSpec(spec, where) });
    });
  }
  return specs;
}
