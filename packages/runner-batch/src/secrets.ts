import { SECRET_VARIABLES } from './config.js';

/** What `<NAME>_SECRET_ARN` may name: the secrets, and the CAs kept beside their URLs (not secret). */
const FROM_SECRETS_MANAGER = [...SECRET_VARIABLES, 'FOUNDERDASH_DB_CA', 'MVP_APPS_DATABASE_CA'];

type Env = Record<string, string | undefined>;

/**
 * Makes what the runner writes from now on private to its user (umask 077: job records, logs,
 * workspaces), so the commands it runs under their own uids cannot read them. Called with the
 * secrets, at the start of every runner command.
 */
export function makeRunnerFilesPrivate(): void {
  process.umask(0o077);
}

/**
 * The environment with secrets from Secrets Manager filled in: when `<NAME>_SECRET_ARN` is set for
 * a secret variable, its value is read once, at start, and the configuration sees it as if it were
 * set directly. Without any `_SECRET_ARN` nothing is loaded (no AWS client, no network). The values
 * stay in the returned object (the runner's memory), never in `process.env` nor in any environment
 * of a process; the image gets only the ARNs (infra/src/stack.ts). Makes the runner's files private.
 */
export async function withSecrets(env: Env): Promise<Env> {
  makeRunnerFilesPrivate();
  if (!FROM_SECRETS_MANAGER.some((name) => env[`${name}_SECRET_ARN`])) return env;
  const { loadSecrets, SECRET_NAMES } = await import('@mvp-pipeline/adapters-aws');
  const secrets = await loadSecrets({ env });
  const filled: Env = { ...env };
  for (const name of SECRET_NAMES) {
    const value = secrets.get(name);
    if (value !== undefined) filled[name] = value;
  }
  return filled;
}
