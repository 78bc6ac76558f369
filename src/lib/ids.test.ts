import { describe, expect, it } from 'vitest';
import { isId, newId } from './ids.ts';

describe('newId', () => {
  it('is a prefix and 26 Crockford base32 characters', () => {
    const id = newId('event');
    expect(id).toMatch(/^evt_[0-9a-hjkmnp-tv-z]{26}$/);
    expect(isId('event', id)).toBe(true);
    expect(isId('org', id)).toBe(false);
  });

  it('encodes the millisecond in the first 10 characters', () => {
    // Later than any id made so far, so the monotonic clock does not move it.
    const at = Date.now() + 3_600_000;
    const body = newId('org', at).slice(4);
    let decoded = 0;
    for (const ch of body.slice(0, 10))
      decoded = decoded * 32 + '0123456789abcdefghjkmnpqrstvwxyz'.indexOf(ch);
    expect(decoded).toBe(at);
  });

  it('sorts in creation order and never repeats, also within one millisecond', () => {
    const now = Date.now() + 7_200_000;
    const ids = Array.from({ length: 20_000 }, () => newId('event', now));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('sorts by time when the clock moves on', () => {
    const base = Date.now() + 10_800_000;
    const ids = [0, 1, 2, 50, 1_000].map((offset) => newId('audit', base + offset));
    expect([...ids].sort()).toEqual(ids);
  });
});
