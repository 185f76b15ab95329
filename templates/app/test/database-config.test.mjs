import assert from 'node:assert/strict';
import { test } from 'node:test';
import { databaseConfig } from '../lib/database-config.mjs';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

test('uses DATABASE_URL as it is without a CA', () => {
  assert.deepEqual(databaseConfig('postgresql://app:pw@db:5432/app?sslmode=require'), {
    connectionString: 'postgresql://app:pw@db:5432/app?sslmode=require',
  });
});

test('verifies against DATABASE_CA, which the URL cannot override', () => {
  const config = databaseConfig('postgresql://app:pw@db:25060/app?sslmode=require&application_name=x', CA);
  assert.deepEqual(config.ssl, { ca: CA, rejectUnauthorized: true });
  assert.equal(config.connectionString, 'postgresql://app:pw@db:25060/app?application_name=x');
});

test('refuses to run without DATABASE_URL', () => {
  assert.throws(() => databaseConfig(undefined), /DATABASE_URL is not set/);
});
