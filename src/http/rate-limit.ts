import type { KeyType } from '../modules/api-keys/api-key-format.ts';

/**
 * Per-key token buckets (burst = 2 s of the rate). Per process: with N API processes behind a load
 * balancer a key gets up to N × the rate; the counters are never shared and never older than the
 * process. Returns 0 when the request may proceed, else the milliseconds until it may.
 */
export type RateLimiter = { take(keyId: string, type: KeyType): number };

const MAX_BUCKETS = 100_000;

export function createRateLimiter(
  limits: { secretPerSecond: number; publishablePerSecond: number },
  now: () => number = Date.now,
): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(keyId, type) {
      const rate = type === 'secret' ? limits.secretPerSecond : limits.publishablePerSecond;
      const capacity = rate * 2;
      const t = now();
      let bucket = buckets.get(keyId);
      if (!bucket) {
        if (buckets.size >= MAX_BUCKETS) buckets.clear();
        bucket = { tokens: capacity, at: t };
        buckets.set(keyId, bucket);
      }
      bucket.tokens = Math.min(capacity, bucket.tokens + ((t - bucket.at) / 1000) * rate);
      bucket.at = t;
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.max(1, ((1 - bucket.tokens) / rate) * 1000);
    },
  };
}
