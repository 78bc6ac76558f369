import { createServer, connect as netConnect, type Socket } from 'node:net';
import type pg from 'pg';

/**
 * A TCP proxy on 127.0.0.1 in front of a test PostgreSQL, that can be made to go silent: after
 * `blackhole()`, every connection (open or new) stays open but no byte passes either way, as when
 * the database's host vanishes behind a network partition. Queries then hang instead of failing.
 */
export type BlackholeProxy = {
  port: number;
  blackhole(): void;
  /** Bytes that clients sent after blackhole() and that never arrived. */
  swallowed(): number;
  close(): Promise<void>;
};

export async function startBlackholeProxy(target: pg.ClientConfig): Promise<BlackholeProxy> {
  const sockets = new Set<Socket>();
  let silent = false;
  let swallowed = 0;
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (silent) {
      client.on('data', (chunk) => {
        swallowed += chunk.length;
      });
      return;
    }
    const host = String(target.host);
    const upstream = host.startsWith('/')
      ? netConnect({ path: `${host}/.s.PGSQL.${target.port ?? 5432}` })
      : netConnect({ host, port: Number(target.port ?? 5432) });
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      if (!silent) client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('data', (chunk) => {
      if (silent) swallowed += chunk.length;
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!silent) client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    blackhole() {
      silent = true;
    },
    swallowed: () => swallowed,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
