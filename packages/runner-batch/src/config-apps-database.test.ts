import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigErrors, loadConfig, secretsOf } from './config.js';

describe("loadConfig: the MVPs' databases", () => {
  it('chooses by itself when nothing is set', () => {
    expect(loadConfig({}, '/srv').appsDatabase).toEqual({
      provisioner: 'auto',
      adminUrl: undefined,
      ca: undefined,
      poolUrl: undefined,
    });
  });

  it('takes an admin URL, as a secret', () => {
    const adminUrl = 'postgresql://admin:s3cret-admin@db.internal:5432/postgres';
    const config = loadConfig(
      { MVP_DATABASE_PROVISIONER: 'server', MVP_APPS_DATABASE_URL: adminUrl },
      '/srv',
    );
    expect(config.appsDatabase).toMatchObject({ provisioner: 'server', adminUrl });
    expect(secretsOf(config)).toContain(adminUrl);
  });

  it("takes neon, its API key as a secret, and Neon's API unless NEON_API_URL says otherwise", () => {
    const apiKey = 'napi_s3cret-neon-key';
    const config = loadConfig(
      { MVP_DATABASE_PROVISIONER: 'neon', NEON_API_KEY: apiKey, NEON_REGION_ID: 'aws-eu-central-1' },
      '/srv',
    );
    expect(config.appsDatabase.provisioner).toBe('neon');
    expect(config.neon).toEqual({ apiKey, apiUrl: undefined, regionId: 'aws-eu-central-1' });
    expect(secretsOf(config)).toContain(apiKey);
    const local = loadConfig(
      { MVP_DATABASE_PROVISIONER: 'neon', NEON_API_KEY: apiKey, NEON_API_URL: 'http://127.0.0.1:9/api/v2' },
      '/srv',
    );
    expect(local.neon.apiUrl).toBe('http://127.0.0.1:9/api/v2');
  });

  it('takes pglite, the databases of a machine with only Node.js', () => {
    expect(loadConfig({ MVP_DATABASE_PROVISIONER: 'pglite' }, '/srv').appsDatabase).toMatchObject({
      provisioner: 'pglite',
      adminUrl: undefined,
    });
  });

  it('names what is missing or malformed without echoing the URL', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env, '/srv');
        return '';
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigErrors);
        return (error as Error).message;
      }
    };
    expect(problems({ MVP_DATABASE_PROVISIONER: 'server' })).toMatch(
      /MVP_APPS_DATABASE_URL: is required when MVP_DATABASE_PROVISIONER=server/,
    );
    expect(problems({ MVP_DATABASE_PROVISIONER: 'mysql' })).toMatch(
      /MVP_DATABASE_PROVISIONER: must be one of/,
    );
    expect(problems({ MVP_DATABASE_PROVISIONER: 'neon' })).toMatch(
      /NEON_API_KEY: is required when MVP_DATABASE_PROVISIONER=neon/,
    );
    const message = problems({ MVP_APPS_DATABASE_URL: 'mysql://root:hunter22@db/x' });
    expect(message).toMatch(/MVP_APPS_DATABASE_URL: must be a postgresql:\/\/ URL/);
    expect(message).not.toContain('hunter22');
  });
});

