import type { KeyType } from '../modules/api-keys/api-key-format.ts';

/**
 * Token buckets (burst = 2 s of the rate) per API key and per org and key type: an org's keys of one
 * type share the org's budget, so minting more keys does not multiply what an org may send. A
 * request takes a token from both buckets or from neither. Per process: with N API processes behind a
 * load balancer a key or an org gets up to N × its rate; the counters are never shared and never older
 * than the process.
 */
export type RateLimits = {
  secretPerSecond: number;
  publishablePerSecond: number;
  orgSecretPerSecond: number;
  orgPublishablePerSecond: number;
};

export type RateDecision = { ok: true } | { ok: false; waitMs: number; scope: 'key' | 'org' };

export type RateLimiter = { take(key: { id: string; orgId: string; type: KeyType }): RateDecision };

type Bucket = { tokens: number; at: number };

const MAX_BUCKETS = 100_000;

export function createRateLimiter(limits: RateLimits, now: () => number = Date.now): RateLimiter {
  const keys = new Map<string, Bucket>();
  const orgs = new Map<string, Bucket>();

  /** The bucket refilled to `t`, created full on first use. */
  function refilled(map: Map<string, Bucket>, id: string, rate: number, t: number): Bucket {
    let bucket = map.get(id);
    if (!bucket) {
      if (map.size >= MAX_BUCKETS) map.clear();
      bucket = { tokens: rate * 2, at: t };
      map.set(id, bucket);
    }
    bucket.tokens = Math.min(rate * 2, bucket.tokens + ((t - bucket.at) / 1000) * rate);
    bucket.at = t;
    return bucket;
  }
  const waitFor = (bucket: Bucket, rate: number) =>
    bucket.tokens >= 1 ? 0 : Math.max(1, ((1 - bucket.tokens) / rate) * 1000);

  return {
    take({ id, orgId, type }) {
      const t = now();
      const keyRate = type === 'secret' ? limits.secretPerSecond : limits.publishablePerSecond;
      const orgRate = type === 'secret' ? limits.orgSecretPerSecond : limits.orgPublishablePerSecond;
      const key = refilled(keys, id, keyRate, t);
      const org = refilled(orgs, `${orgId}:${type}`, orgRate, t);
      const keyWait = waitFor(key, keyRate);
      const orgWait = waitFor(org, orgRate);
      if (keyWait === 0 && orgWait === 0) {
        key.tokens -= 1;
        org.tokens -= 1;
        return { ok: true };
      }
      return keyWait >= orgWait
        ? { ok: false, waitMs: keyWait, scope: 'key' }
        : { ok: false, waitMs: orgWait, scope: 'org' };
    },
  };
}
