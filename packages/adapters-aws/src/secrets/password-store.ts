import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { PermanentError, type Redactor, TransientError, ValidationError } from '@mvp-pipeline/core';
import { awsErrorName, toPipelineAwsError } from '../aws-errors.js';

/**
 * The shape of the database provisioners' password store (adapters-local's `PasswordStore`):
 * where a generated password is kept, so a retried job finds its own and a record holds only a
 * reference to it.
 */
export interface SecretsManagerPasswordStore {
  /** The secret's name for `name` (what the record's `secretRef` says). */
  ref(name: string): string;
  /** The stored password of `name`, storing `generate()` first when there is none (the first writer wins). */
  ensure(name: string, generate: () => string): Promise<string>;
  /** Deletes the secret at once (no recovery window); false when there was none. */
  remove(name: string): Promise<boolean>;
  /** Releases the client it made itself (not one it was given). */
  close(): Promise<void>;
}

export interface SecretsManagerPasswordStoreSettings {
  /**
   * Secret names are `<prefix><name>` (MVP_SECRET_PREFIX). Default `mvp/databases/`: apart from
   * the operator's own secrets, so the runner's delete right can be limited to it.
   */
  prefix?: string;
  /** The KMS key the secrets are encrypted with; default the account's `aws/secretsmanager` key. */
  kmsKeyId?: string;
  /** The region of the client it makes (AWS_REGION otherwise). */
  region?: string;
}

export interface SecretsManagerPasswordStoreDeps {
  /** Default: one from the environment (AWS_REGION, AWS_ENDPOINT_URL_SECRETS_MANAGER…). */
  client?: SecretsManagerClient;
  redact?: Redactor;
}

/** Database names (`databaseName(jobId, purpose)`): what a secret may be named after. */
const NAME = /^[a-z0-9_]{1,63}$/;
const PREFIX = /^[A-Za-z0-9/_+=.@-]{0,128}$/;

/**
 * Database passwords as Secrets Manager secrets, one per database: `<prefix><name>` (e.g.
 * `mvp/databases/mvp_job_abc123_1a2b3c_app`, the database name holding the job's id), its SecretString the
 * password, tagged `mvp-pipeline: database-password`.
 *
 * - `ensure` reads the secret; when there is none it creates it with `generate()`, and when a
 *   racing attempt created it first (ResourceExistsException) reads theirs: both get one password.
 * - `remove` deletes it without a recovery window, so a job provisioned again after a clean-up can
 *   create it anew (a secret scheduled for deletion blocks its name).
 * - Errors: TransientError for throttling, 5xx, the network, and a name still being deleted;
 *   PermanentError for access denied, KMS refusing, and the rest. Messages name the secret, never
 *   its value (the SDK's errors carry no request body).
 */
export function createSecretsManagerPasswordStore(
  settings: SecretsManagerPasswordStoreSettings = {},
  deps: SecretsManagerPasswordStoreDeps = {},
): SecretsManagerPasswordStore {
  const prefix = settings.prefix ?? 'mvp/databases/';
  if (!PREFIX.test(prefix)) {
    throw new ValidationError('Secrets Manager password store settings', [
      { path: 'prefix', message: 'must be at most 128 of A-Z a-z 0-9 / _ + = . @ -' },
    ]);
  }
  const client = deps.client ?? new SecretsManagerClient(settings.region ? { region: settings.region } : {});
  const secretName = (name: string) => {
    if (!NAME.test(name)) {
      throw new ValidationError('password name', [{ path: 'name', message: 'must be a database name' }]);
    }
    return `${prefix}${name}`;
  };
  const fail = (operation: string, error: unknown) =>
    toPipelineAwsError(error, { operation, ...(deps.redact ? { redact: deps.redact } : {}) });

  /** The secret's value, or undefined when there is no such secret. */
  async function read(id: string): Promise<string | undefined> {
    try {
      const result = await client.send(new GetSecretValueCommand({ SecretId: id }));
      if (!result.SecretString)
        throw new PermanentError(`The secret ${id} holds no password (no SecretString)`);
      return result.SecretString;
    } catch (error) {
      const name = awsErrorName(error);
      if (name === 'ResourceNotFoundException') return undefined;
      if (name === 'InvalidRequestException') throw deleting(id);
      if (error instanceof PermanentError) throw error;
      throw fail(`Secrets Manager GetSecretValue of ${id}`, error);
    }
  }
  const deleting = (id: string) =>
    new TransientError(`The secret ${id} is being deleted: provisioning can create it again once it is gone`);

  return {
    ref: secretName,

    async ensure(name, generate) {
      const id = secretName(name);
      const existing = await read(id);
      if (existing) return existing;
      try {
        await client.send(
          new CreateSecretCommand({
            Name: id,
            SecretString: generate(),
            Description: 'The password of an MVP database role (made by the mvp pipeline)',
            Tags: [{ Key: 'mvp-pipeline', Value: 'database-password' }],
            ...(settings.kmsKeyId ? { KmsKeyId: settings.kmsKeyId } : {}),
          }),
        );
      } catch (error) {
        const code = awsErrorName(error);
        if (code === 'InvalidRequestException') throw deleting(id);
        // Another attempt stored one first: theirs is the password.
        if (code !== 'ResourceExistsException') throw fail(`Secrets Manager CreateSecret ${id}`, error);
      }
      const stored = await read(id);
      if (!stored) throw new TransientError(`The secret ${id} was created but cannot be read yet`);
      return stored;
    },

    async remove(name) {
      const id = secretName(name);
      try {
        await client.send(new DeleteSecretCommand({ SecretId: id, ForceDeleteWithoutRecovery: true }));
        return true;
      } catch (error) {
        if (awsErrorName(error) === 'ResourceNotFoundException') return false;
        throw fail(`Secrets Manager DeleteSecret ${id}`, error);
      }
    },

    async close() {
      if (!deps.client) client.destroy();
    },
  };
}
