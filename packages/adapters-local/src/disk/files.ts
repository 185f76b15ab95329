import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PermanentError, type PipelineError, TransientError } from '@mvp-pipeline/core';

/**
 * Writes `content` to `file` through a temporary file in the same directory and a rename, so a
 * reader sees the old file or the new one, never half of one. Renaming also replaces a symlink
 * at `file` itself instead of writing through it.
 */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomUUID()}.tmp`);
  try {
    await writeFile(temp, content, { flag: 'wx' });
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

const TRANSIENT_CODES = new Set(['ENOSPC', 'EMFILE', 'ENFILE', 'EBUSY', 'EAGAIN', 'ETIMEDOUT', 'EIO']);

/** A file-system failure in the error vocabulary: full disks and busy files may pass; the rest will not. */
export function fsError(action: string, error: unknown): PipelineError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const detail = error instanceof Error ? error.message : String(error);
  const message = `Could not ${action}: ${detail}`;
  return code && TRANSIENT_CODES.has(code)
    ? new TransientError(message, { cause: error })
    : new PermanentError(message, { cause: error });
}

/** The error code of a Node system error, if it is one. */
export function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}
