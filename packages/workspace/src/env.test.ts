import { describe, expect, it } from 'vitest';
import { isSecretVariable, safeEnv } from './env.js';

describe('safeEnv', () => {
  it('passes PATH, a HOME of ours, LANG, TZ, NODE_ENV and the extras', () => {
    const env = safeEnv({ CI: '1', NODE_ENV: 'test' });
    expect(Object.keys(env).sort()).toEqual(['CI', 'HOME', 'LANG', 'NODE_ENV', 'PATH', 'TZ']);
    expect(env['PATH']).toBe(process.env['PATH']);
    expect(env['HOME']).not.toBe(process.env['HOME']);
    expect(env['TZ']).toBe('UTC');
    expect(env['NODE_ENV']).toBe('test');
  });

  it('never carries the parent environment, and drops secret-looking extras', () => {
    process.env['GITHUB_TOKEN'] = 'ghp_' + 'parentSecretValue000000000000000';
    process.env['SOME_HARMLESS_VAR'] = 'x';
    try {
      const env = safeEnv({
        NPM_TOKEN: 't',
        ANTHROPIC_API_KEY: 'k',
        MY_SECRET: 's',
        AWS_REGION: 'eu-west-1',
        FOUNDERDASH_DB_URL: 'postgres://u:p@host/db',
        PUBLIC_URL: 'https://example.com/',
      });
      expect(env['GITHUB_TOKEN']).toBeUndefined();
      expect(env['SOME_HARMLESS_VAR']).toBeUndefined();
      expect(Object.keys(env)).not.toContain('NPM_TOKEN');
      expect(Object.keys(env)).not.toContain('ANTHROPIC_API_KEY');
      expect(Object.keys(env)).not.toContain('MY_SECRET');
      expect(Object.keys(env)).not.toContain('AWS_REGION');
      expect(Object.keys(env)).not.toContain('FOUNDERDASH_DB_URL');
      expect(env['PUBLIC_URL']).toBe('https://example.com/');
    } finally {
      delete process.env['GITHUB_TOKEN'];
      delete process.env['SOME_HARMLESS_VAR'];
    }
  });

  it('classifies secret variables by name and by credentials in URLs', () => {
    expect(isSecretVariable('VERCEL_TOKEN', 'x')).toBe(true);
    expect(isSecretVariable('AWS_SECRET_ACCESS_KEY', 'x')).toBe(true);
    expect(isSecretVariable('DATABASE', 'postgres://user:pw@db/x')).toBe(true);
    expect(isSecretVariable('MONKEY', 'banana')).toBe(false);
    expect(isSecretVariable('GITHUB_API_URL', 'https://api.github.com')).toBe(false);
  });
});
