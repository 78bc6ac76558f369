import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dateStoredIdentifiers } from '../../src/db/migrations/0013-profile-identifier-months.ts';
import { DAY_MS, fixedClock } from '../../src/lib/clock.ts';
import { dataClass } from '../../src/privacy/data-classes.ts';
import { sha256 } from '../helpers/hash.ts';
import { at, partnerOrg, plusMs, sdkProject, tableExists } from '../helpers/retention-fixtures.ts';
import { identifyEvent, sendEvents, trackEvent } from '../helpers/sdk-events.ts';
import { bearer, createOrg, createProject, createTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * "Hashed PII (email/phone): same as the event it rides on." A profile's hashed identifier goes when
 * the last event that carried it is purged — by a whole-partition drop or by a shorter contract's
 * batched deletes — even though the profile itself lives on (a later identify keeps it current), and
 * lookup stops matching it. Driven with a fixed clock through the retention sweeper.
 */
const EVENTS = dataClass('sdk_events').defaultMs as number;

describe('hashed identifiers on profiles follow the events that carried them', () => {
  const clock = fixedClock(at('2026-01-15T12:00:00.000Z'));
  const januaryEnd = at('2026-02-01T00:00:00.000Z');
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ clock });
  });
  afterAll(() => t.close());

  const ts = () => ({ timestamp: clock.now().toISOString() });
  const sweepAt = async (d: Date) => {
    clock.set(d);
    return t.container.retentionSweeper.sweep();
  };
  const lookup = async (secret: string, projectId: string, body: Record<string, string>) => {
    const res = await t.app.inject({
      method: 'POST',
      url: `/v1/projects/${projectId}/users/lookup`,
      headers: bearer(secret),
      payload: body,
    });
    expect(res.statusCode, res.body).toBe(200);
    return (res.json() as { user_ids: string[] }).user_ids;
  };
  const profile = async (secret: string, projectId: string, userId: string) => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/v1/projects/${projectId}/users/${userId}`,
      headers: bearer(secret),
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { hashed_identifiers: { email_sha256: string[]; phone_sha256: string[] } };
  };

  it('a whole-partition drop takes the hashes only January carried; later ones stay', async () => {
    clock.set(at('2026-01-15T12:00:00.000Z'));
    const org = await createOrg(t.app, 'Default retention');
    const { projectId, publishable } = await sdkProject(t, org);
    await sendEvents(t.app, publishable, [
      identifyEvent('u_1', { email: 'old@example.com', phone: '+1 650 555 0100', plan: 'free' }, ts()),
    ]);
    // March: the same user identifies again with another email (no phone): the profile stays current.
    clock.set(at('2026-03-10T09:00:00.000Z'));
    await sendEvents(t.app, publishable, [
      identifyEvent('u_1', { email: 'new@example.com', plan: 'pro' }, ts()),
    ]);

    // Through the end of January's retention, everything is kept and found.
    await sweepAt(plusMs(januaryEnd, EVENTS));
    expect(await lookup(org.secret, projectId, { email: 'old@example.com' })).toEqual(['u_1']);
    expect((await profile(org.secret, projectId, 'u_1')).hashed_identifiers.email_sha256.sort()).toEqual(
      [sha256('old@example.com'), sha256('new@example.com')].sort(),
    );

    // One millisecond later January's partition is dropped, and the hashes only it carried go with it.
    const report = await sweepAt(plusMs(januaryEnd, EVENTS + 1));
    expect(report.partitions_dropped.map((p) => p.partition)).toContain('sdk_events_2026_01');
    expect(await tableExists(t.db.systemPool, 'sdk_events_2026_01')).toBe(false);
    expect((await profile(org.secret, projectId, 'u_1')).hashed_identifiers).toEqual({
      email_sha256: [sha256('new@example.com')],
      phone_sha256: [],
    });
    expect(await lookup(org.secret, projectId, { email: 'old@example.com' })).toEqual([]);
    expect(await lookup(org.secret, projectId, { email_sha256: sha256('old@example.com') })).toEqual([]);
    expect(await lookup(org.secret, projectId, { phone: '+1 650 555 0100' })).toEqual([]);
    expect(await lookup(org.secret, projectId, { email: 'new@example.com' })).toEqual(['u_1']);
    const { rows } = await t.db.systemPool.query(
      `SELECT count(*)::int AS n FROM user_profiles WHERE $1 = ANY(email_sha256) OR $2 = ANY(phone_sha256)`,
      [sha256('old@example.com'), sha256('16505550100')],
    );
    expect(rows[0].n).toBe(0);
  });

  it("a shorter contract's batched deletes take them too; a hash carried again later stays", async () => {
    clock.set(at('2026-01-20T12:00:00.000Z'));
    const org = await partnerOrg(t, 'Short contract', { sdk_events: '60d' });
    const { projectId, publishable } = await sdkProject(t, org);
    await sendEvents(t.app, publishable, [
      identifyEvent('u_2', { email: 'kept@example.com', phone: '+1 650 555 0199' }, ts()),
    ]);
    // February: a track event carries the email again (not the phone), and the user identifies.
    clock.set(at('2026-02-05T12:00:00.000Z'));
    await sendEvents(t.app, publishable, [
      trackEvent('u_2', 'opened', {}, { ...ts(), traits: { email: 'kept@example.com' } }),
      identifyEvent('u_2', { plan: 'pro' }, ts()),
    ]);
    expect(await lookup(org.secret, projectId, { phone: '+1 650 555 0199' })).toEqual(['u_2']);

    // Before January has passed the 60 days, a self-check at that time already sees the phone overdue.
    const overdue = await t.container.retentionSweeper.overdue(plusMs(januaryEnd, 60 * DAY_MS + 1));
    expect(overdue).toContainEqual({
      data_class: 'user_profiles',
      table: 'user_profiles (hashed identifiers)',
      rows: 1,
    });

    await sweepAt(plusMs(januaryEnd, 60 * DAY_MS));
    expect(await lookup(org.secret, projectId, { phone: '+1 650 555 0199' })).toEqual(['u_2']);
    const report = await sweepAt(plusMs(januaryEnd, 60 * DAY_MS + 1));
    expect(report.purged.sdk_events).toBe(1);
    expect(await lookup(org.secret, projectId, { phone: '+1 650 555 0199' })).toEqual([]);
    expect(await lookup(org.secret, projectId, { email: 'kept@example.com' })).toEqual(['u_2']);
    expect((await profile(org.secret, projectId, 'u_2')).hashed_identifiers).toEqual({
      email_sha256: [sha256('kept@example.com')],
      phone_sha256: [],
    });
    expect(
      (await t.container.retentionSweeper.overdue(clock.now())).filter(
        (o) => o.table === 'user_profiles (hashed identifiers)',
      ),
    ).toEqual([{ data_class: 'user_profiles', table: 'user_profiles (hashed identifiers)', rows: 0 }]);
  });

  it('ingest merges hashes with their latest month: the batch first, each once, at most keep', async () => {
    const merge = async (keep: number) =>
      (
        await t.db.systemPool.query(
          `SELECT hashes, months::text[] AS months
           FROM merge_dated_hashes('{a,b}', '{2026-01-01,2026-04-01}', '{c,a,b}', '2026-03-01', $1)`,
          [keep],
        )
      ).rows[0];
    // b keeps April (a clock ahead wrote it): the later month wins; the batch's latest (b) comes first.
    expect(await merge(20)).toEqual({
      hashes: ['b', 'a', 'c'],
      months: ['2026-04-01', '2026-03-01', '2026-03-01'],
    });
    expect(await merge(2)).toEqual({ hashes: ['b', 'a'], months: ['2026-04-01', '2026-03-01'] });
  });

  it('migration 0013 dates stored hashes from the stored events and drops those no event carries', async () => {
    const org = await createOrg(t.app, 'Before 0013');
    const project = await createProject(t.app, org);
    const [a, b, c] = ['a@example.com', 'b@example.com', 'c@example.com'].map(sha256) as [
      string,
      string,
      string,
    ];
    await t.db.systemPool.query(
      `INSERT INTO user_profiles (org_id, project_id, user_id, email_sha256, email_sha256_months, created_at, updated_at)
       VALUES ($1, $2, 'u_old', $3, '{2000-01-01,2000-01-01,2000-01-01}', now(), now())`,
      [org.id, project.id, [a, b, c]],
    );
    const plant = (eventId: string, hash: string, month: string) =>
      t.db.systemPool.query(
        `INSERT INTO sdk_events (id, org_id, project_id, event_id, type, user_id, timestamp, received_at, received_month, email_sha256)
         VALUES ($1, $2, $3, $4, 'identify', 'u_old', $5::timestamptz, $5::timestamptz, $5::date, $6)`,
        [`evt_${eventId}`, org.id, project.id, eventId, month, hash],
      );
    await plant('m1', a, '2026-01-01');
    await plant('m2', a, '2026-03-01');
    await plant('m3', c, '2026-02-01');
    await dateStoredIdentifiers(t.db.system as unknown as Kysely<unknown>);
    const { rows } = await t.db.systemPool.query(
      `SELECT email_sha256, email_sha256_months::text[] AS months FROM user_profiles WHERE project_id = $1`,
      [project.id],
    );
    expect(rows).toEqual([{ email_sha256: [a, c], months: ['2026-03-01', '2026-02-01'] }]);
  });
});

describe('a retry accepted again in a later month dates nothing by that month', () => {
  const clock = fixedClock(at('2026-01-31T23:00:00.000Z'));
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ clock });
  });
  afterAll(() => t.close());

  it("the hash (and the profile) go with the first copy's month, not the retry's", async () => {
    const org = await createOrg(t.app, 'Retries');
    const { projectId, publishable } = await sdkProject(t, org);
    const january = { timestamp: clock.now().toISOString() };
    const event = identifyEvent('u_r', { email: 'retry@example.com' }, january);
    const other = identifyEvent('u_m', { email: 'mixed@example.com' }, january);
    await sendEvents(t.app, publishable, [event, other]);
    // Two hours later, in February, the SDK retries the same batch (it never saw the 200): a duplicate,
    // stored once, in January.
    clock.set(at('2026-02-01T01:00:00.000Z'));
    // u_m also identifies afresh in February, without an email: its profile is current, its email is not.
    const february = { timestamp: clock.now().toISOString() };
    const retry = await sendEvents(t.app, publishable, [
      event,
      other,
      trackEvent('u_r', 'opened', {}, february),
      identifyEvent('u_m', { plan: 'pro' }, february),
    ]);
    expect(retry).toMatchObject({ accepted: 2, duplicates: 2 });

    clock.set(plusMs(at('2026-02-01T00:00:00.000Z'), EVENTS + 1));
    await t.container.retentionSweeper.sweep();
    for (const email of ['retry@example.com', 'mixed@example.com']) {
      const res = await t.app.inject({
        method: 'POST',
        url: `/v1/projects/${projectId}/users/lookup`,
        headers: bearer(org.secret),
        payload: { email },
      });
      expect(res.json().user_ids, email).toEqual([]);
    }
    const { rows } = await t.db.systemPool.query(
      `SELECT user_id, email_sha256, properties FROM user_profiles WHERE org_id = $1`,
      [org.id],
    );
    expect(rows).toEqual([{ user_id: 'u_m', email_sha256: [], properties: { plan: 'pro' } }]);
  });
});
