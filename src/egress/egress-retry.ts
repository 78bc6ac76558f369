import type { EgressCall } from './egress-types.ts';

/**
 * When the gateway tries a call again, and after how long. Bounded: at most `maxAttempts` attempts
 * (default 3, never more than 5), all inside the call's deadline. Backoff is exponential with full
 * jitter (250 ms, 500 ms, 1 s … capped at 5 s); a vendor's Retry-After replaces it, up to
 * MAX_RETRY_AFTER_MS and the deadline, beyond which the call fails with `rate_limited` and the
 * vendor's delay, for the caller's own schedule (a job's run_at) to honour.
 */
export const DEFAULT_ATTEMPTS = 3;
export const MAX_ATTEMPTS = 5;
export const DEFAULT_TIMEOUT_MS = 30_000;
export const MAX_RETRY_AFTER_MS = 10_000;
const BASE_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 5_000;

/** Statuses worth another attempt of an idempotent call. */
const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** Failures before a request was written: nothing reached the vendor, so any call may try again. */
const NOTHING_SENT = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EAI_AGAIN']);

export function isIdempotent(call: EgressCall): boolean {
  return call.idempotent ?? ['GET', 'HEAD', 'PUT', 'DELETE'].includes(call.method);
}

export function attemptsAllowed(call: EgressCall): number {
  return Math.min(Math.max(1, Math.floor(call.maxAttempts ?? DEFAULT_ATTEMPTS)), MAX_ATTEMPTS);
}

export function retryableStatus(status: number): boolean {
  return RETRY_STATUSES.has(status);
}

export function nothingSent(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NOTHING_SENT.has(code);
}

/** Retry-After as milliseconds (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Full-jitter exponential backoff before attempt `next` (2, 3, …). */
export function backoffMs(next: number, random: () => number): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** (next - 2));
  return Math.floor(random() * ceiling);
}
