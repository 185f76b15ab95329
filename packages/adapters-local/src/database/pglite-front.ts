import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';

/*
 * The TCP door of one PGlite database. PGlite answers any startup message with
 * AuthenticationOk, whatever the user, database or password; this front does what a
 * PostgreSQL server would before letting a connection through: it checks the user and the
 * database name, and the password by SCRAM-SHA-256 (the password never crosses the socket),
 * then replays the startup message to the pglite-socket server (on a private unix socket) and
 * pipes the rest both ways.
 */

const PROTOCOL_3 = 196608;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const ITERATIONS = 4096;
/** A connection that has not authenticated by then is dropped. */
const AUTH_TIMEOUT_MS = 10_000;

export interface PgliteFrontSettings {
  /** Where the pglite-socket server listens (a unix socket in a private folder). */
  backendPath: string;
  /** The only user and database name accepted. */
  user: string;
  database: string;
  password: string;
  /** Port on 127.0.0.1; 0 for any free one. */
  port: number;
  /** Connections at once; more are refused with SQLSTATE 53300. */
  maxConnections: number;
}

export interface PgliteFront {
  port: number;
  /** Stops listening and ends every connection. */
  close(): Promise<void>;
}

const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

function authentication(code: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const body = Buffer.alloc(4);
  body.writeInt32BE(code, 0);
  return message('R', Buffer.concat([body, data]));
}

function fatal(code: string, text: string): Buffer {
  const field = (key: string, value: string) => Buffer.from(`${key}${value}\0`, 'utf8');
  return message(
    'E',
    Buffer.concat([
      field('S', 'FATAL'),
      field('V', 'FATAL'),
      field('C', code),
      field('M', text),
      Buffer.from([0]),
    ]),
  );
}

/** Reads whole messages off a socket: the untyped startup one first, then typed ones. */
class Reader {
  private buffer = Buffer.alloc(0);
  private waiting: (() => void) | undefined;
  private ended = false;
  constructor(private readonly socket: Socket) {
    socket.on('data', this.onData);
    socket.on('close', this.onEnd);
    socket.on('error', this.onEnd);
  }
  private readonly onData = (chunk: Buffer) => {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    this.waiting?.();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.waiting?.();
  };
  private async take(length: () => number | undefined): Promise<Buffer> {
    for (;;) {
      const n = length();
      if (n !== undefined && this.buffer.length >= n) {
        const out = this.buffer.subarray(0, n);
        this.buffer = this.buffer.subarray(n);
        return out;
      }
      if (this.ended) throw new Error('connection closed');
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
      this.waiting = undefined;
    }
  }
  startup(): Promise<Buffer> {
    return this.take(() => (this.buffer.length >= 4 ? this.buffer.readInt32BE(0) : undefined));
  }
  typed(): Promise<Buffer> {
    return this.take(() => (this.buffer.length >= 5 ? this.buffer.readInt32BE(1) + 1 : undefined));
  }
  /** Stops reading; returns what arrived beyond the last message. */
  release(): Buffer {
    this.socket.off('data', this.onData);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onEnd);
    return this.buffer;
  }
}

function startupParameters(packet: Buffer): Map<string, string> {
  const parts = packet.subarray(8).toString('utf8').split('\0');
  const params = new Map<string, string>();
  for (let i = 0; i + 1 < parts.length; i += 2)
    if (parts[i]) params.set(parts[i] as string, parts[i + 1] ?? '');
  return params;
}

/** `a=1,b=2` as a map (SCRAM attributes). */
const attributes = (text: string) =>
  new Map(text.split(',').map((part) => [part.slice(0, 1), part.slice(2)] as [string, string]));

