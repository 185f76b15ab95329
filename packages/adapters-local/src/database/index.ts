// Databases for the MVPs on this machine: the DatabaseProvisioner over a PostgreSQL server we
// administer, or over an embedded cluster the runner starts and stops itself.
export {
  createEmbeddedPostgres,
  createEmbeddedPostgresProvisioner,
  type EmbeddedPostgres,
  type EmbeddedPostgresProvisionerSettings,
  type EmbeddedPostgresSettings,
  findPostgresBinaries,
} from './embedded-postgres.js';
export { toDatabaseError, urlSecrets } from './errors.js';
export { createFilePasswordStore, generatePassword, type PasswordStore } from './password-store.js';
export {
  createPostgresServerProvisioner,
  DEFAULT_CONNECTION_LIMIT,
  type PostgresServerProvisionerSettings,
} from './postgres-server.js';
export { scramVerifier } from './scram.js';
