import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter, retryAfterJitter } from '../src/backoff.js';

const policy = { baseMs: 1_000, maxMs: 60_000 };

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-27T10:00:00.000Z');

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
  });

  it('reads an HTTP date relative to now', () => {
    expect(parseRetryAfter('Fri, 27 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
  });

  it('a date in the past means now', () => {
    expect(parseRetryAfter('Fri, 27 Nov 2026 09:00:00 GMT', now)).toBe(0);
  });

  it('absent or garbage means no instruction', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});

describe('backoffDelay', () => {
  it('doubles per attempt up to the cap, with jitter between half and the whole nominal delay', () => {
    expect(backoffDelay(1, policy, () => 0)).toBe(500);
    expect(backoffDelay(1, policy, () => 0.999_999)).toBe(1_000);
    expect(backoffDelay(2, policy, () => 0)).toBe(1_000);
    expect(backoffDelay(3, policy, () => 0)).toBe(2_000);
    expect(backoffDelay(20, policy, () => 0)).toBe(30_000);
    expect(backoffDelay(20, policy, () => 0.999_999)).toBe(60_000);
    expect(backoffDelay(10_000, policy, () => 0.5)).toBe(45_000);
  });

  it('Retry-After jitter only ever adds, at most 10% and at most a second', () => {
    expect(retryAfterJitter(30_000, () => 0)).toBe(0);
    expect(retryAfterJitter(30_000, () => 0.999_999)).toBe(1_000);
    expect(retryAfterJitter(2_000, () => 0.999_999)).toBe(200);
  });
});
