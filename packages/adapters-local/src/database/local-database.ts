import path from 'node:path';
import { type DatabaseProvisioner, PermanentError, ValidationError } from '@mvp-pipeline/core';
import { createEmbeddedPostgresProvisioner, findPostgresBinaries } from './embedded-postgres.js';
import { createFilePasswordStore, type PasswordStore } from './password-store.js';
import { createPgliteProvisioner } from './pglite.js';
import { createPostgresServerProvisioner } from './postgres-server.js';

export type LocalDatabaseMode = 'auto' | 'server' | 'embedded' | 'pglite';
export type LocalDatabaseKind = 'server' | 'embedded' | 'pglite';

export interface LocalDatabaseSettings {
  mode: LocalDatabaseMode;
  /** The server to administer (`MVP_APPS_DATABASE_URL`, a secret); required for `server`. */
  adminUrl?: string | undefined;
  /** `server` only: the PEM CA the server's certificate chains to (`MVP_APPS_DATABASE_CA`). */
  ca?: string | undefined;
  /** `server` only: the pooler the apps connect through (`MVP_APPS_DATABASE_POOL_URL`). */
  poolUrl?: string | undefined;
  /**
   * The databases' folder (`<data dir>/databases`): `server/passwords`, `embedded` (the cluster)
   * or `pglite` under it, so switching modes never mixes their files.
   */
  dir: string;
  registerSecret?: (value: string) => void;
  /**
   * `server` only: where generated passwords are kept (default 0600 files under
   * `<dir>/server/passwords`; a secrets manager in production, `MVP_SECRET_STORE`).
   */
  passwords?: PasswordStore | undefined;
  /** The folder of initdb and pg_ctl (default: found in PATH, then the usual Debian places). */
  binDir?: string;
}

export interface LocalDatabase {
  provisioner: DatabaseProvisioner;
  /** Stops what the provisioner started (the embedded cluster, the PGlite servers). */
  close(): Promise<void>;
  kind: LocalDatabaseKind;
}

/**
 * The MVPs' databases on this machine, as configured: `server` administers `adminUrl`;
 * `embedded` runs an initdb cluster under `dir` (PostgreSQL's server programs needed);
 * `pglite` serves PGlite data dirs (Node.js only); `auto` picks the first that can work, in
 * that order. Nothing starts until the first provision.
 */
export function createLocalDatabaseProvisioner(settings: LocalDatabaseSettings): LocalDatabase {
  const dir = path.resolve(settings.dir);
  const secrets = settings.registerSecret ? { registerSecret: settings.registerSecret } : {};
  const kind = chooseKind(settings);
  switch (kind) {
    case 'server': {
      if (!settings.adminUrl) {
        throw new PermanentError(
          'The server database provisioner needs the admin URL of a PostgreSQL server',
        );
      }
      const provisioner = createPostgresServerProvisioner({
        adminUrl: settings.adminUrl,
        passwords:
          settings.passwords ?? createFilePasswordStore({ dir: path.join(dir, 'server', 'passwords') }),
        ...(settings.ca ? { ca: settings.ca } : {}),
        ...(settings.poolUrl ? { poolUrl: settings.poolUrl } : {}),
        ...secrets,
      });
      // Nothing of ours runs: the server is someone else's.
      return { kind, provisioner, close: async () => undefined };
    }
    case 'embedded': {
      const binDir = findPostgresBinaries(settings.binDir);
      if (!binDir) {
        throw new PermanentError(
          `The embedded database provisioner needs PostgreSQL's server programs initdb and pg_ctl: no folder of ${settings.binDir ?? 'PATH, /usr/lib/postgresql/15-17/bin'} holds both. Install them (apt-get install postgresql) or use pglite`,
        );
      }
      const provisioner = createEmbeddedPostgresProvisioner({
        dir: path.join(dir, 'embedded'),
        binDir,
        ...secrets,
      });
      return { kind, provisioner, close: () => provisioner.close() };
    }
    case 'pglite': {
      const provisioner = createPgliteProvisioner({ dir: path.join(dir, 'pglite'), ...secrets });
      return { kind, provisioner, close: () => provisioner.close() };
    }
  }
}

const KINDS: readonly string[] = ['server', 'embedded', 'pglite'];

function chooseKind(settings: LocalDatabaseSettings): LocalDatabaseKind {
  if (KINDS.includes(settings.mode)) return settings.mode as LocalDatabaseKind;
  if (settings.mode !== 'auto') {
    throw new ValidationError('local database settings', [
      { path: 'mode', message: 'must be auto, server, embedded or pglite' },
    ]);
  }
  if (settings.adminUrl) return 'server';
  return findPostgresBinaries(settings.binDir) ? 'embedded' : 'pglite';
}
