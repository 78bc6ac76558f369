import { DAY_MS, HOUR_MS } from '../../lib/clock.ts';

/**
 * When a failed delivery is tried again.
 *
 * Exponential backoff: after the n-th failed attempt the next one waits 30 s × 4^(n−1), capped at
 * 12 h, times a random jitter factor in [0.85, 1.15] (so that endpoints coming back from an outage
 * are not hit by every queued delivery in the same second). With 12 attempts in all, the nominal
 * schedule after the first attempt is 30 s, 2 min, 8 min, 32 min, 2 h 8 min, 8 h 32 min, then 12 h
 * five times: the last attempt lands about 2 days 23 hours after the first ("retried for ~3 days").
 *
 * A 429 or 503 with `Retry-After` (seconds or an HTTP date) is honoured: the next attempt is never
 * earlier than the endpoint asked (nor earlier than the backoff), and a request to wait longer than
 * a day is capped at a day so the schedule stays bounded.
 *
 * An endpoint that has been failing continuously for 5 days is disabled.
 */
export const MAX_ATTEMPTS = 12;
const BASE_DELAY_MS = 30_000;
const FACTOR = 4;
const MAX_DELAY_MS = 12 * HOUR_MS;
const JITTER = 0.15;
const MAX_RETRY_AFTER_MS = DAY_MS;
export const DISABLE_AFTER_FAILING_MS = 5 * DAY_MS;

/** The delay before attempt `failedAttempts + 1`, without jitter. */
export function nominalDelayMs(failedAttempts: number): number {
  return Math.min(BASE_DELAY_MS * FACTOR ** Math.max(0, failedAttempts - 1), MAX_DELAY_MS);
}

export const JITTER_RANGE = { min: 1 - JITTER, max: 1 + JITTER } as const;

/** Retry-After as milliseconds from `now`, or null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: Date): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now.getTime());
}

/**
 * The next attempt after `failedAttempts` failures (counting the one that just failed), or null when
 * the schedule is exhausted.
 */
export function nextAttemptAt(opts: {
  failedAttempts: number;
  now: Date;
  retryAfter: string | null;
  random?: () => number;
}): Date | null {
  if (opts.failedAttempts >= MAX_ATTEMPTS) return null;
  const random = opts.random ?? Math.random;
  const jitter = JITTER_RANGE.min + (JITTER_RANGE.max - JITTER_RANGE.min) * random();
  let delay = Math.round(nominalDelayMs(opts.failedAttempts) * jitter);
  const asked = parseRetryAfter(opts.retryAfter, opts.now);
  if (asked !== null) delay = Math.max(delay, Math.min(asked, MAX_RETRY_AFTER_MS));
  return new Date(opts.now.getTime() + delay);
}
