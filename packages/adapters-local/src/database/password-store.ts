import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ValidationError } from '@mvp-pipeline/core';

/**
 * Where generated database passwords are kept, so a retried job finds its own and a record
 * only ever holds a reference. Locally: one 0600 file per name; in production a secrets manager
 * (issue 18's adapters implement the same three calls).
 */
export interface PasswordStore {
  /** Where the password of `name` is kept: what the record's `secretRef` says. */
  ref(name: string): string;
  /**
   * The stored password of `name`; when there is none, stores `generate()` first. Safe when
   * two callers race: the first one stored wins and both get it.
   */
  ensure(name: string, generate: () => string): Promise<string>;
  /** Removes the stored password; false when there was none. */
  remove(name: string): Promise<boolean>;
}

/** A password for a generated role: 32 URL-safe characters (192 random bits), usable in a URL as is. */
export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

const NAME = /^[a-z0-9_]{1,63}$/;

function assertName(name: string): void {
  if (!NAME.test(name)) {
    throw new ValidationError('password name', [{ path: 'name', message: 'must be a database name' }]);
  }
}

/**
 * Passwords as files `<dir>/<name>.password`, mode 0600, in a 0700 folder. A new one is
 * written to a private temporary file and hard-linked into place, so it appears whole and only
 * once even when two attempts race.
 */
export function createFilePasswordStore(settings: { dir: string }): PasswordStore {
  const dir = path.resolve(settings.dir);
  const file = (name: string) => {
    assertName(name);
    return path.join(dir, `${name}.password`);
  };
  const read = async (target: string) => {
    try {
      return (await readFile(target, 'utf8')).trim() || undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };
  return {
    ref: file,
    async ensure(name, generate) {
      const target = file(name);
      const existing = await read(target);
      if (existing) return existing;
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await chmod(dir, 0o700);
      const temp = `${target}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
      await writeFile(temp, `${generate()}\n`, { mode: 0o600, flag: 'wx' });
      try {
        await link(temp, target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      } finally {
        await rm(temp, { force: true });
      }
      const stored = await read(target);
      if (!stored) throw new Error(`The password file ${target} is empty`);
      return stored;
    },
    async remove(name) {
      const target = file(name);
      const existed = (await read(target)) !== undefined;
      await rm(target, { force: true });
      return existed;
    },
  };
}
