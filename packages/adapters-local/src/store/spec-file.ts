import { readFile } from 'node:fs/promises';
import { ValidationError } from '@mvp-pipeline/core';

/**
 * Reads a spec file's JSON (not yet validated: `SpecSource.registerSpec` does that). A missing
 * file or broken JSON is a ValidationError naming the file.
 */
export async function readSpecFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ValidationError(`spec file ${path}`, [{ path: '', message: reason }]);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`spec file ${path}`, [
      { path: '', message: `is not valid JSON (${(error as Error).message})` },
    ]);
  }
}
