import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { ADDRESS_REFUSED, type AddressGuard, bareHost } from './address-guard.ts';

/**
 * Sends one signed webhook POST and reports what happened, as data (never throws):
 * - the whole attempt (connect, TLS, request, response headers) has `timeoutMs` (15 s);
 * - only 2xx is success; redirects are not followed (a 3xx is a failure: following one would let
 *   an endpoint point us at an address the guard never saw);
 * - the host goes through the address guard at connection time (see address-guard.ts);
 * - the response body is drained and dropped (at most 64 KB, then the socket is closed): it is never
 *   stored or logged.
 * Error codes are a closed set: no error message (which could carry a host or address) leaves here.
 */
export const DELIVERY_TIMEOUT_MS = 15_000;
const MAX_RESPONSE_BYTES = 64 * 1024;
const USER_AGENT = 'Layers-Webhooks/1.0 (+https://www.standardwebhooks.com)';
const TIMEOUT_CODE = 'ERR_WEBHOOK_TIMEOUT';

export type DeliveryErrorCode =
  | 'timeout'
  | 'dns_error'
  | 'address_refused'
  | 'connection_error'
  | 'tls_error'
  | 'insecure_url'
  | 'redirect'
  | 'http_error';

export type SendOutcome = {
  ok: boolean;
  statusCode: number | null;
  latencyMs: number;
  error: DeliveryErrorCode | null;
  /** The raw Retry-After header of a 429 or 503, for the retry schedule to parse. */
  retryAfter: string | null;
};

export type OutgoingWebhook = { url: string; headers: Record<string, string>; body: string };

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'ENODATA']);
const TLS_CODES = /^(ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|HOSTNAME_MISMATCH)/;

function errorCode(error: NodeJS.ErrnoException): DeliveryErrorCode {
  const code = error.code ?? '';
  if (code === TIMEOUT_CODE) return 'timeout';
  if (code === ADDRESS_REFUSED) return 'address_refused';
  if (DNS_CODES.has(code)) return 'dns_error';
  if (TLS_CODES.test(code)) return 'tls_error';
  return 'connection_error';
}

export function createWebhookSender(deps: { guard: AddressGuard; timeoutMs?: number }) {
  const { guard } = deps;
  const timeoutMs = deps.timeoutMs ?? DELIVERY_TIMEOUT_MS;
  // Keep-alive pools: a socket is only ever opened to an address the guard checked, so reusing it is safe.
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64 });

  function send(target: OutgoingWebhook): Promise<SendOutcome> {
    const started = performance.now();
    const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
    const failed = (error: DeliveryErrorCode, statusCode: number | null = null): SendOutcome => ({
      ok: false,
      statusCode,
      latencyMs: elapsed(),
      error,
      retryAfter: null,
    });

    let url: URL;
    try {
      url = new URL(target.url);
    } catch {
      return Promise.resolve(failed('connection_error'));
    }
    const secure = url.protocol === 'https:';
    if (!secure && (url.protocol !== 'http:' || guard.requireHttps))
      return Promise.resolve(failed('insecure_url'));
    // node:net skips `lookup` for IP literals, so those are checked here.
    if (guard.refusedLiteral(bareHost(url))) return Promise.resolve(failed('address_refused'));

    return new Promise((resolve) => {
      let settled = false;
      const finish = (outcome: SendOutcome) => {
        if (settled) return;
        settled = true;
        resolve(outcome);
      };
      const request = (secure ? https : http).request(
        url,
        {
          method: 'POST',
          agent: secure ? httpsAgent : httpAgent,
          lookup: guard.lookup,
          headers: {
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(target.body)),
            'user-agent': USER_AGENT,
            ...target.headers,
          },
        },
        (response) => {
          const statusCode = response.statusCode ?? 0;
          let received = 0;
          response.on('data', (chunk: Buffer) => {
            received += chunk.length;
            if (received > MAX_RESPONSE_BYTES) response.destroy();
          });
          response.on('end', () => clearTimeout(timer));
          response.on('close', () => clearTimeout(timer));
          response.on('error', () => undefined);
          const ok = statusCode >= 200 && statusCode < 300;
          const retryAfter =
            statusCode === 429 || statusCode === 503 ? response.headers['retry-after'] : undefined;
          finish({
            ok,
            statusCode,
            latencyMs: elapsed(),
            error: ok ? null : statusCode >= 300 && statusCode < 400 ? 'redirect' : 'http_error',
            retryAfter: typeof retryAfter === 'string' ? retryAfter : null,
          });
        },
      );
      // One deadline for the whole attempt; it also bounds draining the response body.
      const timer = setTimeout(
        () => request.destroy(Object.assign(new Error('webhook attempt timed out'), { code: TIMEOUT_CODE })),
        timeoutMs,
      );
      request.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        finish(failed(errorCode(error)));
      });
      request.end(target.body);
    });
  }

  return {
    send,
    timeoutMs,
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

export type WebhookSender = ReturnType<typeof createWebhookSender>;
