import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.ts';
import { dataClass } from '../../src/privacy/data-classes.ts';
import { sha256 } from '../helpers/hash.ts';
import { at, count, plusMs, sdkProject } from '../helpers/retention-fixtures.ts';
import { type SdkEvent, sendEvents } from '../helpers/sdk-events.ts';
import { useSdkProjectApp } from '../helpers/sdk-project-app.ts';
import { bearer, createOrg, createTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * Anonymous users (API.md "SDK ingest"): an event carries user_id or anonymous_id or both; an identify
 * with both links the anonymous id to the user, and the user's profile, export, lookup and erasure
 * cover the anonymous events of every linked anonymous id.
 */
const event = (fields: SdkEvent): SdkEvent => ({
  event_id: randomUUID(),
  type: 'track',
  event: 'opened',
  timestamp: new Date().toISOString(),
  ...fields,
});

describe('anonymous ids in SDK ingest', () => {
  const s = useSdkProjectApp();

  const get = (url: string) => s.t.app.inject({ method: 'GET', url, headers: bearer(s.org.secret) });

  it('accepts an event with only an anonymous id; refuses one with neither id', async () => {
    const anon = `anon-${randomUUID()}`;
    const result = await sendEvents(s.t.app, s.pk, [event({ anonymous_id: anon }), event({})]);
    expect(result.accepted).toBe(1);
    expect(result.rejected).toEqual([
      { index: 1, code: 'missing_field', message: 'user_id or anonymous_id is required.' },
    ]);
    const { rows } = await s.t.db.systemPool.query(
      'SELECT user_id, anonymous_id FROM sdk_events WHERE anonymous_id = $1',
      [anon],
    );
    expect(rows).toEqual([{ user_id: null, anonymous_id: anon }]);
    // Not linked to anyone: no profile is created for it.
    expect(await count(s.t.db.systemPool, 'SELECT 1 FROM user_profiles WHERE user_id = $1', [anon])).toBe(0);
  });

  it('an email address as anonymous id is stored as its hash (pii_policy "hash")', async () => {
    const result = await sendEvents(s.t.app, s.pk, [event({ anonymous_id: 'Anon.Person@Example.com' })]);
    expect(result.accepted).toBe(1);
    const hashed = sha256('anon.person@example.com');
    expect(await count(s.t.db.systemPool, 'SELECT 1 FROM sdk_events WHERE anonymous_id = $1', [hashed])).toBe(
      1,
    );
  });

  it('identify with both links: profile, export and lookup cover the anonymous events; first link wins', async () => {
    const anon = `anon-${randomUUID()}`;
    const before = [
      event({
        anonymous_id: anon,
        event: 'viewed',
        timestamp: '2026-11-01T09:00:00.000Z',
        context: { ip: '81.2.69.160' },
      }),
      event({
        type: 'identify',
        event: undefined,
        anonymous_id: anon,
        traits: { email: 'Anon.Buyer@Example.com' },
        timestamp: '2026-11-01T09:05:00.000Z',
      }),
    ];
    const link = event({
      type: 'identify',
      event: undefined,
      user_id: 'u_linked',
      anonymous_id: anon,
      traits: { plan: 'pro' },
      timestamp: '2026-11-01T10:00:00.000Z',
    });
    const after = event({ user_id: 'u_linked', anonymous_id: anon, timestamp: '2026-11-01T11:00:00.000Z' });
    // Another user later claims the same anonymous id: the link stays with the first.
    const claim = event({
      type: 'identify',
      event: undefined,
      user_id: 'u_other',
      anonymous_id: anon,
      timestamp: '2026-11-01T12:00:00.000Z',
    });
    await sendEvents(s.t.app, s.pk, before);
    await sendEvents(s.t.app, s.pk, [link, after]);
    await sendEvents(s.t.app, s.pk, [claim]);

    const { rows: links } = await s.t.db.systemPool.query(
      'SELECT user_id FROM anonymous_ids WHERE project_id = $1 AND anonymous_id = $2',
      [s.projectId, anon],
    );
    expect(links).toEqual([{ user_id: 'u_linked' }]);

    const profile = await get(`/v1/projects/${s.projectId}/users/u_linked`);
    expect(profile.statusCode, profile.body).toBe(200);
    expect(profile.json()).toMatchObject({
      user_id: 'u_linked',
      properties: { plan: 'pro' },
      // The geo came from the anonymous event (the only one with an IP), first seen from it too.
      geo: { country: 'GB', region: 'GB-ENG' },
      first_seen_at: '2026-11-01T09:00:00.000Z',
      last_seen_at: '2026-11-01T11:00:00.000Z',
    });

    const exported = await get(`/v1/projects/${s.projectId}/events/users/u_linked`);
    expect(exported.statusCode).toBe(200);
    const events = exported.json().events as { event_id: string; anonymous_id: string | null }[];
    expect(events.map((e) => e.event_id)).toEqual([...before, link, after].map((e) => e.event_id));
    expect(events.every((e) => e.anonymous_id === anon)).toBe(true);
    // The other user's export holds its own identify only.
    const other = await get(`/v1/projects/${s.projectId}/events/users/u_other`);
    expect(other.json().events.map((e: { event_id: string }) => e.event_id)).toEqual([claim.event_id]);

    const lookup = await s.t.app.inject({
      method: 'POST',
      url: `/v1/projects/${s.projectId}/users/lookup`,
      headers: bearer(s.org.secret),
      payload: { email: 'anon.buyer@example.com' },
    });
    expect(lookup.json()).toEqual({ user_ids: ['u_linked'] });
  });

  it('an erasure of the user erases the anonymous events and the link, and the receipt counts them', async () => {
    const anon = `anon-${randomUUID()}`;
    const unrelated = `anon-${randomUUID()}`;
    await sendEvents(s.t.app, s.pk, [
      event({ anonymous_id: anon }),
      event({ anonymous_id: anon }),
      event({ anonymous_id: unrelated }),
    ]);
    await sendEvents(s.t.app, s.pk, [
      event({ type: 'identify', event: undefined, user_id: 'u_gone', anonymous_id: anon }),
      event({ user_id: 'u_gone' }),
    ]);
    const res = await s.t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${s.projectId}/events/users/u_gone`,
      headers: bearer(s.org.secret),
    });
    expect(res.statusCode).toBe(202);
    await s.t.container.erasure.run(s.org.id, res.json().id);
    const dsr = await get(`/v1/data-subject-requests/${res.json().id}`);
    expect(dsr.json().receipt.erased).toMatchObject({ sdk_events: 4, anonymous_ids: 1, user_profiles: 1 });
    expect(await count(s.t.db.systemPool, 'SELECT 1 FROM sdk_events WHERE anonymous_id = $1', [anon])).toBe(
      0,
    );
    expect(
      await count(s.t.db.systemPool, 'SELECT 1 FROM anonymous_ids WHERE anonymous_id = $1', [anon]),
    ).toBe(0);
    // An anonymous id never linked to the user is not theirs.
    expect(
      await count(s.t.db.systemPool, 'SELECT 1 FROM sdk_events WHERE anonymous_id = $1', [unrelated]),
    ).toBe(1);
  });
});

describe('suppression covers the anonymous ids linked to the user', () => {
  const s = useSdkProjectApp();

  it('refuses later anonymous events of a linked id, and lifting the user lifts it too', async () => {
    const anon = `anon-${randomUUID()}`;
    const other = `anon-${randomUUID()}`;
    await sendEvents(s.t.app, s.pk, [
      event({ type: 'identify', event: undefined, user_id: 'u_quiet', anonymous_id: anon }),
    ]);
    const res = await s.t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${s.projectId}/events/users/u_quiet?suppress=true`,
      headers: bearer(s.org.secret),
    });
    await s.t.container.erasure.run(s.org.id, res.json().id);
    const later = await sendEvents(s.t.app, s.pk, [
      event({ anonymous_id: anon }),
      event({ anonymous_id: other }),
    ]);
    expect(later.accepted).toBe(1);
    expect(later.rejected).toEqual([expect.objectContaining({ index: 0, code: 'user_suppressed' })]);
    expect(await count(s.t.db.systemPool, 'SELECT 1 FROM sdk_events WHERE anonymous_id = $1', [anon])).toBe(
      0,
    );
    const { rows } = await s.t.db.systemPool.query(
      'SELECT subject_sha256 FROM suppressions WHERE project_id = $1',
      [s.projectId],
    );
    expect(rows.map((r) => r.subject_sha256).sort()).toEqual(
      [sha256(`${s.projectId}:u_quiet`), sha256(`anon:${s.projectId}:${anon}`)].sort(),
    );

    const lift = await s.t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${s.projectId}/suppressions/u_quiet`,
      headers: bearer(s.org.secret),
    });
    expect(lift.statusCode, lift.body).toBe(200);
    expect(
      await count(s.t.db.systemPool, 'SELECT 1 FROM suppressions WHERE project_id = $1', [s.projectId]),
    ).toBe(0);
    expect((await sendEvents(s.t.app, s.pk, [event({ anonymous_id: anon })])).accepted).toBe(1);
  });
});

describe('anonymous_ids retention: the link goes with the month of its latest identify', () => {
  const clock = fixedClock(at('2026-01-15T12:00:00.000Z'));
  const januaryEnd = at('2026-02-01T00:00:00.000Z');
  const EVENTS = dataClass('sdk_events').defaultMs as number;
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ clock });
  });
  afterAll(() => t.close());

  it('kept through the end of January + retention, purged one millisecond past', async () => {
    const org = await createOrg(t.app, 'Retention');
    const { publishable } = await sdkProject(t, org);
    await sendEvents(t.app, publishable, [
      event({
        type: 'identify',
        event: undefined,
        user_id: 'u_1',
        anonymous_id: 'a_1',
        timestamp: clock.now().toISOString(),
      }),
    ]);
    const links = () => count(t.db.systemPool, 'SELECT 1 FROM anonymous_ids WHERE org_id = $1', [org.id]);
    expect(await links()).toBe(1);
    clock.set(plusMs(januaryEnd, EVENTS));
    await t.container.retentionSweeper.sweep();
    expect(await links()).toBe(1);
    clock.set(plusMs(januaryEnd, EVENTS + 1));
    const report = await t.container.retentionSweeper.sweep();
    expect(await links()).toBe(0);
    expect(report.purged.anonymous_ids).toBe(1);
  });
});
