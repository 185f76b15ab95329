// Databases for the MVPs on this machine: the DatabaseProvisioner over a PostgreSQL server we
// administer, over an embedded cluster the runner starts and stops itself, or over PGlite
// data dirs; createLocalDatabaseProvisioner picks one as configured.
export {
  createEmbeddedPostgres,
  createEmbeddedPostgresProvisioner,
  type EmbeddedPostgres,
  type EmbeddedPostgresProvisionerSettings,
  type EmbeddedPostgresSettings,
  findPostgresBinaries,
} from './embedded-postgres.js';
export { toDatabaseError, urlSecrets } from './errors.js';
export {
  createLocalDatabaseProvisioner,
  type LocalDatabase,
  type LocalDatabaseKind,
  type LocalDatabaseMode,
  type LocalDatabaseSettings,
} from './local-database.js';
export { createFilePasswordStore, generatePassword, type PasswordStore } from './password-store.js';
export {
  createPgliteProvisioner,
  PGLITE_PROVIDER,
  type PgliteProvisioner,
  type PgliteProvisionerSettings,
} from './pglite.js';
export {
  createPostgresServerProvisioner,
  DEFAULT_CONNECTION_LIMIT,
  DEFAULT_ROLE_STATEMENT_TIMEOUT_MS,
  type PostgresServerProvisionerSettings,
} from './postgres-server.js';
export { scramVerifier } from './scram.js';
