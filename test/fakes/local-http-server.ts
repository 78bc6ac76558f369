import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A tiny real HTTP server on 127.0.0.1 for egress tests: it counts the TCP connections it accepts
 * (so a test can show a refused call opened none), records each request (method, path with query,
 * headers, body) and answers with whatever the test's handler says (default 200 `{"ok":true}`).
 * Vendor fakes that check a vendor's format build on it (test/fakes/<vendor>/).
 */
export type RecordedRequest = {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
};

export type FakeAnswer = {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer | object;
  /** Wait this long before answering (to exercise timeouts). */
  delayMs?: number;
  /** Send the body in two chunks without a Content-Length (chunked transfer encoding). */
  chunked?: boolean;
};

export type LocalHttpServer = {
  url: string;
  port: number;
  /** TCP connections accepted since start (or since reset). */
  connections(): number;
  requests: RecordedRequest[];
  /** Sets how requests are answered: a fixed answer, or one per request (index counts from 0). */
  answer(a: FakeAnswer | ((req: RecordedRequest, index: number) => FakeAnswer)): void;
  reset(): void;
  close(): Promise<void>;
};

export async function startLocalHttpServer(): Promise<LocalHttpServer> {
  let connections = 0;
  const requests: RecordedRequest[] = [];
  let answerFor: (req: RecordedRequest, index: number) => FakeAnswer = () => ({ body: { ok: true } });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      const index = requests.push(recorded) - 1;
      const a = answerFor(recorded, index);
      const send = () => {
        if (res.destroyed) return;
        const body =
          a.body === undefined
            ? ''
            : typeof a.body === 'string' || Buffer.isBuffer(a.body)
              ? a.body
              : JSON.stringify(a.body);
        res.writeHead(a.status ?? 200, { 'content-type': 'application/json', ...a.headers });
        if (a.chunked) {
          const half = Math.floor(body.length / 2);
          res.write(body.slice(0, half));
          res.end(body.slice(half));
        } else res.end(body);
      };
      if (a.delayMs) setTimeout(send, a.delayMs).unref();
      else send();
    });
  });
  server.on('connection', () => {
    connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connections: () => connections,
    requests,
    answer(a) {
      answerFor = typeof a === 'function' ? a : () => a;
    },
    reset() {
      connections = 0;
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
