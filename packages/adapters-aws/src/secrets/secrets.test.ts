import { inspect } from 'node:util';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  LOCAL_AWS,
  type SecretsManagerStandIn,
  startSecretsManagerStandIn,
} from '../testing/aws-stand-ins.js';
import { loadSecrets } from './secrets.js';

const ARN = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
const GITHUB = 'ghp_' + 'fromSecretsManager0123456789abcdef';
const DB_URL = 'postgres://app:s3cr3t-passw0rd@db.internal:5432/founderdash';
const DB_CA = '-----BEGIN CERTIFICATE-----\nMIIBdatabaseCA\n-----END CERTIFICATE-----\n';

describe('loadSecrets', () => {
  let sm: SecretsManagerStandIn;
  let client: SecretsManagerClient;
  beforeEach(async () => {
    sm = await startSecretsManagerStandIn({
      [ARN('github')]: GITHUB,
      [ARN('bundle')]: JSON.stringify({
        FOUNDERDASH_DB_URL: DB_URL,
        FOUNDERDASH_DB_CA: DB_CA,
        VERCEL_TOKEN: 'vercel-token-from-bundle',
      }),
    });
    client = new SecretsManagerClient({ ...LOCAL_AWS, endpoint: sm.endpoint, maxAttempts: 1 });
  });
  afterEach(async () => {
    client.destroy();
    await sm.close();
  });

  it('reads plain environment variables when no ARN is given, without calling AWS', async () => {
    const secrets = await loadSecrets({ env: { ANTHROPIC_API_KEY: 'sk-ant-env-key-123456' }, client });
    expect(secrets.get('ANTHROPIC_API_KEY')).toBe('sk-ant-env-key-123456');
    expect(secrets.get('GITHUB_TOKEN')).toBeUndefined();
    expect(secrets.sources).toMatchObject({ ANTHROPIC_API_KEY: 'env', GITHUB_TOKEN: 'unset' });
    expect(sm.requests).toHaveLength(0);
  });

  it('reads the database CA from FOUNDERDASH_DB_CA_SECRET_ARN, a JSON bundle key like the URL', async () => {
    const secrets = await loadSecrets({ env: { FOUNDERDASH_DB_CA_SECRET_ARN: ARN('bundle') }, client });
    expect(secrets.get('FOUNDERDASH_DB_CA')).toBe(DB_CA);
    expect(secrets.sources).toMatchObject({
      FOUNDERDASH_DB_CA: 'secrets-manager',
      FOUNDERDASH_DB_URL: 'unset',
    });
  });

  it('reads <NAME>_SECRET_ARN from Secrets Manager (over <NAME>), JSON bundles by key, each ARN once', async () => {
    const secrets = await loadSecrets({
      env: {
        GITHUB_TOKEN: 'ignored-because-the-arn-wins',
        GITHUB_TOKEN_SECRET_ARN: ARN('github'),
        FOUNDERDASH_DB_URL_SECRET_ARN: ARN('bundle'),
        VERCEL_TOKEN_SECRET_ARN: ARN('bundle'),
      },
      client,
    });
    expect(secrets.get('GITHUB_TOKEN')).toBe(GITHUB);
    expect(secrets.get('FOUNDERDASH_DB_URL')).toBe(DB_URL);
    expect(secrets.get('VERCEL_TOKEN')).toBe('vercel-token-from-bundle');
    expect(secrets.sources).toMatchObject({
      GITHUB_TOKEN: 'secrets-manager',
      VERCEL_TOKEN: 'secrets-manager',
    });
    expect(sm.requests).toHaveLength(2);
    expect(sm.requests.map((r) => r.headers['x-amz-target'])).toEqual([
      'secretsmanager.GetSecretValue',
      'secretsmanager.GetSecretValue',
    ]);
  });

  it('never shows a value when printed or serialised, and redacts every value', async () => {
    const secrets = await loadSecrets({
      env: { GITHUB_TOKEN_SECRET_ARN: ARN('github'), FOUNDERDASH_DB_URL_SECRET_ARN: ARN('bundle') },
      client,
    });
    for (const shown of [JSON.stringify(secrets), inspect(secrets), String(inspect(secrets, { depth: 9 }))]) {
      expect(shown).not.toContain(GITHUB);
      expect(shown).not.toContain('s3cr3t-passw0rd');
      expect(shown).toContain('GITHUB_TOKEN');
    }
    expect(secrets.redact(`push with ${GITHUB} to ${DB_URL}`)).not.toMatch(/fromSecretsManager|s3cr3t/);
  });

  it('names the variable when the secret is missing or not readable, without any value', async () => {
    const missing = await loadSecrets({ env: { VERCEL_TOKEN_SECRET_ARN: ARN('gone') }, client }).catch(
      (e) => e,
    );
    expect(missing).toMatchObject({ code: 'CONFIG', variable: 'VERCEL_TOKEN_SECRET_ARN' });
    expect(missing.message).toMatch(/ResourceNotFoundException/);
    sm.failNext({
      status: 400,
      code: 'AccessDeniedException',
      message: 'not authorized to perform GetSecretValue',
    });
    const denied = await loadSecrets({ env: { GITHUB_TOKEN_SECRET_ARN: ARN('github') }, client }).catch(
      (e) => e,
    );
    expect(denied).toMatchObject({ code: 'CONFIG', variable: 'GITHUB_TOKEN_SECRET_ARN' });
    expect(denied.message).not.toContain(GITHUB);
  });

  it('reports throttling as transient', async () => {
    sm.failNext({ status: 400, code: 'ThrottlingException', message: 'Rate exceeded' });
    const error = await loadSecrets({ env: { GITHUB_TOKEN_SECRET_ARN: ARN('github') }, client }).catch(
      (e) => e,
    );
    expect(error.code).toBe('TRANSIENT');
  });
});
