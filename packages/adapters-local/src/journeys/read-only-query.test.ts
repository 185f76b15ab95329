// query_database's guarantee: what the generator runs cannot change the database it looks at.
// Against TEST_DATABASE_URL's server (a scratch table) when set, else PGlite behind its socket server.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOnlyQuery } from './app-checker.js';

let url: string;
let stop: () => Promise<void>;
const table = `ro_${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  const server = process.env['TEST_DATABASE_URL'];
  if (server) {
    url = server;
    stop = async () => undefined;
  } else {
    const { PGlite } = await import('@electric-sql/pglite');
    const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
    const db = await PGlite.create();
    const socket = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0 });
    await socket.start();
    url = `postgres://postgres@${socket.getServerConn()}/postgres`;
    stop = async () => {
      await socket.stop();
      await db.close();
    };
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`CREATE TABLE ${table} (id int, title text)`);
  await client.query(`INSERT INTO ${table} VALUES (1, 'Launch party'), (2, 'Demo day'), (3, 'Retro')`);
  await client.end();
});

afterAll(async () => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`DROP TABLE IF EXISTS ${table}`);
  await client.end();
  await stop();
});

const count = async () => {
  const r = await readOnlyQuery({ databaseUrl: url, sql: `SELECT count(*) FROM ${table}`, maxRows: 5 });
  return r.ok ? Number(r.rows[0]?.[0]) : Number.NaN;
};

describe('readOnlyQuery', () => {
  it('answers a SELECT with columns and rows, cut at maxRows', async () => {
    const r = await readOnlyQuery({
      databaseUrl: url,
      sql: `SELECT id, title FROM ${table} ORDER BY id`,
      maxRows: 2,
    });
    expect(r).toEqual({
      ok: true,
      columns: ['id', 'title'],
      rows: [
        [1, 'Launch party'],
        [2, 'Demo day'],
      ],
      rowCount: 3,
      truncated: true,
    });
  });

  it.each([
    ['a write', `DELETE FROM ${table}`],
    ['a write after leaving the transaction', `COMMIT; DELETE FROM ${table}`],
    ['a schema change', `DROP TABLE ${table}`],
    ['a write in a block', `DO $$ BEGIN DELETE FROM ${table}; END $$`],
  ])('refuses %s and changes nothing', async (_what, sql) => {
    const r = await readOnlyQuery({ databaseUrl: url, sql, maxRows: 5 });
    expect(r.ok).toBe(false);
    expect(await count()).toBe(3);
  });

  it('returns the database message for bad SQL, without the connection URL', async () => {
    const r = await readOnlyQuery({ databaseUrl: url, sql: 'SELEC nothing', maxRows: 5 });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toMatch(/syntax error/);
      expect(r.message).not.toContain(url);
    }
  });
});
