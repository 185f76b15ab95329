import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PermanentError } from '@mvp-pipeline/core';

/**
 * PGlite's default 128 MB of shared buffers costs ~200 MB of memory per running database (and
 * ~800 MB for the first); 16 MB (the embedded cluster's setting) brings that to ~50 MB.
 */
export const POSTGRESQL_CONF = ['shared_buffers = 16MB'];
/**
 * Makes an empty PGlite data dir at $TARGET. Run in a child process: PGlite's initdb keeps
 * ~0.5 GB of memory in the process that ran it, and the runner should not carry that.
 */
const INITDB_SCRIPT = `import { PGlite } from '@electric-sql/pglite';
const db = await PGlite.create(process.env.TARGET, { postgresqlconf: ${JSON.stringify(POSTGRESQL_CONF)} });
await db.close();`;
/** Where the child resolves '@electric-sql/pglite' from: this module's folder (src or dist). */
const HERE = path.dirname(fileURLToPath(import.meta.url));

/** Templates being made by this process, by folder: one initdb each. */
const making = new Map<string, Promise<string>>();

/**
 * `<dir>/template`: an empty data dir made once by a child process (see INITDB_SCRIPT); each
 * database starts as a copy of it, so no initdb runs in this process.
 */
export function pgliteTemplate(dir: string): Promise<string> {
  const target = path.join(dir, 'template');
  const running = making.get(target);
  if (running) return running;
  const made = (async () => {
    if (existsSync(path.join(target, 'PG_VERSION'))) return target;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const temp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      await new Promise<void>((resolve, reject) =>
        execFile(
          process.execPath,
          ['--input-type=module', '-e', INITDB_SCRIPT],
          {
            cwd: HERE,
            // Nothing of the runner's environment (its secrets) goes to the child.
            env: { PATH: process.env['PATH'] ?? '', TARGET: temp },
            timeout: 180_000,
            maxBuffer: 4 * 1024 * 1024,
          },
          (error, _stdout, stderr) =>
            error
              ? reject(
                  new PermanentError(
                    `PGlite's initdb failed (${error.code ?? error.signal}): ${stderr.slice(-2000)}`.trim(),
                  ),
                )
              : resolve(),
        ),
      );
      // Whole or absent: another process that got there first keeps its own.
      await rename(temp, target).catch((error: NodeJS.ErrnoException) => {
        if (!existsSync(path.join(target, 'PG_VERSION'))) throw error;
      });
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
    return target;
  })();
  making.set(target, made);
  // Forgotten once settled: a failed attempt is tried again by the next caller.
  made.finally(() => making.delete(target)).catch(() => undefined);
  return made;
}
