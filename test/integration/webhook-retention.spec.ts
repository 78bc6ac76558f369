import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS, fixedClock } from '../../src/lib/clock.ts';
import { dataClass } from '../../src/privacy/data-classes.ts';
import { partnerOrg } from '../helpers/retention-fixtures.ts';
import {
  bearer,
  createOrg,
  createProject,
  createTestApp,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';

/**
 * Webhook events and deliveries follow the `webhook_deliveries` data class: 30 days by default
 * (7–90 by contract), counted from their creation, purged by the retention sweeper.
 */
describe('webhook_deliveries: kept for its retention from creation, per org', () => {
  const start = new Date('2026-03-01T00:00:00.000Z');
  const clock = fixedClock(start);
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ clock });
  });
  afterAll(() => t.close());

  it('is registered with its tables, default and bounds', () => {
    expect(dataClass('webhook_deliveries')).toMatchObject({
      tables: ['webhook_deliveries', 'webhook_events'],
      clock: { kind: 'record_age', column: 'created_at' },
      defaultMs: 30 * DAY_MS,
      bounds: { minMs: 7 * DAY_MS, maxMs: 90 * DAY_MS },
    });
  });

  it('purges events and their deliveries one millisecond past 30 days (or a partner’s 7), not before', async () => {
    const standard = await createOrg(t.app, 'Standard');
    const partner = await partnerOrg(t, 'Partner', { webhook_deliveries: '7d' });
    const subscribe = (org: TestOrg) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/webhooks',
        headers: bearer(org.secret),
        payload: { url: 'https://hooks.example.com/retention', events: ['project.created'] },
      });
    await subscribe(standard);
    await subscribe(partner);

    const sweepAt = new Date(start.getTime() + 60 * DAY_MS);
    const eventAt = async (org: TestOrg, at: Date) => {
      clock.set(at);
      const project = await createProject(t.app, org);
      const { rows } = await t.db.systemPool.query(`SELECT id FROM webhook_events WHERE data->>'id' = $1`, [
        project.id,
      ]);
      return rows[0].id as string;
    };
    // Created in time order (the clock only moves forward, as the rate limiter expects).
    const purged = [
      await eventAt(standard, new Date(sweepAt.getTime() - 30 * DAY_MS - 1)),
      await eventAt(partner, new Date(sweepAt.getTime() - 20 * DAY_MS)),
      await eventAt(partner, new Date(sweepAt.getTime() - 7 * DAY_MS - 1)),
    ];
    const kept = [
      await eventAt(standard, new Date(sweepAt.getTime() - 30 * DAY_MS + 1)),
      await eventAt(partner, new Date(sweepAt.getTime() - 7 * DAY_MS + 1)),
    ];
    clock.set(sweepAt);
    const report = await t.container.retentionSweeper.sweep();

    const { rows: events } = await t.db.systemPool.query(`SELECT id FROM webhook_events WHERE id = ANY($1)`, [
      [...kept, ...purged],
    ]);
    expect(events.map((r) => r.id).sort()).toEqual([...kept].sort());
    const { rows: deliveries } = await t.db.systemPool.query(
      `SELECT event_id FROM webhook_deliveries WHERE event_id = ANY($1)`,
      [[...kept, ...purged]],
    );
    expect(deliveries.map((r) => r.event_id).sort()).toEqual([...kept].sort());
    // Three events and their three deliveries, plus the two endpoints' own `created` events (60 days old).
    expect(report.purged.webhook_deliveries).toBe(8);
    const { rows: left } = await t.db.systemPool.query(`SELECT count(*)::int AS n FROM webhook_events`);
    expect(left[0].n).toBe(kept.length);
  });
});
