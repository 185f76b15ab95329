import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postgresTlsOptions as tlsOptions } from '@mvp-pipeline/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from './pool.js';
import { createPgSpecSource } from './spec-source.js';

/**
 * A throwaway PostgreSQL cluster of its own (initdb into a temp dir, a free port, TLS on with a
 * certificate from a self-signed CA, plain TCP refused), and a PgBouncer in front of it in
 * transaction mode when Debian's pgbouncer is installed. Needs the server binaries and root (to
 * run them as the postgres user); skipped otherwise.
 */
const PG_BIN = [
  '/usr/lib/postgresql/17/bin',
  '/usr/lib/postgresql/16/bin',
  '/usr/lib/postgresql/15/bin',
].find((dir) => existsSync(join(dir, 'initdb')));
const PGBOUNCER = '/usr/sbin/pgbouncer';
const canRun = PG_BIN !== undefined && process.getuid?.() === 0;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const asPostgres = (command: string, args: string[]) =>
  execFileSync('runuser', ['-u', 'postgres', '--', command, ...args], { stdio: 'pipe' });

let dir: string;
let ca: string;
let port: number;
let bouncerPort: number | undefined;
let bouncer: ReturnType<typeof spawn> | undefined;

beforeAll(async () => {
  if (!canRun) return;
  dir = mkdtempSync(join(tmpdir(), 'mvp-pg-tls-'));
  chmodSync(dir, 0o755);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=Test Database CA',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
  );
  ssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
  );
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost\n');
  ssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'san.ext',
    '-out',
    'server.crt',
  );
  ca = execFileSync('cat', [join(dir, 'ca.crt')]).toString();
  for (const file of ['server.key', 'server.crt', 'ca.crt']) chmodSync(join(dir, file), 0o600);
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
  chownSync(dir, uid, gid);
  for (const file of ['server.key', 'server.crt', 'ca.crt']) chownSync(join(dir, file), uid, gid);
  const data = join(dir, 'data');
  asPostgres(join(PG_BIN!, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  port = await freePort();
  writeFileSync(
    join(data, 'postgresql.auto.conf'),
    [
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      'ssl = on',
      `ssl_cert_file = '${join(dir, 'server.crt')}'`,
      `ssl_key_file = '${join(dir, 'server.key')}'`,
      'fsync = off',
    ].join('\n'),
  );
  writeFileSync(
    join(data, 'pg_hba.conf'),
    'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n',
  );
  asPostgres(join(PG_BIN!, 'pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-w', 'start']);

  if (existsSync(PGBOUNCER)) {
    bouncerPort = await freePort();
    writeFileSync(join(dir, 'users.txt'), '"postgres" ""\n');
    writeFileSync(
      join(dir, 'pgbouncer.ini'),
      [
        '[databases]',
        `postgres = host=localhost port=${port} dbname=postgres`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${bouncerPort}`,
        `unix_socket_dir = ${dir}`,
        'auth_type = trust',
        `auth_file = ${join(dir, 'users.txt')}`,
        'pool_mode = transaction',
        'client_tls_sslmode = require',
        `client_tls_key_file = ${join(dir, 'server.key')}`,
        `client_tls_cert_file = ${join(dir, 'server.crt')}`,
        'server_tls_sslmode = verify-full',
        `server_tls_ca_file = ${join(dir, 'ca.crt')}`,
        `logfile = ${join(dir, 'pgbouncer.log')}`,
      ].join('\n'),
    );
    bouncer = spawn('runuser', ['-u', 'postgres', '--', PGBOUNCER, join(dir, 'pgbouncer.ini')], {
      stdio: 'ignore',
    });
    for (let i = 0; i < 50; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const socket = new Socket();
        socket.once('connect', () => resolve(socket.destroy() === undefined));
        socket.once('error', () => resolve(false));
        socket.connect(bouncerPort, '127.0.0.1');
      });
      if (up) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}, 60_000);

afterAll(async () => {
  if (!canRun || !dir) return;
  bouncer?.kill('SIGTERM');
  try {
    asPostgres(join(PG_BIN!, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const url = (host: string, p: number, query = 'sslmode=require') =>
  `postgresql://postgres@${host}:${p}/postgres?${query}`;

async function sslInUse(pool: pg.Pool): Promise<boolean> {
  try {
    const { rows } = await pool.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    return rows[0]?.ssl === true;
  } finally {
    await pool.end();
  }
}

describe.skipIf(!canRun)('the pool over TLS, against a server whose CA Node does not trust', () => {
  it('connects with the CA from configuration, verified', async () => {
    expect(await sslInUse(createPool({ connectionString: url('localhost', port), ca }))).toBe(true);
  });

  it('fails clearly without it: sslmode=require verifies the chain', async () => {
    const pool = createPool({ connectionString: url('localhost', port), connectTimeoutMs: 5000 });
    const error = await pool.query('SELECT 1').catch((e: unknown) => e);
    await pool.end();
    expect((error as Error).message).toMatch(
      /unable to verify the first certificate|self[- ]signed certificate/,
    );
  });

  it('says what to set when the spec source cannot verify the server', async () => {
    const source = createPgSpecSource({ connectionString: url('localhost', port), connectTimeoutMs: 5000 });
    const error = await source.getSpec({ userId: 'u', productId: 'p' }).catch((e: unknown) => e);
    await source.close();
    expect((error as { code?: string }).code).toBe('PERMANENT');
    expect((error as Error).message).toContain('set FOUNDERDASH_DB_CA');
  });

  it('verifies the host name against the certificate', async () => {
    const pool = createPool({ connectionString: url('127.0.0.1', port), ca, connectTimeoutMs: 5000 });
    const error = await pool.query('SELECT 1').catch((e: unknown) => e);
    await pool.end();
    expect((error as Error).message).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list|altnames/);
  });

  it('lets no sslmode in the URL turn TLS off or swap the CA, and keeps sslmode=verify-full working', async () => {
    for (const query of ['sslmode=disable', 'sslmode=prefer', 'sslmode=no-verify', 'ssl=false']) {
      expect(() => createPool({ connectionString: url('localhost', port, query), ca })).toThrow(
        /FOUNDERDASH_DB_URL: asks for sslmode/,
      );
    }
    expect(() =>
      createPool({ connectionString: url('localhost', port, 'sslrootcert=/tmp/x.pem'), ca }),
    ).toThrow(/sslrootcert/);
    expect(() => createPool({ connectionString: url('localhost', port), ca: 'not a pem' })).toThrow(
      /FOUNDERDASH_DB_CA/,
    );
    expect(
      await sslInUse(createPool({ connectionString: url('localhost', port, 'sslmode=verify-full'), ca })),
    ).toBe(true);
    // The URL's own TLS parameters are gone from what pg reads (it would let them replace `ssl`).
    const options = tlsOptions(url('localhost', port, 'sslmode=require&application_name=x'), ca);
    expect(options.connectionString).not.toContain('sslmode');
    expect(options.connectionString).toContain('application_name=x');
  });

  it('sends no statement_timeout at startup (the server default stays)', async () => {
    const pool = createPool({ connectionString: url('localhost', port), ca, statementTimeoutMs: 7000 });
    try {
      expect((await pool.query('SHOW statement_timeout')).rows[0].statement_timeout).toBe('0');
    } finally {
      await pool.end();
    }
  });
});

describe.skipIf(!canRun || !existsSync(PGBOUNCER))(
  'the pool through PgBouncer (transaction mode, TLS)',
  () => {
    it('connects and runs a transaction with SET LOCAL statement_timeout', async () => {
      const pool = createPool({ connectionString: url('localhost', bouncerPort!), ca });
      try {
        const client = await pool.connect();
        try {
          await client.query('BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = 7000');
          expect((await client.query('SHOW statement_timeout')).rows[0].statement_timeout).toBe('7s');
          await client.query('COMMIT');
        } finally {
          client.release();
        }
      } finally {
        await pool.end();
      }
    });

    it('is what PgBouncer needs: a statement_timeout startup parameter is refused', async () => {
      const client = new pg.Client({
        ...tlsOptions(url('localhost', bouncerPort!), ca),
        statement_timeout: 7000,
      });
      const error = await client.connect().catch((e: unknown) => e);
      await client.end().catch(() => undefined);
      expect((error as Error).message).toMatch(/unsupported startup parameter: statement_timeout/);
    });
  },
);
