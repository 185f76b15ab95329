import { createRedactor } from '@mvp-pipeline/core';
import { describe, expect, it } from 'vitest';
import { connectionSecrets, databaseRedactor, isTransientDatabaseError, toDatabaseError } from './errors.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('database error classification', () => {
  it.each([
    ['ECONNREFUSED', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['ECONNRESET', withCode('read ECONNRESET', 'ECONNRESET')],
    ['ETIMEDOUT', withCode('connect ETIMEDOUT', 'ETIMEDOUT')],
    ['too many connections', withCode('sorry, too many clients already', '53300')],
    ['admin shutdown', withCode('terminating connection due to administrator command', '57P01')],
    ['server starting up', withCode('the database system is starting up', '57P03')],
    ['serialization failure', withCode('could not serialize access', '40001')],
    ['deadlock', withCode('deadlock detected', '40P01')],
    ['statement timeout', withCode('canceling statement due to statement timeout', '57014')],
    ['connection dropped', new Error('Connection terminated unexpectedly')],
    ['connect timeout', new Error('Connection terminated due to connection timeout')],
    ['pool checkout timeout', new Error('timeout exceeded when trying to connect')],
    ['client-side read timeout', new Error('Query read timeout')],
    [
      'every address refused',
      new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')]),
    ],
  ])('%s is transient', (_, error) => {
    expect(isTransientDatabaseError(error)).toBe(true);
    expect(toDatabaseError(error, 'Reading', createRedactor()).code).toBe('TRANSIENT');
  });

  it.each([
    ['wrong password', withCode('password authentication failed for user "app"', '28P01')],
    ['no such database', withCode('database "nope" does not exist', '3D000')],
    ['missing table', withCode('relation "products" does not exist', '42P01')],
    ['syntax error', withCode('syntax error at or near "x"', '42601')],
    ['unknown host', withCode('getaddrinfo ENOTFOUND db.internal', 'ENOTFOUND')],
    ['anything else', new Error('something odd')],
  ])('%s is permanent', (_, error) => {
    expect(isTransientDatabaseError(error)).toBe(false);
    expect(toDatabaseError(error, 'Reading', createRedactor()).code).toBe('PERMANENT');
  });

  it('says what failed, with the code and a hint a person can act on', () => {
    const error = toDatabaseError(
      withCode('relation "products" does not exist', '42P01'),
      'Reading the spec of product p1',
      createRedactor(),
    );
    expect(error.message).toBe(
      'Reading the spec of product p1 failed: relation "products" does not exist (42P01); the schema is missing: run `mvp db migrate`',
    );
  });

  it('keeps the connection string and its password out of the message and the cause', () => {
    const url = 'postgres://founder:pa%24%24-w0rd-xyz@db.internal:5432/founderdash';
    const redact = databaseRedactor(connectionSecrets(url));
    const error = toDatabaseError(
      withCode(`could not connect with ${url}: password pa$$-w0rd-xyz rejected`, '28P01'),
      'Reading',
      redact,
    );
    const everything = JSON.stringify({ message: error.message, cause: String(error.cause) });
    expect(everything).not.toContain('pa$$-w0rd-xyz');
    expect(everything).not.toContain('pa%24%24-w0rd-xyz');
    expect(everything).not.toContain(url);
    expect(error.message).toContain('[REDACTED]');
  });

  it('finds the password of a keyword/value connection string', () => {
    expect(connectionSecrets("host=db user=app password='s3cret-pass' dbname=x")).toContain('s3cret-pass');
  });
});