export async function startPgliteFront(settings: PgliteFrontSettings): Promise<PgliteFront> {
  // One salt per server run: the salted password is computed once, not per connection.
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(settings.password, salt, ITERATIONS, 32, 'sha256');
  const clientKey = hmac(salted, 'Client Key');
  const storedKey = sha256(clientKey);
  const serverKey = hmac(salted, 'Server Key');
  const clients = new Set<Socket>();
  const backends = new Set<Socket>();

  /** The SCRAM exchange; true when the client proved it knows the password. */
  async function scram(client: Socket, reader: Reader): Promise<boolean> {
    client.write(authentication(10, Buffer.from('SCRAM-SHA-256\0\0', 'utf8')));
    const initial = await reader.typed();
    if (initial.toString('latin1', 0, 1) !== 'p') return false;
    const mechanismEnd = initial.indexOf(0, 5);
    if (initial.toString('utf8', 5, mechanismEnd) !== 'SCRAM-SHA-256') return false;
    const clientFirst = initial.subarray(mechanismEnd + 5).toString('utf8');
    // No channel binding over a plain socket: the GS2 header is `n,,` (or `y,,`).
    const header = /^([ny]),,/.exec(clientFirst);
    if (!header) return false;
    const clientFirstBare = clientFirst.slice(header[0].length);
    const clientNonce = attributes(clientFirstBare).get('r');
    if (!clientNonce) return false;
    const nonce = clientNonce + randomBytes(18).toString('base64');
    const serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${ITERATIONS}`;
    client.write(authentication(11, Buffer.from(serverFirst, 'utf8')));
    const response = await reader.typed();
    if (response.toString('latin1', 0, 1) !== 'p') return false;
    const clientFinal = response.subarray(5).toString('utf8');
    const final = attributes(clientFinal);
    if (final.get('r') !== nonce) return false;
    const proof = Buffer.from(final.get('p') ?? '', 'base64');
    const withoutProof = clientFinal.slice(0, clientFinal.lastIndexOf(',p='));
    const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = hmac(storedKey, authMessage);
    if (proof.length !== signature.length) return false;
    const key = Buffer.from(proof.map((byte, i) => byte ^ (signature[i] as number)));
    if (!timingSafeEqual(sha256(key), storedKey)) return false;
    client.write(
      authentication(12, Buffer.from(`v=${hmac(serverKey, authMessage).toString('base64')}`, 'utf8')),
    );
    return true;
  }

  async function handle(client: Socket): Promise<void> {
    const reader = new Reader(client);
    const timer = setTimeout(() => client.destroy(), AUTH_TIMEOUT_MS);
    const refuse = (code: string, text: string) => {
      clearTimeout(timer);
      client.end(fatal(code, text));
    };
    try {
      let startup = await reader.startup();
      // Encryption requests are declined ('N'); the client then sends the real startup message.
      while (startup.length === 8 && [SSL_REQUEST, GSSENC_REQUEST].includes(startup.readInt32BE(4))) {
        client.write('N');
        startup = await reader.startup();
      }
      const code = startup.length >= 8 ? startup.readInt32BE(4) : 0;
      // PGlite has no backend to cancel; a cancel request is dropped as PostgreSQL drops an unknown one.
      if (code === CANCEL_REQUEST) return void client.destroy();
      if (code !== PROTOCOL_3) return refuse('08P01', 'unsupported frontend protocol');
      if (clients.size > settings.maxConnections) return refuse('53300', 'sorry, too many clients already');
      const params = startupParameters(startup);
      const user = params.get('user') ?? '';
      const database = params.get('database') || user;
      // Checked after the password, so a stranger learns nothing about which names exist.
      const ok = await scram(client, reader);
      if (!ok || user !== settings.user)
        return refuse('28P01', `password authentication failed for user "${user}"`);
      if (database !== settings.database) return refuse('3D000', `database "${database}" does not exist`);
      clearTimeout(timer);
      const rest = reader.release();
      const backend = connect(settings.backendPath);
      backends.add(backend);
      backend.on('close', () => {
        backends.delete(backend);
        client.destroy();
      });
      backend.on('error', () => client.destroy());
      client.on('close', () => backend.destroy());
      client.on('error', () => backend.destroy());
      // PGlite's reply to the startup message begins with AuthenticationOk, which is what the
      // client waits for after the SCRAM exchange.
      backend.write(startup);
      if (rest.length) backend.write(rest);
      backend.pipe(client);
      client.pipe(backend);
    } catch {
      clearTimeout(timer);
      client.destroy();
    }
  }

  const server: Server = createServer((client) => {
    clients.add(client);
    client.on('close', () => clients.delete(client));
    client.on('error', () => undefined);
    client.setNoDelay(true);
    void handle(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of [...clients, ...backends]) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
