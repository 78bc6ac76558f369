import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { serializeBatch, takeBatch } from '../src/batcher.js';
import { utf8ByteLength } from '../src/byte-size.js';
import type { QueuedEvent } from '../src/event.js';
import { batchBodyBytes, KEEPALIVE_MAX_BYTES, MAX_BATCH_BYTES, MAX_EVENT_BYTES } from '../src/limits.js';

function queued(id: number, payload: string): QueuedEvent {
  const event = {
    event_id: `e${id}`,
    type: 'track' as const,
    event: 'x',
    timestamp: '2026-11-27T10:00:00.000Z',
    app_id: 'a',
    properties: { payload },
  };
  return { event, bytes: Buffer.byteLength(JSON.stringify(event)) };
}

describe('utf8ByteLength', () => {
  it('equals the UTF-8 encoding length for any string, including lone surrogates', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(utf8ByteLength(text)).toBe(new TextEncoder().encode(text).length);
      }),
      { numRuns: 500 },
    );
  });

  it('counts multi-byte characters', () => {
    expect(utf8ByteLength('a')).toBe(1);
    expect(utf8ByteLength('é')).toBe(2);
    expect(utf8ByteLength('例')).toBe(3);
    expect(utf8ByteLength('😀')).toBe(4);
    expect(utf8ByteLength('\ud800')).toBe(3);
  });
});

describe('batch size arithmetic', () => {
  it('batchBodyBytes equals the byte length of the serialized body', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme' }), { maxLength: 20 }), (payloads) => {
        const batch = payloads.map((p, i) => queued(i, p));
        expect(batchBodyBytes(batch.map((b) => b.bytes))).toBe(Buffer.byteLength(serializeBatch(batch)));
        expect(JSON.parse(serializeBatch(batch))).toEqual({ batch: batch.map((b) => b.event) });
      }),
    );
  });

  it('the limits are the contract numbers', () => {
    expect(MAX_BATCH_BYTES).toBe(512_000);
    expect(MAX_EVENT_BYTES).toBe(32_768);
    expect(KEEPALIVE_MAX_BYTES).toBe(65_536);
  });
});

describe('takeBatch', () => {
  it('never exceeds the count or byte budget, keeps queue order, skips in-flight events', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 30_000 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: batchBodyBytes([MAX_EVENT_BYTES]), max: MAX_BATCH_BYTES }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (sizes, maxEvents, maxBytes, inFlightPicks) => {
          const items = sizes.map((size, i) => queued(i, 'é'.repeat(Math.floor(size / 2))));
          const inFlight = new Set(inFlightPicks.map((p) => `e${p % items.length}`));
          const batch = takeBatch(items, inFlight, { maxEvents, maxBytes });
          expect(batch.length).toBeLessThanOrEqual(maxEvents);
          expect(Buffer.byteLength(serializeBatch(batch))).toBeLessThanOrEqual(maxBytes);
          expect(batch.some((b) => inFlight.has(b.event.event_id))).toBe(false);
          const available = items.filter((i) => !inFlight.has(i.event.event_id));
          // A prefix of the available events, so delivery order follows tracking order...
          expect(batch).toEqual(available.slice(0, batch.length));
          // ...and progress is always made when something is available (every event fits alone).
          if (available.length > 0) expect(batch.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('fills a batch exactly up to the byte limit, not one byte over', () => {
    const a = queued(1, 'x'.repeat(100));
    const b = queued(2, 'x'.repeat(100));
    const exact = batchBodyBytes([a.bytes, b.bytes]);
    expect(takeBatch([a, b], new Set(), { maxEvents: 10, maxBytes: exact })).toHaveLength(2);
    expect(takeBatch([a, b], new Set(), { maxEvents: 10, maxBytes: exact - 1 })).toHaveLength(1);
  });
});
