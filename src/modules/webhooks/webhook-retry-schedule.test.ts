import { describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS } from '../../lib/clock.ts';
import {
  JITTER_RANGE,
  MAX_ATTEMPTS,
  nextAttemptAt,
  nominalDelayMs,
  parseRetryAfter,
} from './webhook-retry-schedule.ts';

const now = new Date('2026-11-27T10:00:00.000Z');

describe('webhook retry schedule', () => {
  it('backs off exponentially to a 12 h cap and spans about three days over 12 attempts', () => {
    const delays = Array.from({ length: MAX_ATTEMPTS - 1 }, (_, i) => nominalDelayMs(i + 1));
    expect(delays.slice(0, 6)).toEqual([30_000, 120_000, 480_000, 1_920_000, 7_680_000, 30_720_000]);
    expect(delays.slice(6)).toEqual(Array(5).fill(12 * HOUR_MS));
    const total = delays.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(2.9 * DAY_MS);
    expect(total).toBeLessThan(3 * DAY_MS);
  });

  it('jitters each delay within ±15% and stops after the last attempt', () => {
    for (let failed = 1; failed < MAX_ATTEMPTS; failed++) {
      const low = nextAttemptAt({ failedAttempts: failed, now, retryAfter: null, random: () => 0 });
      const high = nextAttemptAt({ failedAttempts: failed, now, retryAfter: null, random: () => 0.999999 });
      const nominal = nominalDelayMs(failed);
      expect((low as Date).getTime() - now.getTime()).toBe(Math.round(nominal * JITTER_RANGE.min));
      expect((high as Date).getTime() - now.getTime()).toBeLessThanOrEqual(nominal * JITTER_RANGE.max);
      expect((high as Date).getTime() - now.getTime()).toBeGreaterThan(nominal);
    }
    expect(nextAttemptAt({ failedAttempts: MAX_ATTEMPTS, now, retryAfter: null })).toBeNull();
  });

  it('honours Retry-After (seconds or HTTP date): never earlier than asked, capped at a day', () => {
    const at = (retryAfter: string) =>
      (nextAttemptAt({ failedAttempts: 1, now, retryAfter, random: () => 0.5 }) as Date).getTime() -
      now.getTime();
    expect(at('600')).toBe(600_000);
    expect(at(new Date(now.getTime() + 3_600_000).toUTCString())).toBe(3_600_000);
    // Sooner than the backoff: the backoff wins (the endpoint asked for "not before", not "exactly").
    expect(at('1')).toBe(30_000);
    expect(at(String(10 * 86_400))).toBe(DAY_MS);
    expect(at('soon')).toBe(30_000);
    expect(parseRetryAfter(null, now)).toBeNull();
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now)).toBe(0);
  });
});
