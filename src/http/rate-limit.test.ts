import { describe, expect, it } from 'vitest';
import { createRateLimiter } from './rate-limit.ts';

describe('per-key rate limiter', () => {
  it('allows a burst of 2 s worth, then asks to wait until a token refills', () => {
    let now = 0;
    const limiter = createRateLimiter({ secretPerSecond: 10, publishablePerSecond: 100 }, () => now);
    for (let i = 0; i < 20; i++) expect(limiter.take('key_a', 'secret')).toBe(0);
    const wait = limiter.take('key_a', 'secret');
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(100);
    now += wait;
    expect(limiter.take('key_a', 'secret')).toBe(0);
    expect(limiter.take('key_b', 'secret')).toBe(0);
  });

  it('uses the publishable rate for publishable keys', () => {
    const limiter = createRateLimiter({ secretPerSecond: 1, publishablePerSecond: 100 }, () => 0);
    for (let i = 0; i < 200; i++) expect(limiter.take('pk', 'publishable')).toBe(0);
    expect(limiter.take('pk', 'publishable')).toBeGreaterThan(0);
  });
});
