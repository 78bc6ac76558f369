/**
 * Retry timing. Exponential backoff with "equal jitter" (half fixed, half random) so that many
 * devices coming back online at once spread out, while no retry ever comes sooner than half the
 * nominal delay. A server's `Retry-After` is a floor: the SDK never retries earlier than it says.
 */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/** Delay before retry number `attempt` (1 for the first retry). `random` returns [0, 1). */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30); // 2^30 already exceeds any sane maxMs
  const nominal = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  return Math.round(nominal / 2 + random() * (nominal / 2));
}

/** Spread for retries after a Retry-After: at most 10% of it, at most a second. Never earlier. */
export function retryAfterJitter(retryAfterMs: number, random: () => number): number {
  return Math.round(random() * Math.min(retryAfterMs * 0.1, 1_000));
}

/**
 * `Retry-After` is either delay-seconds or an HTTP date (RFC 9110 §10.2.3). Returns milliseconds
 * from `nowMs`, 0 for a date in the past, undefined when absent or unparseable.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1_000;
  // HTTP dates always name a day or month; Date.parse alone would accept "-5" as a year.
  if (!/[a-z]{3}/i.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}
