import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The common part of the vendor fakes (test/fakes/<vendor>/): a real HTTP server on 127.0.0.1 that
 * hands each request (method, path, query, headers, raw body) to the fake's router and records it.
 */
export type FakeRequest = {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The body's bytes as sent (chunked media uploads are binary). */
  raw: Buffer;
  /** The form fields of an application/x-www-form-urlencoded body (null for any other type). */
  form: URLSearchParams | null;
};
/** `body` is sent as JSON, except a Buffer (sent as is) and undefined (no body: a 308 or 204). */
export type FakeReply = { status: number; body: unknown; headers?: Record<string, string> };

/**
 * A route added to a running fake (publishing, ads: the same vendor host as its OAuth and read
 * APIs). It answers the requests it knows and returns undefined for the rest, which fall through to
 * the routes added before it and then to the fake's own.
 */
export type FakeExtension = (req: FakeRequest) => FakeReply | undefined | Promise<FakeReply | undefined>;

export type VendorFakeServer = {
  url: string;
  /** Every request, in order. */
  requests: FakeRequest[];
  /** Adds an extension route in front of the fake's own. */
  use(extension: FakeExtension): void;
  close(): Promise<void>;
};

export async function startVendorFake(
  route: (req: FakeRequest) => FakeReply | Promise<FakeReply>,
): Promise<VendorFakeServer> {
  const requests: FakeRequest[] = [];
  const extensions: FakeExtension[] = [];
  async function answer(fr: FakeRequest): Promise<FakeReply> {
    for (let i = extensions.length - 1; i >= 0; i--) {
      const reply = await (extensions[i] as FakeExtension)(fr);
      if (reply) return reply;
    }
    return route(fr);
  }
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const raw = Buffer.concat(chunks);
      const body = raw.toString('utf8');
      const type = String(req.headers['content-type'] ?? '');
      const fr: FakeRequest = {
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
        raw,
        form: type.startsWith('application/x-www-form-urlencoded') ? new URLSearchParams(body) : null,
      };
      requests.push(fr);
      let reply: FakeReply;
      try {
        reply = await answer(fr);
      } catch (error) {
        reply = { status: 500, body: { error: String(error) } };
      }
      if (reply.body === undefined) {
        res.writeHead(reply.status, reply.headers);
        res.end();
      } else if (Buffer.isBuffer(reply.body)) {
        res.writeHead(reply.status, { 'content-type': 'application/octet-stream', ...reply.headers });
        res.end(reply.body);
      } else {
        res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...reply.headers });
        res.end(JSON.stringify(reply.body));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    use: (extension) => {
      extensions.push(extension);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const randomToken = (prefix: string) => `${prefix}${randomBytes(18).toString('base64url')}`;
/** RFC 7636 S256: BASE64URL(SHA256(verifier)). */
export const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');
export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What the user's browser does at the platform: the fake checks the authorize URL and "consents". */
export type Consent = { redirect: string };
