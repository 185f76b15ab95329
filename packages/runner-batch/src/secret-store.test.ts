import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { databaseName } from '@mvp-pipeline/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The stand-in is adapters-aws's own test code (not part of its published API).
import {
  LOCAL_AWS,
  type SecretsManagerStandIn,
  startSecretsManagerStandIn,
} from '../../adapters-aws/src/testing/aws-stand-ins.js';
import { loadConfig } from './config.js';
import { createPipeline } from './container.js';
import { withSecrets } from './secrets.js';

/**
 * MVP_SECRET_STORE=secrets-manager as the runner wires it: the server provisioner keeps each MVP's
 * password in Secrets Manager (the SDK pointed at the stand-in by the vendor's own variables), the
 * record's reference names the secret, and no password file is written.
 */
describe.runIf(process.env['TEST_DATABASE_URL'])('MVP_SECRET_STORE=secrets-manager', () => {
  let sm: SecretsManagerStandIn;
  let dataDir: string;
  const saved = { ...process.env };
  beforeAll(async () => {
    sm = await startSecretsManagerStandIn();
    dataDir = await mkdtemp(join(tmpdir(), 'mvp-secret-store-'));
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
      AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
    });
  });
  afterAll(async () => {
    process.env = saved;
    await sm.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps the MVP database passwords in Secrets Manager, and the record names the secret', async () => {
    const config = loadConfig({
      MVP_DATA_DIR: dataDir,
      MVP_APPS_DATABASE_URL: process.env['TEST_DATABASE_URL'],
      MVP_SECRET_STORE: 'secrets-manager',
      MVP_SECRET_PREFIX: 'test/mvp/',
      AWS_REGION: LOCAL_AWS.region,
    });
    const pipeline = await createPipeline({ config });
    const databases = pipeline.deps.ports.databases!;
    const jobId = `job_store_${Date.now().toString(36)}`;
    const name = databaseName(jobId, 'app');
    try {
      const db = await databases.provision({ jobId, purpose: 'app' });
      const password = decodeURIComponent(new URL(db.connectionUrl).password);
      expect(db.resource.secretRef).toBe(`test/mvp/${name}`);
      expect(sm.stored().get(`test/mvp/${name}`)?.value).toBe(password);
      expect(existsSync(join(dataDir, 'databases', 'server', 'passwords'))).toBe(false);
      expect(pipeline.redact(`url ${db.connectionUrl}`)).not.toContain(password);
      expect(await databases.release({ jobId, purpose: 'app' })).toEqual({ removed: true });
      expect(sm.stored().has(`test/mvp/${name}`)).toBe(false);
    } finally {
      await databases.release({ jobId, purpose: 'app' }).catch(() => undefined);
      await pipeline.close();
    }
  });
});

describe("the MVPs' database server from Secrets Manager", () => {
  it('reads the admin URL and the CA from Secrets Manager by their _SECRET_ARN, the CA alone too', async () => {
    const ca = '-----BEGIN CERTIFICATE-----\nMIIBappsCA\n-----END CERTIFICATE-----';
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:apps-db-AbCdEf';
    const local = await startSecretsManagerStandIn({
      [arn]: JSON.stringify({
        MVP_APPS_DATABASE_URL: 'postgresql://admin:pw-from-sm@db:25060/x',
        MVP_APPS_DATABASE_CA: ca,
      }),
    });
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_REGION: LOCAL_AWS.region,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: local.endpoint,
      AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
    });
    try {
      const both = await withSecrets({
        MVP_APPS_DATABASE_URL_SECRET_ARN: arn,
        MVP_APPS_DATABASE_CA_SECRET_ARN: arn,
      });
      expect(both['MVP_APPS_DATABASE_URL']).toBe('postgresql://admin:pw-from-sm@db:25060/x');
      expect(both['MVP_APPS_DATABASE_CA']).toBe(ca);
      const caOnly = await withSecrets({ MVP_APPS_DATABASE_CA_SECRET_ARN: arn });
      expect(caOnly['MVP_APPS_DATABASE_CA']).toBe(ca);
    } finally {
      process.env = saved;
      await local.close();
    }
  });
});
