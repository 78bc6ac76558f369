import { describe, expect, it } from 'vitest';
import { isRejection, validateEvent } from './event-validator.ts';

const now = new Date('2026-12-01T12:00:00Z');
const base = {
  event_id: 'e-1',
  type: 'track',
  event: 'purchase',
  user_id: 'u_1',
  timestamp: '2026-12-01T11:00:00Z',
  app_id: 'com.example.app',
};
const codeOf = (event: Record<string, unknown>) => {
  const r = validateEvent({ ...base, ...event }, now);
  return isRejection(r) ? r.code : 'ok';
};

describe('event validation: what PostgreSQL would refuse', () => {
  it('refuses NUL in envelope strings, property values and keys (text and jsonb cannot hold it)', () => {
    expect(codeOf({ user_id: 'u\u0000' })).toBe('invalid_text');
    expect(codeOf({ event: 'a\u0000b' })).toBe('invalid_text');
    expect(codeOf({ app_id: '\u0000' })).toBe('invalid_text');
    expect(codeOf({ properties: { a: ['x', 'y\u0000'] } })).toBe('invalid_text');
    expect(codeOf({ properties: { 'k\u0000': 1 } })).toBe('invalid_text');
    expect(codeOf({ type: 'identify', traits: { plan: '\u0000' } })).toBe('invalid_text');
  });

  it('refuses unpaired surrogates and keeps paired ones', () => {
    expect(codeOf({ properties: { a: '\ud800' } })).toBe('invalid_text');
    expect(codeOf({ properties: { a: 'x\udc00y' } })).toBe('invalid_text');
    expect(codeOf({ properties: { a: '\ude00\ud83d' } })).toBe('invalid_text');
    expect(codeOf({ properties: { a: '\ud83d\ude00' } })).toBe('ok');
  });

  it('refuses numbers that overflowed a double, keeps the largest finite ones', () => {
    expect(codeOf({ properties: { a: Number.POSITIVE_INFINITY } })).toBe('invalid_number');
    expect(codeOf({ properties: { a: [Number.NaN] } })).toBe('invalid_number');
    expect(codeOf({ properties: { a: Number.MAX_VALUE, b: -Number.MAX_VALUE, c: 5e-324 } })).toBe('ok');
  });

  it('refuses timestamps outside what PostgreSQL and ISO 8601 share, and impossible dates', () => {
    for (const ts of [
      '0000-01-01T00:00:00Z',
      '0001-01-01T00:00:00+00:01',
      '2026-02-29T00:00:00Z',
      '2100-02-29T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-00-10T00:00:00Z',
      '2026-01-00T00:00:00Z',
    ]) {
      expect([ts, codeOf({ timestamp: ts })]).toEqual([ts, 'invalid_field']);
    }
    for (const ts of ['0001-01-01T00:00:00Z', '2024-02-29T23:59:59.999Z', '2000-02-29T00:00:00+05:30']) {
      expect([ts, codeOf({ timestamp: ts })]).toEqual([ts, 'ok']);
    }
  });
});
