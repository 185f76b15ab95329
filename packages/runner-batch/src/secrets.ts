import { SECRET_VARIABLES } from './config.js';

type Env = Record<string, string | undefined>;

/**
 * The environment with secrets from Secrets Manager filled in: when `<NAME>_SECRET_ARN` is set for
 * a secret variable, its value is read once, at start, and the configuration sees it as if it were
 * set directly. Without any `_SECRET_ARN` nothing is loaded (no AWS client, no network).
 */
export async function withSecrets(env: Env): Promise<Env> {
  if (!SECRET_VARIABLES.some((name) => env[`${name}_SECRET_ARN`])) return env;
  const { loadSecrets, SECRET_NAMES } = await import('@mvp-pipeline/adapters-aws');
  const secrets = await loadSecrets({ env });
  const filled: Env = { ...env };
  for (const name of SECRET_NAMES) {
    const value = secrets.get(name);
    if (value !== undefined) filled[name] = value;
  }
  return filled;
}