describe("loadConfig: the MVPs' database server in production", () => {
  const adminUrl = 'postgresql://doadmin:s3cret-admin@db.internal:25060/defaultdb?sslmode=require';
  const CA = '-----BEGIN CERTIFICATE-----\nMIIBtestCA\n-----END CERTIFICATE-----\n';

  it('takes the CA as its text or as a file, and the pooler’s URL', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'mvp-ca-'));
    writeFileSync(join(dir, 'ca.pem'), CA);
    const env = {
      MVP_APPS_DATABASE_URL: adminUrl,
      MVP_APPS_DATABASE_POOL_URL: 'postgresql://pool.internal:25061',
    };
    expect(loadConfig({ ...env, MVP_APPS_DATABASE_CA: CA }, dir).appsDatabase).toEqual({
      provisioner: 'auto',
      adminUrl,
      ca: CA.trim(),
      poolUrl: 'postgresql://pool.internal:25061',
    });
    expect(loadConfig({ ...env, MVP_APPS_DATABASE_CA: 'ca.pem' }, dir).appsDatabase.ca).toBe(CA);
  });

  it('names a CA it cannot read, a bad pool URL, and settings without a server', () => {
    const message = (env: Record<string, string>) => {
      try {
        loadConfig(env, '/srv');
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(message({ MVP_APPS_DATABASE_URL: adminUrl, MVP_APPS_DATABASE_CA: '/nowhere/ca.pem' })).toMatch(
      /MVP_APPS_DATABASE_CA: must be a PEM certificate or the path of one; \/nowhere\/ca.pem cannot be read \(ENOENT\)/,
    );
    expect(message({ MVP_APPS_DATABASE_URL: adminUrl, MVP_APPS_DATABASE_POOL_URL: 'pool:25061' })).toMatch(
      /MVP_APPS_DATABASE_POOL_URL: must be a postgresql:\/\/host:port URL/,
    );
    expect(message({ MVP_APPS_DATABASE_CA: CA })).toMatch(
      /MVP_APPS_DATABASE_CA: is used with MVP_APPS_DATABASE_URL only/,
    );
  });
});

describe('loadConfig: where database passwords are kept', () => {
  const adminUrl = 'postgresql://doadmin:s3cret-admin@db.internal:25060/defaultdb';
  it('keeps them in files by default, in Secrets Manager when asked', () => {
    expect(loadConfig({}, '/srv').secretStore).toEqual({ kind: 'file', prefix: 'mvp/databases/' });
    const env = {
      MVP_APPS_DATABASE_URL: adminUrl,
      MVP_SECRET_STORE: 'secrets-manager',
      MVP_SECRET_PREFIX: 'staging/mvp/',
      AWS_REGION: 'eu-west-1',
    };
    expect(loadConfig(env, '/srv').secretStore).toEqual({ kind: 'secrets-manager', prefix: 'staging/mvp/' });
  });

  it('names what Secrets Manager needs', () => {
    const message = (env: Record<string, string>) => {
      try {
        loadConfig(env, '/srv');
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    };
    const problems = message({ MVP_SECRET_STORE: 'secrets-manager', MVP_SECRET_PREFIX: 'no spaces' });
    expect(problems).toMatch(/AWS_REGION: is required when MVP_SECRET_STORE=secrets-manager/);
    expect(problems).toMatch(
      /MVP_SECRET_STORE: secrets-manager keeps the passwords of the server provisioner/,
    );
    expect(problems).toMatch(/MVP_SECRET_PREFIX: must be/);
    expect(message({ MVP_SECRET_STORE: 'vault' })).toMatch(
      /MVP_SECRET_STORE: must be one of file, secrets-manager/,
    );
  });
});

describe('loadConfig: app jobs on this machine', () => {
  it('defaults to the app template, a cache under the data dir and ports 4400-4499', () => {
    const config = loadConfig({ MVP_DATA_DIR: '/srv/data' }, '/srv');
    expect(config.template).toBe('app');
    expect(config.cacheDir).toBe('/srv/data/cache');
    expect(config.appPorts).toEqual({ first: 4400, last: 4499 });
  });

  it('takes a cache dir and a port range, and names a bad range', () => {
    const config = loadConfig({ MVP_CACHE_DIR: 'shared', MVP_APP_PORTS: '5000-5009' }, '/srv');
    expect(config.cacheDir).toBe('/srv/shared');
    expect(config.appPorts).toEqual({ first: 5000, last: 5009 });
    for (const bad of ['5009-5000', '80-90', 'many'])
      expect(() => loadConfig({ MVP_APP_PORTS: bad }, '/srv')).toThrow(/MVP_APP_PORTS: must be a port range/);
  });
});
