import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.ts';
import { ensureEventPartitions } from '../../src/modules/ingest/event-partitions.ts';
import { type SdkEvent, sendEvents, trackEvent } from '../helpers/sdk-events.ts';
import { createSdkProject, createTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * Dedup across months of receipt (migration 0007): earlier months are searched back to the event's
 * timestamp minus the lookback, which every earlier copy of the same event falls within.
 */
describe('SDK ingest dedup across months', () => {
  const clock = fixedClock(new Date('2026-01-20T12:00:00Z'));
  let t: TestApp;
  let pk: string;
  beforeAll(async () => {
    t = await createTestApp({ clock });
    ({ publishableKey: pk } = await createSdkProject(t.app));
  });
  afterAll(() => t.close());

  /** Moves the clock, with that month's partition in place as the partition keeper would have it. */
  async function receiveAt(iso: string) {
    clock.set(new Date(iso));
    await ensureEventPartitions(t.db.system, clock.now());
  }

  const at = (timestamp: string, userId = 'u_months'): SdkEvent => ({
    ...trackEvent(userId, 'view'),
    timestamp,
  });

  async function storedMonths(eventId: string): Promise<string[]> {
    const { rows } = await t.db.systemPool.query(
      `SELECT to_char(received_month, 'YYYY-MM') AS month FROM sdk_events WHERE event_id = $1 ORDER BY 1`,
      [eventId],
    );
    return rows.map((r) => r.month as string);
  }

  const live = at('2026-01-20T11:59:00Z');
  // Dated 22 h ahead of the clock that received it: the furthest a copy can be from its timestamp.
  const ahead = at('2026-02-01T10:00:00Z');
  // Sent months after it happened (an offline device catching up).
  const backfill = at('2025-10-05T08:00:00Z');

  it('recognises retries months later: live, dated ahead of receipt, and backfilled events', async () => {
    await receiveAt('2026-01-20T12:00:00Z');
    expect(await sendEvents(t.app, pk, [live, backfill])).toMatchObject({ accepted: 2, duplicates: 0 });
    await receiveAt('2026-01-31T12:00:00Z');
    expect(await sendEvents(t.app, pk, [ahead])).toMatchObject({ accepted: 1, duplicates: 0 });

    await receiveAt('2026-04-10T09:00:00Z');
    expect(await sendEvents(t.app, pk, [live, ahead, backfill])).toMatchObject({
      accepted: 0,
      duplicates: 3,
    });
    for (const event of [live, ahead, backfill]) {
      expect(await storedMonths(event.event_id as string)).toEqual(['2026-01']);
    }
  });

  it('stores an event_id reused for a later event in a later month; catches reuse within a month', async () => {
    await receiveAt('2026-05-03T09:00:00Z');
    const reused = { ...at('2026-05-03T08:00:00Z'), event_id: live.event_id };
    expect(await sendEvents(t.app, pk, [reused])).toMatchObject({ accepted: 1, duplicates: 0 });
    const again = { ...at('2026-05-03T08:30:00Z'), event_id: live.event_id };
    expect(await sendEvents(t.app, pk, [again])).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(await storedMonths(live.event_id as string)).toEqual(['2026-01', '2026-05']);
  });
});
