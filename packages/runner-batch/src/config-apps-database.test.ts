import { describe, expect, it } from 'vitest';
import { ConfigErrors, loadConfig, secretsOf } from './config.js';

describe("loadConfig: the MVPs' databases", () => {
  it('chooses by itself when nothing is set', () => {
    expect(loadConfig({}, '/srv').appsDatabase).toEqual({ provisioner: 'auto', adminUrl: undefined });
  });

  it('takes an admin URL, as a secret', () => {
    const adminUrl = 'postgresql://admin:s3cret-admin@db.internal:5432/postgres';
    const config = loadConfig(
      { MVP_DATABASE_PROVISIONER: 'server', MVP_APPS_DATABASE_URL: adminUrl },
      '/srv',
    );
    expect(config.appsDatabase).toEqual({ provisioner: 'server', adminUrl });
    expect(secretsOf(config)).toContain(adminUrl);
  });

  it('takes pglite, the databases of a machine with only Node.js', () => {
    expect(loadConfig({ MVP_DATABASE_PROVISIONER: 'pglite' }, '/srv').appsDatabase).toEqual({
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
    expect(problems({ MVP_DATABASE_PROVISIONER: 'neon' })).toMatch(
      /MVP_DATABASE_PROVISIONER: must be one of/,
    );
    const message = problems({ MVP_APPS_DATABASE_URL: 'mysql://root:hunter22@db/x' });
    expect(message).toMatch(/MVP_APPS_DATABASE_URL: must be a postgresql:\/\/ URL/);
    expect(message).not.toContain('hunter22');
  });
});
