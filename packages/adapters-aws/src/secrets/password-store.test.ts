import { DeleteSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createPostgresServerProvisioner } from '@mvp-pipeline/adapters-local';
import { databaseName } from '@mvp-pipeline/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  LOCAL_AWS,
  type SecretsManagerStandIn,
  startSecretsManagerStandIn,
} from '../testing/aws-stand-ins.js';
import { createSecretsManagerPasswordStore } from './password-store.js';

const NAME = 'mvp_job_abc_1a2b3c_app';

describe('the Secrets Manager password store', () => {
  let sm: SecretsManagerStandIn;
  let client: SecretsManagerClient;
  beforeEach(async () => {
    sm = await startSecretsManagerStandIn();
    client = new SecretsManagerClient({ ...LOCAL_AWS, endpoint: sm.endpoint, maxAttempts: 1 });
  });
  afterEach(async () => {
    client.destroy();
    await sm.close();
  });

  it('stores a generated password once, under the database’s name, and finds it again', async () => {
    const store = createSecretsManagerPasswordStore({}, { client });
    expect(store.ref(NAME)).toBe(`mvp/databases/${NAME}`);
    const first = await store.ensure(NAME, () => 'first-generated-password-0123456789');
    expect(first).toBe('first-generated-password-0123456789');
    let called = false;
    const again = await store.ensure(NAME, () => {
      called = true;
      return 'another-password';
    });
    expect(again).toBe(first);
    expect(called).toBe(false);
    const secret = sm.stored().get(`mvp/databases/${NAME}`);
    expect(secret).toMatchObject({
      value: first,
      tags: [{ Key: 'mvp-pipeline', Value: 'database-password' }],
    });
    // Spoken as the service speaks: JSON 1.1, signed, one target per operation.
    expect(sm.requests.map((r) => r.headers['x-amz-target'])).toEqual([
      'secretsmanager.GetSecretValue',
      'secretsmanager.CreateSecret',
      'secretsmanager.GetSecretValue',
      'secretsmanager.GetSecretValue',
    ]);
  });

  it('gives two racing attempts one password: the first stored wins', async () => {
    const store = createSecretsManagerPasswordStore({ prefix: 'staging/mvp/' }, { client });
    const [a, b] = await Promise.all([
      store.ensure(NAME, () => 'password-of-attempt-a-0123456789'),
      store.ensure(NAME, () => 'password-of-attempt-b-0123456789'),
    ]);
    expect(a).toBe(b);
    expect(sm.stored().get(`staging/mvp/${NAME}`)?.value).toBe(a);
    expect(
      sm.requests.filter((r) => r.headers['x-amz-target'] === 'secretsmanager.CreateSecret'),
    ).toHaveLength(2);
  });

  it('removes at once, so the name can be used again; removing nothing is false', async () => {
    const store = createSecretsManagerPasswordStore({}, { client });
    await store.ensure(NAME, () => 'to-be-removed-0123456789');
    expect(await store.remove(NAME)).toBe(true);
    expect(sm.stored().has(`mvp/databases/${NAME}`)).toBe(false);
    expect(await store.remove(NAME)).toBe(false);
    expect(await store.ensure(NAME, () => 'made-again-0123456789')).toBe('made-again-0123456789');
  });

  it('maps the service’s errors, never naming the password', async () => {
    const store = createSecretsManagerPasswordStore({}, { client });
    const password = 'never-in-a-message-0123456789';
    sm.failNext({ status: 400, code: 'AccessDeniedException', message: 'not allowed' });
    expect(await store.ensure(NAME, () => password).catch((e) => e)).toMatchObject({ code: 'PERMANENT' });
    sm.failNext({ status: 400, code: 'ResourceNotFoundException', message: 'none' });
    sm.failNext({ status: 400, code: 'AccessDeniedException', message: `denied creating ${NAME}` });
    const denied = await store.ensure(NAME, () => password).catch((e) => e);
    expect(denied).toMatchObject({ code: 'PERMANENT' });
    expect(denied.message).toContain('CreateSecret');
    expect(denied.message).not.toContain(password);
    sm.failNext({ status: 400, code: 'ThrottlingException', message: 'Rate exceeded' });
    expect(await store.ensure(NAME, () => password).catch((e) => e)).toMatchObject({ code: 'TRANSIENT' });
    // A secret scheduled for deletion blocks its name: not now, later.
    await store.ensure(NAME, () => password);
    await client.send(
      new DeleteSecretCommand({ SecretId: `mvp/databases/${NAME}`, RecoveryWindowInDays: 7 }),
    );
    const blocked = await store.ensure(NAME, () => password).catch((e) => e);
    expect(blocked).toMatchObject({ code: 'TRANSIENT' });
    expect(blocked.message).toMatch(/being deleted/);
    expect(() => store.ref('Not A Database')).toThrow(/database name/);
    expect(() => createSecretsManagerPasswordStore({ prefix: 'bad prefix!' }, { client })).toThrow(/prefix/);
  });

  describe.runIf(process.env['TEST_DATABASE_URL'])('behind the server provisioner', () => {
    it('keeps the password in Secrets Manager and the record only names the secret', async () => {
      const provisioner = createPostgresServerProvisioner({
        adminUrl: process.env['TEST_DATABASE_URL']!,
        passwords: createSecretsManagerPasswordStore({}, { client }),
      });
      const jobId = `job_sm_${Date.now().toString(36)}`;
      try {
        const db = await provisioner.provision({ jobId, purpose: 'app' });
        const password = decodeURIComponent(new URL(db.connectionUrl).password);
        const name = databaseName(jobId, 'app');
        expect(db.resource.secretRef).toBe(`mvp/databases/${name}`);
        expect(sm.stored().get(`mvp/databases/${name}`)?.value).toBe(password);
        expect(JSON.stringify(db.resource)).not.toContain(password);
        const again = await provisioner.provision({ jobId, purpose: 'app' });
        expect(again.connectionUrl).toBe(db.connectionUrl);
        expect(await provisioner.release({ jobId, purpose: 'app' })).toEqual({ removed: true });
        expect(sm.stored().has(`mvp/databases/${name}`)).toBe(false);
      } finally {
        await provisioner.release({ jobId, purpose: 'app' }).catch(() => undefined);
      }
    });
  });
});
