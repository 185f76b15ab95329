import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from '@mvp-pipeline/core';

/**
 * Checks, before anything is written, that the data dir is a directory this process can write,
 * or can be created as one: one ConfigError naming MVP_DATA_DIR and the path otherwise (exit 2).
 * Creates nothing.
 */
export async function checkDataDir(dir: string): Promise<void> {
  const unusable = (why: string) =>
    new ConfigError('MVP_DATA_DIR', `${dir} is not a usable data directory: ${why}`);
  let at = dir;
  for (;;) {
    const info = await stat(at).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      if (error.code === 'ENOTDIR') return 'in the way' as const;
      throw unusable(`${error.code ?? error.message} at ${at}`);
    });
    if (info === 'in the way') {
      at = dirname(at);
      continue;
    }
    if (info) {
      if (!info.isDirectory()) throw unusable(at === dir ? 'it is a file' : `${at} is a file`);
      try {
        await access(at, constants.W_OK | constants.X_OK);
      } catch {
        throw unusable(at === dir ? 'it is not writable' : `${at} is not writable`);
      }
      return;
    }
    const parent = dirname(at);
    if (parent === at) return;
    at = parent;
  }
}
