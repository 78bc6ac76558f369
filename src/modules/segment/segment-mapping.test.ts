import { describe, expect, it } from 'vitest';
import { isRejection, validateEvent } from '../ingest/event-validator.ts';
import { correctedTimestamp, parseTime, toNativeEvent } from './segment-mapping.ts';

const RECEIVED = Date.parse('2026-11-30T12:00:00.000Z');
const opts = { receivedAt: RECEIVED, sentAt: undefined, defaultContext: undefined };
const IDFA = '6D92078A-8246-4BA4-AE5B-76104861E7DC';

describe('Segment clock-skew correction', () => {
  it('timestamp = receivedAt − (sentAt − timestamp)', () => {
    const sentAt = parseTime('2026-11-30T12:05:00.000Z');
    expect(correctedTimestamp('2026-11-30T12:04:00.000Z', sentAt, RECEIVED)).toEqual(
      new Date('2026-11-30T11:59:00.000Z'),
    );
  });
  it('keeps the timestamp without sentAt, uses receipt without a timestamp, passes junk on', () => {
    expect(correctedTimestamp('2026-01-01T00:00:00+02:00', undefined, RECEIVED)).toBe(
      '2026-01-01T00:00:00+02:00',
    );
    expect(correctedTimestamp(undefined, undefined, RECEIVED)).toEqual(new Date('2026-11-30T12:00:00.000Z'));
    expect(correctedTimestamp('not a date', RECEIVED, RECEIVED)).toBe('not a date');
    expect(parseTime('nope')).toBeUndefined();
  });
  it('reads times as strictly as the validator: an impossible date is not rolled over', () => {
    const sentAt = parseTime('2026-11-30T12:05:00.000Z');
    // Feb 30 is passed on as sent, and the validator refuses it (it is not March 2).
    expect(correctedTimestamp('2026-02-30T12:00:00Z', sentAt, RECEIVED)).toBe('2026-02-30T12:00:00Z');
    const refused = validateEvent(
      {
        event_id: 'e1',
        type: 'track',
        event: 'x',
        user_id: 'u',
        timestamp: correctedTimestamp('2026-02-30T12:00:00Z', sentAt, RECEIVED),
      },
      new Date(RECEIVED),
    );
    expect(isRejection(refused) && refused.message).toBe('timestamp is not a valid date.');
    // A sentAt that is no date (impossible, or not ISO 8601 with a zone) is ignored.
    expect(parseTime('2025-02-29T00:00:00Z')).toBeUndefined();
    expect(parseTime('Mon, 30 Nov 2026 12:05:00 GMT')).toBeUndefined();
    expect(parseTime('2026-11-30T12:05:00')).toBeUndefined();
    expect(parseTime('2024-02-29T00:00:00Z')).toBe(Date.parse('2024-02-29T00:00:00Z'));
  });
  it("a message's own sentAt wins over its batch's", () => {
    const mapped = toNativeEvent(
      {
        type: 'track',
        messageId: 'm',
        userId: 'u',
        event: 'e',
        timestamp: '2026-11-30T12:00:00.000Z',
        sentAt: '2026-11-30T12:00:10.000Z',
      },
      { ...opts, sentAt: parseTime('2026-11-30T12:00:00.000Z') },
    );
    expect(mapped).toMatchObject({ timestamp: new Date('2026-11-30T11:59:50.000Z') });
  });
  it('the corrected instant is validated as it is: stored when in range, refused per message outside', () => {
    const validated = (timestamp: string, sentAt: string) => {
      const mapped = toNativeEvent(
        { type: 'track', messageId: 'm', userId: 'u', event: 'e', timestamp, sentAt },
        opts,
      );
      const valid = validateEvent(mapped, new Date(RECEIVED));
      return isRejection(valid) ? valid.code : valid.timestamp.toISOString();
    };
    expect(validated('2026-11-30T12:00:00.000Z', '2026-11-30T12:00:10.000Z')).toBe(
      '2026-11-30T11:59:50.000Z',
    );
    // Differences past what a Date holds, or landing before year 1 or after 9999 (a client clock far
    // off): a rejection naming the field, never an exception (that would have been a 500).
    expect(validated('-271821-04-20T00:00:00.000Z', '+275760-09-13T00:00:00.000Z')).toBe('invalid_field');
    expect(validated('0001-01-01T00:00:00.000Z', '2500-01-01T00:00:00.000Z')).toBe('invalid_field');
    expect(validated('2500-01-01T00:00:00.000Z', '2026-11-30T12:00:00.000Z')).toBe('timestamp_in_future');
    expect(validated('9000-01-01T00:00:00.000Z', '0001-01-01T00:00:00.000Z')).toBe('invalid_field');
    expect(validated('+200000-01-01T00:00:00.000Z', '+200000-01-01T00:00:10.000Z')).toBe(
      '2026-11-30T11:59:50.000Z',
    );
  });
});

