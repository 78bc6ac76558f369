import { describe, expect, it } from 'vitest';
import { createRateLimiter, type RateDecision } from './rate-limit.ts';

const limits = {
  secretPerSecond: 10,
  publishablePerSecond: 100,
  orgSecretPerSecond: 1000,
  orgPublishablePerSecond: 1000,
};
const secret = (id: string, orgId = 'org_a') => ({ id, orgId, type: 'secret' as const });
const waitOf = (d: RateDecision) => (d.ok ? 0 : d.waitMs);

describe('rate limiter', () => {
  it('allows a burst of 2 s worth per key, then asks to wait until a token refills', () => {
    let now = 0;
    const limiter = createRateLimiter(limits, () => now);
    for (let i = 0; i < 20; i++) expect(limiter.take(secret('key_a'))).toEqual({ ok: true });
    const refused = limiter.take(secret('key_a'));
    expect(refused).toMatchObject({ ok: false, scope: 'key' });
    const wait = waitOf(refused);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(100);
    now += wait;
    expect(limiter.take(secret('key_a'))).toEqual({ ok: true });
    expect(limiter.take(secret('key_b'))).toEqual({ ok: true });
  });

  it('uses the publishable rate for publishable keys', () => {
    const limiter = createRateLimiter({ ...limits, secretPerSecond: 1 }, () => 0);
    const pk = { id: 'pk', orgId: 'org_a', type: 'publishable' as const };
    for (let i = 0; i < 200; i++) expect(limiter.take(pk).ok).toBe(true);
    expect(limiter.take(pk).ok).toBe(false);
  });

  it("shares one budget among an org's keys: minting more keys does not raise it", () => {
    let now = 0;
    const limiter = createRateLimiter({ ...limits, orgSecretPerSecond: 15 }, () => now);
    const outcomes: RateDecision[] = [];
    // Four keys, eight requests each: within every key's burst of 20, over the org's burst of 30.
    for (let round = 0; round < 8; round++)
      for (const id of ['k1', 'k2', 'k3', 'k4']) outcomes.push(limiter.take(secret(id)));
    expect(outcomes.filter((o) => o.ok)).toHaveLength(30);
    expect(outcomes.slice(30)).toEqual([
      expect.objectContaining({ ok: false, scope: 'org' }),
      expect.objectContaining({ ok: false, scope: 'org' }),
    ]);
    // Another org is not affected, and the org's budget refills with time.
    expect(limiter.take(secret('k9', 'org_b')).ok).toBe(true);
    now += 1000;
    expect(limiter.take(secret('k5')).ok).toBe(true);
  });

  it('a refused request takes no token from the other bucket', () => {
    const limiter = createRateLimiter({ ...limits, secretPerSecond: 1, orgSecretPerSecond: 3 }, () => 0);
    expect(limiter.take(secret('k1')).ok).toBe(true);
    expect(limiter.take(secret('k1')).ok).toBe(true);
    // k1 is out of tokens: its refusals must not drain the org's remaining 4.
    for (let i = 0; i < 10; i++)
      expect(limiter.take(secret('k1'))).toMatchObject({ ok: false, scope: 'key' });
    for (let i = 0; i < 4; i++) expect(limiter.take(secret(`k${i + 2}`)).ok).toBe(true);
    expect(limiter.take(secret('k9'))).toMatchObject({ ok: false, scope: 'org' });
  });
});
