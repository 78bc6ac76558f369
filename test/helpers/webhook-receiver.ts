import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

/**
 * A real webhook receiver on 127.0.0.1 for tests: it records every request (headers and raw body)
 * and answers what the test scripts (`respond`), 200 by default.
 */
export type ReceivedWebhook = { headers: IncomingHttpHeaders; body: string; at: number };
export type Reply = { status: number; headers?: Record<string, string>; delayMs?: number };

export type WebhookReceiver = {
  url: string;
  port: number;
  received: ReceivedWebhook[];
  respond(reply: Reply | ((req: ReceivedWebhook) => Reply)): void;
  /** Resolves once `n` requests have arrived (or rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
};

export async function startReceiver(path = '/hooks'): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  let reply: Reply | ((req: ReceivedWebhook) => Reply) = { status: 200 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      received.push(entry);
      const r = typeof reply === 'function' ? reply(entry) : reply;
      const send = () => {
        res.writeHead(r.status, r.headers ?? {});
        res.end('ok');
      };
      if (r.delayMs) setTimeout(send, r.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    port,
    received,
    respond(next) {
      reply = next;
    },
    async waitFor(n, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < n) {
        if (Date.now() > deadline) throw new Error(`receiver got ${received.length} of ${n} requests`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * An independent Standard Webhooks verifier (https://www.standardwebhooks.com), written from the
 * specification and sharing no code with the platform's signer: the signed content is
 * `${webhook-id}.${webhook-timestamp}.${body}`, the key is the base64 part of the `whsec_` secret, and
 * `webhook-signature` is a space-separated list of `v1,<base64 HMAC-SHA256>`; one match suffices.
 */
export function verifyStandardWebhook(
  secret: string,
  headers: IncomingHttpHeaders,
  body: string,
  opts: { nowSeconds?: number; toleranceSeconds?: number } = {},
): boolean {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return false;
  if (!/^\d+$/.test(timestamp)) return false;
  if (opts.nowSeconds !== undefined) {
    const tolerance = opts.toleranceSeconds ?? 300;
    if (Math.abs(opts.nowSeconds - Number(timestamp)) > tolerance) return false;
  }
  if (!secret.startsWith('whsec_')) return false;
  const key = Buffer.from(secret.substring(6), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  return signatures.split(' ').some((candidate) => {
    const [version, value] = candidate.split(',', 2);
    if (version !== 'v1' || !value) return false;
    const given = Buffer.from(value, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