describe('Segment context → native context', () => {
  const context = (ctx: Record<string, unknown>) =>
    (
      toNativeEvent({ type: 'track', messageId: 'm', userId: 'u', event: 'e', context: ctx }, opts) as {
        context: Record<string, unknown>;
      }
    ).context;

  it('advertisingId becomes idfa on iOS, gaid on Android, nothing elsewhere or when zeroed', () => {
    expect(context({ device: { advertisingId: IDFA, type: 'ios' } }).device).toEqual({ idfa: IDFA });
    expect(context({ device: { advertisingId: IDFA }, os: { name: 'Android' } }).device).toEqual({
      gaid: IDFA,
    });
    expect(context({ device: { advertisingId: IDFA, type: 'web' } }).device).toEqual({});
    expect(
      context({ device: { advertisingId: '00000000-0000-0000-0000-000000000000', type: 'ios' } }).device,
    ).toEqual({});
    expect(
      context({ device: { advertisingId: 'not-a-uuid', type: 'ios', adTrackingEnabled: false, model: 'X' } })
        .device,
    ).toEqual({
      ad_tracking_enabled: false,
      model: 'X',
    });
  });

  it('keeps an IP address only if it is one, and drops the fields Layers does not keep', () => {
    expect(context({ ip: '81.2.69.160', userAgent: 'UA', page: { url: 'u' }, locale: 'en-US' })).toEqual({
      ip: '81.2.69.160',
      locale: 'en-US',
    });
    expect(context({ ip: 'unknown' })).toEqual({});
  });
});

describe('Segment message types', () => {
  it('numbers as ids become text; group is refused; alias links previousId', () => {
    expect(
      toNativeEvent({ type: 'identify', messageId: 'm', userId: 7, anonymousId: 8 }, opts),
    ).toMatchObject({
      type: 'identify',
      user_id: '7',
      anonymous_id: '8',
    });
    expect(toNativeEvent({ type: 'group', messageId: 'm', userId: 'u' }, opts)).toMatchObject({
      code: 'unsupported_type',
    });
    expect(
      toNativeEvent({ type: 'alias', messageId: 'm', userId: 'u', previousId: 'a' }, opts),
    ).toMatchObject({
      type: 'identify',
      user_id: 'u',
      anonymous_id: 'a',
    });
    expect(toNativeEvent({ type: 'nope' }, opts)).toMatchObject({ code: 'invalid_field' });
    expect(toNativeEvent([], opts)).toMatchObject({ code: 'invalid_event' });
  });

  it('page keeps its properties and adds name and category', () => {
    expect(
      toNativeEvent(
        {
          type: 'page',
          messageId: 'm',
          anonymousId: 'a',
          name: 'Pricing',
          category: 'Docs',
          properties: { path: '/p' },
        },
        opts,
      ),
    ).toMatchObject({
      type: 'track',
      event: 'Page Viewed',
      properties: { path: '/p', name: 'Pricing', category: 'Docs' },
    });
  });
});
