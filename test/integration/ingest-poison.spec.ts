import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/lib/clock.ts';
import { createIngestDal, type EventRow, type IngestDal } from '../../src/modules/ingest/ingest-dal.ts';
import { createIngestWriter } from '../../src/modules/ingest/ingest-writer.ts';
import { heldIngestDal, viewRow } from '../helpers/held-ingest-dal.ts';
import { identifyEvent, trackEvent } from '../helpers/sdk-events.ts';
import { useSdkProjectApp } from '../helpers/sdk-project-app.ts';
import { bearer } from '../helpers/test-app.ts';

/**
 * Poison batches: one event PostgreSQL cannot store must cost only that event, never the group
 * commit it shares with other requests (which would answer 503 to all of them, and the SDKs would
 * retry the same batch forever).
 */
describe('ingest: events PostgreSQL would refuse', () => {
  const s = useSdkProjectApp();

  const post = (batch: unknown[]) =>
    s.t.app.inject({ method: 'POST', url: '/v1/sdk/events', headers: bearer(s.pk), payload: { batch } });

  const stored = async (userId: string) => {
    const { rows } = await s.t.db.systemPool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM sdk_events WHERE project_id = $1 AND user_id = $2',
      [s.projectId, userId],
    );
    return rows[0]?.n;
  };

  it('refuses, per event, text with a lone surrogate (values, keys, envelope) and impossible timestamps', async () => {
    const u = 'u_poison_1';
    const cases: Array<[unknown, string]> = [
      [trackEvent(u, 'x', { note: 'broken \ud800 text' }), 'invalid_text'],
      [trackEvent(u, 'x', { ['key\udc00']: 1 }), 'invalid_text'],
      [trackEvent(u, 'x', { deep: { list: ['ok', 'tail\udbff'] } }), 'invalid_text'],
      [identifyEvent(u, { plan: '\udfffpro' }), 'invalid_text'],
      [trackEvent(u, 'name\ud83d'), 'invalid_text'],
      [{ ...trackEvent(u, 'x'), app_id: 'com.example\udc00' }, 'invalid_text'],
      [trackEvent('u_poison_\ud800', 'x'), 'invalid_text'],
      [{ ...trackEvent(u, 'x'), timestamp: '0000-01-01T00:00:00.000Z' }, 'invalid_field'],
      [{ ...trackEvent(u, 'x'), timestamp: '0001-01-01T00:30:00+01:00' }, 'invalid_field'],
      [{ ...trackEvent(u, 'x'), timestamp: '2026-02-30T10:00:00Z' }, 'invalid_field'],
      [{ ...trackEvent(u, 'x'), timestamp: '2025-02-29T10:00:00Z' }, 'invalid_field'],
    ];
    const good = [
      trackEvent(u, 'ok', { emoji: 'a \ud83d\ude00 pair is fine' }),
      { ...trackEvent(u, 'leap'), timestamp: '2024-02-29T10:00:00Z' },
      { ...trackEvent(u, 'old'), timestamp: '0001-01-01T00:00:00Z' },
    ];
    const res = await post([...cases.map(([event]) => event), ...good]);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.accepted).toBe(good.length);
    expect(body.rejected.map((r: { index: number; code: string }) => [r.index, r.code])).toEqual(
      cases.map(([, code], index) => [index, code]),
    );
    for (const r of body.rejected)
      expect(r.message).not.toMatch(/[\ud800-\udfff]|broken|tail|com\.example|u_poison_/);
    expect(await stored(u)).toBe(good.length);
  });

  it('refuses a number that overflowed a double instead of storing null', async () => {
    const res = await s.t.app.inject({
      method: 'POST',
      url: '/v1/sdk/events',
      headers: { ...bearer(s.pk), 'content-type': 'application/json' },
      payload: `{"batch":[${JSON.stringify(trackEvent('u_poison_2', 'n')).replace('"properties":{}', '"properties":{"big":1e400}')},${JSON.stringify(trackEvent('u_poison_2', 'ok', { big: 1.7976931348623157e308 }))}]}`,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ accepted: 1, rejected: [{ index: 0, code: 'invalid_number' }] });
  });

  it('refuses NUL and over-deep nesting per event: the other events of the batch are stored', async () => {
    const u = 'u_poison_nul';
    let deep: unknown = 'leaf';
    for (let i = 0; i < 40; i++) deep = { d: deep };
    const bad = [
      trackEvent(u, 'x', { note: 'nul \u0000 inside' }),
      trackEvent(u, 'x', { ['key\u0000']: 1 }),
      { ...trackEvent(u, 'x'), event_id: 'id\u0000' },
      trackEvent(u, 'x', {}, { context: { os: { name: 'iOS\u0000' } } }),
      trackEvent(u, 'x', { deep }),
    ];
    const good = [trackEvent(u, 'ok'), trackEvent(u, 'ok2', { depth: { two: { three: true } } })];
    const res = await post([...bad, ...good]);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.accepted).toBe(good.length);
    expect(body.rejected.map((r: { index: number }) => r.index)).toEqual(bad.map((_, i) => i));
    for (const r of body.rejected) {
      expect(r.message).not.toContain('\u0000');
      expect(r.message).not.toMatch(/nul |inside|leaf/);
    }
    expect(await stored(u)).toBe(good.length);
  });

  it('concurrent requests sharing one flush with an event the database refuses: the others commit, the bad event alone is rejected', async () => {
    // A stand-in for any value validation did not foresee: the database refuses events named
    // "poison" with a data exception. Events named "hold" wait for a lock the test holds, so the
    // test knows when a flush is in flight and the next requests queue up behind it.
    await s.t.db.systemPool.query(`
      CREATE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.event = 'hold' THEN PERFORM pg_advisory_xact_lock(7341, 12); END IF;
        IF NEW.event = 'poison' THEN RAISE EXCEPTION 'refused by the test' USING ERRCODE = '22023'; END IF;
        RETURN NEW;
      END $$`);
    await s.t.db.systemPool.query(
      'CREATE TRIGGER test_poison BEFORE INSERT ON sdk_events FOR EACH ROW EXECUTE FUNCTION test_poison()',
    );
    const lock = await s.t.db.systemPool.connect();
    try {
      await lock.query('SELECT pg_advisory_lock(7341, 12)');
      const blocker = post([trackEvent('u_hold', 'hold')]);
      await until(async () => {
        const { rows } = await s.t.db.systemPool.query(
          `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'`,
        );
        return rows.length > 0;
      });
      const innocent = Array.from({ length: 4 }, (_, i) =>
        post([trackEvent(`u_innocent_${i}`, 'a'), trackEvent(`u_innocent_${i}`, 'b')]),
      );
      const mixedBatch = [
        trackEvent('u_mixed', 'before'),
        trackEvent('u_mixed', 'poison'),
        trackEvent('u_mixed', 'after'),
      ];
      const mixed = post(mixedBatch);
      // All five wait for the one flush after the held one.
      await until(async () => s.t.container.ingestWriter.waiting() === 5);
      await lock.query('SELECT pg_advisory_unlock(7341, 12)');

      expect((await blocker).statusCode).toBe(200);
      for (const res of await Promise.all(innocent)) {
        expect(res.statusCode).toBe(200);
        expect(res.json()).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
      }
      const res = await mixed;
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body).toMatchObject({
        accepted: 2,
        duplicates: 0,
        rejected: [{ index: 1, code: 'unstorable_event' }],
      });
      expect(body.rejected[0].message).not.toContain('poison');
      for (let i = 0; i < 4; i++) expect(await stored(`u_innocent_${i}`)).toBe(2);
      expect(await stored('u_mixed')).toBe(2);
      // A retry of the same batch is answered the same way, not with a 503 to retry forever.
      const retried = await post(mixedBatch);
      expect(retried.statusCode).toBe(200);
      expect(retried.json()).toMatchObject({
        accepted: 0,
        duplicates: 2,
        rejected: [{ index: 1, code: 'unstorable_event' }],
      });
    } finally {
      await lock.query('SELECT pg_advisory_unlock_all()');
      lock.release();
      await s.t.db.systemPool.query('DROP TRIGGER test_poison ON sdk_events');
      await s.t.db.systemPool.query('DROP FUNCTION test_poison()');
    }
  });

  describe('the writer, given rows validation would have refused', () => {
    let n = 0;
    const row = (patch: Partial<EventRow> = {}): EventRow => {
      n += 1;
      return viewRow(s.projectId, `poison-${n}`, 'u_writer', patch);
    };

    it('splits a refused flush until only the rows PostgreSQL refuses are left out', async () => {
      const observed = heldIngestDal();
      const writer = createIngestWriter({ pool: s.t.db.appPool, dal: observed.dal, clock: systemClock });
      const first = writer.write(s.org.id, [row()]);
      await new Promise((r) => setImmediate(r));
      const good = Array.from({ length: 6 }, () => [row(), row()]);
      const bad = [
        row({ properties: { text: 'nul \u0000 in jsonb' } }),
        row(),
        row({ user_id: 'nul\u0000in text' }),
        row({ timestamp: new Date('0000-06-01T00:00:00Z') }),
      ];
      const writes = [...good, bad].map((rows) => writer.write(s.org.id, rows));
      await until(async () => writer.waiting() === 7);
      observed.release();
      await first;
      const outcomes = await Promise.all(writes);
      for (const o of outcomes.slice(0, 6)) {
        expect(o.inserted.size).toBe(2);
        expect(o.refused ?? []).toEqual([]);
      }
      const last = outcomes[6];
      expect(last?.inserted.size).toBe(1);
      expect(last?.refused).toEqual([0, 2, 3]);
      // One statement for the shared flush, then halves of it: bounded, and never retried as a whole.
      expect(observed.flushes[1]).toBe(16);
      expect(observed.flushes.length).toBeLessThan(2 + 2 * 4 * Math.ceil(Math.log2(16)));
      const ids = [...good.flat(), ...bad].map((r) => r.event_id);
      const { rows } = await s.t.db.systemPool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM sdk_events WHERE project_id = $1 AND event_id = ANY($2)',
        [s.projectId, ids],
      );
      expect(rows[0]?.n).toBe(13);
    });

    it('still fails the flush (503 upstream) on errors that are not about the data', async () => {
      const real = createIngestDal();
      const dal: IngestDal = {
        ...real,
        async writeBatch() {
          throw Object.assign(new Error('connection terminated'), { code: '57P01' });
        },
      };
      const writer = createIngestWriter({ pool: s.t.db.appPool, dal, clock: systemClock });
      await expect(writer.write(s.org.id, [row(), row()])).rejects.toThrow('connection terminated');
    });
  });
});

/** Polls `check` until it holds (bounded: fails the test after 10 s). */
async function until(check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached within 10 s');
    await new Promise((r) => setTimeout(r, 10));
  }
}
