import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import type pg from 'pg';

/**
 * HTTP clients of the access export over a real socket, for the tests of what an export holds: one
 * that reads the start of the export and then stops reading (or hangs up), as a slow or gone client.
 */
export type StalledExport = {
  status: number;
  headers: IncomingMessage['headers'];
  /** What was read: the whole body for an error, the first chunks for a 200. */
  body: string;
  req: ClientRequest;
  res: IncomingMessage;
};

/**
 * Starts an export and reads until the first event has arrived (so the database is streaming it), then
 * stops reading: the socket's buffers fill and the server is left waiting for the client. An answer
 * other than 200 is read whole.
 */
export function openStalledExport(
  port: number,
  path: string,
  secret: string,
  accept = 'application/x-ndjson',
): Promise<StalledExport> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, headers: { authorization: `Bearer ${secret}`, accept } },
      (res) => {
        let body = '';
        if (res.statusCode !== 200) {
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, req, res }));
          return;
        }
        const onData = (chunk: Buffer) => {
          body += chunk.toString('latin1');
          if (!/"object"\s*:\s*"event"/.test(body)) return;
          res.off('data', onData);
          res.pause();
          resolve({ status: 200, headers: res.headers, body, req, res });
        };
        res.on('data', onData);
        res.on('end', () => reject(new Error('the export ended before the client stopped reading')));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** COPY statements of exports running in the database now. */
export async function runningExportCopies(systemPool: pg.Pool): Promise<number> {
  const { rows } = await systemPool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'COPY (SELECT json_build_object%'`,
  );
  return rows[0]?.n ?? 0;
}

/** Polls `condition` every 25 ms until it holds or `timeoutMs` has passed; returns whether it held. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Connections of the pool checked out now. */
export const heldConnections = (pool: pg.Pool) => pool.totalCount - pool.idleCount;
