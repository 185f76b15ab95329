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
