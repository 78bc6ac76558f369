import { describe, expect, it } from 'vitest';
import { dumpDatabase } from '../helpers/database-inspection.ts';
import { sha256 } from '../helpers/hash.ts';
import { identifyEvent, sendEvents, trackEvent } from '../helpers/sdk-events.ts';
import { useSdkProjectApp } from '../helpers/sdk-project-app.ts';
import { bearer, createKey, createOrg, createProject } from '../helpers/test-app.ts';

describe('data-subject requests', () => {
  const s = useSdkProjectApp();

  const exportUser = (
    userId: string,
    accept = 'application/json',
    pid = s.projectId,
    secret = s.org.secret,
  ) =>
    s.t.app.inject({
      method: 'GET',
      url: `/v1/projects/${pid}/events/users/${userId}`,
      headers: { ...bearer(secret), accept },
    });

  async function erase(userId: string, pid = s.projectId, secret = s.org.secret, suppress = false) {
    const res = await s.t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${pid}/events/users/${userId}${suppress ? '?suppress=true' : ''}`,
      headers: bearer(secret),
    });
    expect(res.statusCode, res.body).toBe(202);
    const dsr = res.json();
    expect(dsr).toMatchObject({
      object: 'data_subject_request',
      type: 'erasure',
      status: 'pending',
      receipt: null,
    });
    expect(res.body).not.toContain(userId);
    return dsr as { id: string };
  }

  /** What the worker does with the `dsr.erase` job; run inline here, as a real process in the crash test. */
  async function runErasureJob(dsrId: string, orgId = s.org.id) {
    const { rows } = await s.t.db.systemPool.query(
      `SELECT j.payload FROM graphile_worker._private_jobs j JOIN graphile_worker._private_tasks t ON t.id = j.task_id
       WHERE t.identifier = 'dsr.erase' AND j.payload->>'dsr_id' = $1`,
      [dsrId],
    );
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows[0].payload)).not.toMatch(/u_/);
    await s.t.container.erasure.run(orgId, dsrId);
  }

  it('exports exactly what was ingested (minus what ingest drops), as JSON and as streamed NDJSON', async () => {
    const events = [
      identifyEvent(
        'u_export',
        { email: 'Export@Example.com', plan: 'pro' },
        {
          timestamp: '2026-11-01T10:00:00.000Z',
          context: { ip: '81.2.69.160', device: { idfa: '6D92078A-8246-4BA4-AE5B-76104861E7DC' } },
        },
      ),
      trackEvent(
        'u_export',
        'purchase',
        { price: 9.99, nested: { sku: 'a' } },
        { timestamp: '2026-11-01T10:01:00.000Z' },
      ),
      trackEvent('u_export', 'refund', { price: 9.99 }, { timestamp: '2026-11-01T10:02:00.000Z' }),
    ];
    await sendEvents(s.t.app, s.pk, events);
    const json = await exportUser('u_export');
    expect(json.statusCode).toBe(200);
    const body = json.json();
    expect(body.user_id).toBe('u_export');
    expect(body.profile).toEqual({
      properties: { plan: 'pro' },
      hashed_identifiers: { email_sha256: [sha256('export@example.com')], phone_sha256: [] },
    });
    expect(body.events.map((e: { event_id: string }) => e.event_id)).toEqual(events.map((e) => e.event_id));
    expect(body.events[0]).toMatchObject({
      type: 'identify',
      traits: { plan: 'pro' },
      hashed_identifiers: { email_sha256: sha256('export@example.com'), phone_sha256: null },
      geo: { country: 'GB', region: 'GB-ENG' },
      timestamp: '2026-11-01T10:00:00.000Z',
      app_id: 'com.example.app',
    });
    expect(body.events[1]).toMatchObject({
      type: 'track',
      event: 'purchase',
      properties: { price: 9.99, nested: { sku: 'a' } },
    });
    expect(json.body).not.toContain('Export@Example.com');
    expect(json.body).not.toContain('6D92078A');
    expect(json.body).not.toContain('81.2.69.160');

    const nd = await exportUser('u_export', 'application/x-ndjson');
    expect(nd.headers['content-type']).toContain('application/x-ndjson');
    const lines = nd.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ object: 'user', user_id: 'u_export', profile: body.profile });
    expect(lines.slice(1)).toEqual(body.events);
  });

  it('streams users with thousands of events, each exactly once, oldest first (microsecond timestamps included)', async () => {
    // Rows written by other means than the SDK (imports, backfills) can carry microseconds; all
    // 2,250 rows here share one millisecond and must still come out once each, in time order.
    await s.t.db.systemPool.query(
      `INSERT INTO sdk_events (id, org_id, project_id, event_id, type, event, user_id, timestamp, received_at, received_month, properties, traits)
       SELECT 'evt_many_' || g, $1, $2, 'many-' || g, 'track', 'view', 'u_many',
              '2026-11-02T10:00:00.000Z'::timestamptz + (g % 1000 || ' microseconds')::interval, now(),
              date_trunc('month', now())::date, '{}', '{}'
       FROM generate_series(1, 2250) g`,
      [s.org.id, s.projectId],
    );
    const nd = await exportUser('u_many', 'application/x-ndjson');
    const lines = nd.body.trim().split('\n');
    expect(lines).toHaveLength(1 + 2250);
    const events = lines.slice(1).map((l) => JSON.parse(l) as { event_id: string });
    expect(new Set(events.map((e) => e.event_id)).size).toBe(2250);
    // Microseconds cycle 1…999, 0 as g grows: in time order, 'many-1000' (0 µs) comes first.
    expect(events[0]?.event_id).toBe('many-1000');
  });

  it('answers 404 for users with nothing held', async () => {
    expect((await exportUser('nobody-here')).statusCode).toBe(404);
  });

  it('erases exactly one user in one project: not the same user_id in another project or org', async () => {
    const other = await createOrg(s.t.app, 'Other org');
    const otherProject = (await createProject(s.t.app, other)).id;
    const otherPk = (await createKey(s.t.app, other, { type: 'publishable', project_id: otherProject }))
      .secret;
    const sibling = (await createProject(s.t.app, s.org, 'Sibling')).id;
    const siblingPk = (await createKey(s.t.app, s.org, { type: 'publishable', project_id: sibling })).secret;
    const user = 'u_erase_7f3c91';
    const email = 'erase-me-7f3c91@example.com';
    await sendEvents(s.t.app, s.pk, [
      identifyEvent(user, { email, phone: '+1 415 555 0199' }),
      trackEvent(user, 'a'),
      trackEvent(user, 'b'),
    ]);
    await sendEvents(s.t.app, siblingPk, [
      identifyEvent(user, { email: 'sibling@example.com' }),
      trackEvent(user, 'a'),
    ]);
    await sendEvents(s.t.app, otherPk, [
      identifyEvent(user, { email: 'other@example.com' }),
      trackEvent(user, 'a'),
    ]);
    // A replayable response naming the user (lookup) is part of what is held.
    const lookup = await s.t.app.inject({
      method: 'POST',
      url: `/v1/projects/${s.projectId}/users/lookup`,
      headers: { ...bearer(s.org.secret), 'idempotency-key': 'lookup-before-erasure' },
      payload: { email: ` ${email.toUpperCase()} ` },
    });
    expect(lookup.json()).toEqual({ user_ids: [user] });

    const dsr = await erase(user);
    await runErasureJob(dsr.id);

    const status = await s.t.app.inject({
      method: 'GET',
      url: `/v1/data-subject-requests/${dsr.id}`,
      headers: bearer(s.org.secret),
    });
    expect(status.json()).toMatchObject({
      status: 'completed',
      receipt: {
        erased: { sdk_events: 3, anonymous_ids: 0, user_profiles: 1, idempotency_cache: 1 },
        subject_sha256: sha256(`${dsr.id}:${user}`),
      },
    });
    expect((await exportUser(user)).statusCode).toBe(404);
    expect((await exportUser(user, 'application/json', sibling)).statusCode).toBe(200);
    expect((await exportUser(user, 'application/json', otherProject, other.secret)).statusCode).toBe(200);

    // Nothing left anywhere in the database that names this user in this project, or carries their hashes.
    const dump = (await dumpDatabase(s.t.db.systemPool)).split('\n');
    const naming = dump.filter((line) => line.includes(user));
    expect(naming.length).toBeGreaterThan(0);
    for (const line of naming) {
      expect(line.includes(s.projectId), line).toBe(false);
      expect(line.includes(sibling) || line.includes(otherProject), line).toBe(true);
    }
    const all = dump.join('\n');
    expect(all).not.toContain(sha256(email));
    expect(all).not.toContain(sha256('14155550199'));
    expect(all).not.toContain(email);
  });

  it('is idempotent and audited without personal data', async () => {
    await sendEvents(s.t.app, s.pk, [trackEvent('u_twice', 'x')]);
    const dsr = await erase('u_twice');
    await runErasureJob(dsr.id);
    await s.t.container.erasure.run(s.org.id, dsr.id);
    const got = (
      await s.t.app.inject({
        method: 'GET',
        url: `/v1/data-subject-requests/${dsr.id}`,
        headers: bearer(s.org.secret),
      })
    ).json();
    expect(got.receipt.erased.sdk_events).toBe(1);
    const audit = await s.t.app.inject({
      method: 'GET',
      url: `/v1/audit-log?resource_id=${dsr.id}`,
      headers: bearer(s.org.secret),
    });
    expect(
      audit
        .json()
        .data.map((e: { action: string }) => e.action)
        .sort(),
    ).toEqual(['data_subject_request.completed', 'data_subject_request.created']);
    expect(audit.body).not.toContain('u_twice');
    const { rows } = await s.t.db.systemPool.query(
      'SELECT user_id FROM data_subject_requests WHERE id = $1',
      [dsr.id],
    );
    expect(rows[0].user_id).toBeNull();
  });

  it('suppression refuses future events for the user until it is lifted', async () => {
    await sendEvents(s.t.app, s.pk, [trackEvent('u_quiet', 'x')]);
    const dsr = await erase('u_quiet', s.projectId, s.org.secret, true);
    await runErasureJob(dsr.id);
    s.t.container.suppressions.forget(s.projectId);
    const refused = await sendEvents(s.t.app, s.pk, [
      trackEvent('u_quiet', 'again'),
      trackEvent('u_loud', 'fine'),
    ]);
    expect(refused.accepted).toBe(1);
    expect(refused.rejected).toEqual([{ index: 0, code: 'user_suppressed', message: expect.any(String) }]);

    const list = await s.t.app.inject({
      method: 'GET',
      url: `/v1/projects/${s.projectId}/suppressions`,
      headers: bearer(s.org.secret),
    });
    expect(list.json().data).toEqual([
      expect.objectContaining({
        subject_sha256: sha256(`${s.projectId}:u_quiet`),
        data_subject_request_id: dsr.id,
      }),
    ]);
    expect(list.body).not.toContain('u_quiet');

    const lifted = await s.t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${s.projectId}/suppressions/u_quiet`,
      headers: bearer(s.org.secret),
    });
    expect(lifted.statusCode).toBe(200);
    expect((await sendEvents(s.t.app, s.pk, [trackEvent('u_quiet', 'back')])).accepted).toBe(1);
    const again = await s.t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${s.projectId}/suppressions/u_quiet`,
      headers: bearer(s.org.secret),
    });
    expect(again.statusCode).toBe(404);
  });

  it('looks users up by email, phone or their SHA-256 with the ingest normalization', async () => {
    await sendEvents(s.t.app, s.pk, [
      identifyEvent('u_look', { email: 'Look@Example.com', phone: '+44 (20) 7946-0000' }),
    ]);
    const lookup = (payload: object) =>
      s.t.app.inject({
        method: 'POST',
        url: `/v1/projects/${s.projectId}/users/lookup`,
        headers: bearer(s.org.secret),
        payload,
      });
    for (const payload of [
      { email: '  look@example.COM ' },
      { phone: '442079460000' },
      { email_sha256: sha256('look@example.com') },
      { phone_sha256: sha256('442079460000').toUpperCase() },
    ]) {
      expect((await lookup(payload)).json()).toEqual({ user_ids: ['u_look'] });
    }
    expect((await lookup({ email: 'nobody@example.com' })).json()).toEqual({ user_ids: [] });
    expect((await lookup({ email: 'a@b.c', phone: '1' })).statusCode).toBe(400);
    expect((await lookup({})).statusCode).toBe(400);
    expect((await lookup({ email_sha256: 'abc' })).statusCode).toBe(400);
    expect((await lookup({ phone: 'no digits' })).statusCode).toBe(400);
  });
});
