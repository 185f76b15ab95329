import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

/** A loopback TCP proxy in front of a database, to make it go away and come back. */
export interface TcpProxy {
  readonly port: number;
  /**
   * `forward` (default) passes bytes through; `blackhole` accepts connections and never
   * answers (a hung server).
   */
  mode: 'forward' | 'blackhole';
  /** Cuts every open connection and stops listening: the database is gone (ECONNREFUSED). */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  /** Stops for good. */
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;

  const listen = async () => {
    const next = createServer((client) => {
      sockets.add(client);
      client.on('close', () => sockets.delete(client));
      client.on('error', () => client.destroy());
      if (proxy.mode === 'blackhole') return;
      const upstream = tcpConnect(target.port, target.host);
      sockets.add(upstream);
      upstream.on('close', () => {
        sockets.delete(upstream);
        client.destroy();
      });
      upstream.on('error', () => upstream.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => resolve());
    });
    const address = next.address();
    if (address && typeof address === 'object') port = address.port;
    server = next;
  };

  const down = async () => {
    const current = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
  };

  const proxy: TcpProxy = {
    get port() {
      return port;
    },
    mode: 'forward',
    down,
    up: async () => {
      if (!server) await listen();
    },
    close: down,
  };
  await listen();
  return proxy;
}
