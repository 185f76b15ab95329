import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';

/** A CA and a server certificate it signed, PEM. */
export interface TestCertificates {
  /** The CA's certificate: what a client must be given to verify the server. */
  ca: string;
  /** The server's certificate (for `localhost`) and key. */
  cert: string;
  key: string;
}

/** A self-signed CA (made with openssl) and a certificate for `localhost` signed by it. */
export function makeTestCertificates(name = 'Test Database CA'): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'mvp-test-ca-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  try {
    ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
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
    const read = (file: string) => readFileSync(join(dir, file), 'utf8');
    return { ca: read('ca.crt'), cert: read('server.crt'), key: read('server.key') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A startup message as the front received it. */
export interface SeenStartup {
  /** Whether it came over TLS (after an SSLRequest answered 'S'). */
  tls: boolean;
  /** Its parameters (user, database, application_name, client_encoding, …). */
  parameters: Record<string, string>;
}

export interface PostgresFront {
  readonly port: number;
  /** Every startup message, oldest first (cancel requests are not listed). */
  readonly startups: SeenStartup[];
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const PROTOCOL_3 = 196608;

/**
 * A loopback front of a PostgreSQL server that speaks the protocol's start as a TLS-terminating
 * server or pooler does: an SSLRequest is answered 'S' and TLS is served with `tls` (or 'N'
 * without it), the startup message's parameters are recorded, then everything is piped to
 * `upstream` in plain TCP (the startup message included). What a real server would do with the
 * parameters is left to the server; the record lets a test see what a client sent.
 */
export async function startPostgresFront(options: {
  upstream: { host: string; port: number };
  tls?: { cert: string; key: string };
}): Promise<PostgresFront> {
  const startups: SeenStartup[] = [];
  const sockets = new Set<Duplex>();
  const track = (socket: Duplex) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = createServer((client) => {
    track(client);
    void serve(client).catch(() => client.destroy());
  });

  async function serve(client: Socket): Promise<void> {
    let stream: Duplex = client;
    let secure = false;
    let reader = readerOf(stream);
    let message = await reader.message();
    for (;;) {
      const code = message.readInt32BE(4);
      if (code !== SSL_REQUEST && code !== GSSENC_REQUEST) break;
      reader.detach();
      if (code === SSL_REQUEST && options.tls && !secure) {
        client.write('S');
        const wrapped = new TLSSocket(client, {
          isServer: true,
          cert: options.tls.cert,
          key: options.tls.key,
        });
        track(wrapped);
        stream = wrapped;
        secure = true;
      } else client.write('N');
      reader = readerOf(stream);
      message = await reader.message();
    }
    if (message.readInt32BE(4) === PROTOCOL_3) {
      startups.push({ tls: secure, parameters: parametersOf(message) });
    }
    const rest = reader.detach();
    const upstream = tcpConnect(options.upstream.port, options.upstream.host);
    track(upstream);
    upstream.on('close', () => stream.destroy());
    stream.on('close', () => upstream.destroy());
    upstream.write(Buffer.concat([message, rest]));
    stream.pipe(upstream);
    upstream.pipe(stream);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    startups,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The key/value pairs of a protocol 3 startup message (after length and version). */
function parametersOf(message: Buffer): Record<string, string> {
  const parts = message.subarray(8).toString('utf8').split('\0');
  const parameters: Record<string, string> = {};
  for (let i = 0; i + 1 < parts.length && parts[i] !== ''; i += 2) parameters[parts[i]!] = parts[i + 1]!;
  return parameters;
}

/** Reads whole untyped messages (int32 length first) off a stream, until detached. */
function readerOf(stream: Duplex) {
  let buffer = Buffer.alloc(0);
  let wake: (() => void) | undefined;
  let ended = false;
  const onData = (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    wake?.();
  };
  const onEnd = () => {
    ended = true;
    wake?.();
  };
  stream.on('data', onData);
  stream.once('close', onEnd);
  return {
    async message(): Promise<Buffer> {
      while (buffer.length < 8 || buffer.length < buffer.readInt32BE(0)) {
        if (ended) throw new Error('connection closed before its startup message');
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
      const length = buffer.readInt32BE(0);
      const message = buffer.subarray(0, length);
      buffer = buffer.subarray(length);
      return message;
    },
    /** Stops reading; returns what was read past the last message. */
    detach(): Buffer {
      stream.off('data', onData);
      stream.off('close', onEnd);
      stream.pause();
      const rest = buffer;
      buffer = Buffer.alloc(0);
      return rest;
    },
  };
}
