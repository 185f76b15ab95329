import { describe, expect, it } from 'vitest';
import { createRedactor, createSecretRegistry, REDACTED, redactValue } from './redact.js';

describe('the redaction helper', () => {
  const redact = createRedactor(['s3cr3t-value-123', undefined, 'abc']);

  it('removes registered secrets and known token shapes', () => {
    const text = [
      'token s3cr3t-value-123 in text',
      'key sk-ant-' + 'api03-abcdefghijklmnop',
      'gh ghp_' + 'abcdefghijklmnopqrstuvwxyz0123456789',
      'aws AKIA' + 'ABCDEFGHIJKLMNOP',
      'db postgres://app:hunter2pass@db.internal:5432/app',
      'header Authorization: Bearer abcdef123456789',
    ].join('\n');
    const out = redact(text);
    for (const secret of [
      's3cr3t-value-123',
      'sk-ant-api03',
      'ghp_abc',
      'AKIAABCD',
      'hunter2pass',
      'abcdef123456789',
    ]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain(REDACTED);
    expect(out).toContain('postgres://app:');
  });

  it('leaves short values alone rather than mangling text', () => {
    expect(redact('abc is a word')).toBe('abc is a word');
  });

  it('redacts inside nested values and errors', () => {
    const value = redactValue({ a: ['x s3cr3t-value-123'], e: new Error('boom s3cr3t-value-123') }, redact);
    expect(JSON.stringify(value)).not.toContain('s3cr3t');
  });
});

describe('the secret registry', () => {
  it('redacts secrets added after it was made, and the ones it started with', () => {
    const registry = createSecretRegistry(['initial-secret']);
    const password = 'generated-pw-5f3a9c';
    expect(registry.redact(`a ${password} b`)).toBe(`a ${password} b`);
    registry.add(password);
    registry.add(undefined);
    expect(registry.redact(`a ${password} b initial-secret`)).toBe(`a ${REDACTED} b ${REDACTED}`);
  });
});
