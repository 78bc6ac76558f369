import { describe, expect, it } from 'vitest';
import { sha256 } from '../helpers/hash.ts';
import { identifyEvent, sendEvents, trackEvent } from '../helpers/sdk-events.ts';
import { useSdkProjectApp } from '../helpers/sdk-project-app.ts';
import { bearer, createKey, createOrg, createProject, createTestApp } from '../helpers/test-app.ts';

describe('SDK ingest', () => {
  const s = useSdkProjectApp();

  const profile = async (userId: string) =>
    s.t.app.inject({
      method: 'GET',
      url: `/v1/projects/${s.projectId}/users/${userId}`,
      headers: bearer(s.org.secret),
    });

  it('stores events, answers after commit, and builds the current-state profile', async () => {
    const result = await sendEvents(s.t.app, s.pk, [
      identifyEvent(
        'u_1',
        { email: ' Person@Example.com ', phone: '+1 (650) 555-1212', plan: 'pro' },
        { context: { ip: '81.2.69.160' } },
      ),
      trackEvent('u_1', 'purchase', { price: 9.99 }),
    ]);
    expect(result).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
    const { rows } = await s.t.db.systemPool.query(
      'SELECT count(*)::int AS n FROM sdk_events WHERE project_id = $1',
      [s.projectId],
    );
    expect(rows[0].n).toBe(2);

    const res = await profile('u_1');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      user_id: 'u_1',
      properties: { plan: 'pro' },
      hashed_identifiers: {
        email_sha256: [sha256('person@example.com')],
        phone_sha256: [sha256('16505551212')],
      },
      geo: { country: 'GB', region: 'GB-ENG' },
    });
  });

  it('hashes alike the variants the page promises to match (lower-case + trim; digits only)', async () => {
    await sendEvents(s.t.app, s.pk, [
      identifyEvent('u_vec', { email: 'Person@Example.com', phone: '16505551212' }),
      identifyEvent('u_vec', { email: ' person@example.com ', phone: '+1 (650) 555-1212' }),
      identifyEvent('u_vec', { email_sha256: sha256('person@example.com').toUpperCase() }),
    ]);
    const body = (await profile('u_vec')).json();
    expect(body.hashed_identifiers).toEqual({
      email_sha256: [sha256('person@example.com')],
      phone_sha256: [sha256('16505551212')],
    });
  });

  it('deduplicates by event_id: a retried batch is accepted again and counted as duplicates', async () => {
    const batch = [trackEvent('u_2', 'a'), trackEvent('u_2', 'b'), trackEvent('u_2', 'c')];
    expect(await sendEvents(s.t.app, s.pk, batch)).toMatchObject({ accepted: 3, duplicates: 0 });
    expect(await sendEvents(s.t.app, s.pk, batch)).toMatchObject({ accepted: 0, duplicates: 3 });
    const copy = trackEvent('u_2', 'd');
    expect(await sendEvents(s.t.app, s.pk, [copy, copy])).toMatchObject({ accepted: 1, duplicates: 1 });
    const both = await Promise.all([
      sendEvents(s.t.app, s.pk, [copy, trackEvent('u_2', 'e')]),
      sendEvents(s.t.app, s.pk, [copy]),
    ]);
    expect(both[0].accepted + both[1].accepted).toBe(1);
    const { rows } = await s.t.db.systemPool.query(
      'SELECT count(*)::int AS n FROM sdk_events WHERE user_id = $1',
      ['u_2'],
    );
    expect(rows[0].n).toBe(5);
  });

  it('scopes event_id dedup and user ids to the project', async () => {
    const other = await createProject(s.t.app, s.org, 'Other');
    const pk2 = (await createKey(s.t.app, s.org, { type: 'publishable', project_id: other.id })).secret;
    const event = trackEvent('u_shared', 'x');
    expect((await sendEvents(s.t.app, s.pk, [event])).accepted).toBe(1);
    expect((await sendEvents(s.t.app, pk2, [event])).accepted).toBe(1);
  });

  it('rejects bad events one by one with clear codes, and stores the good ones', async () => {
    const future = new Date(Date.now() + 25 * 3_600_000).toISOString();
    const result = await sendEvents(s.t.app, s.pk, [
      trackEvent('u_3', 'ok'),
      { ...trackEvent('u_3', 'x'), event_id: undefined },
      { ...trackEvent('u_3', 'x'), type: 'page' },
      { ...trackEvent('u_3', 'x'), timestamp: future },
      { ...trackEvent('u_3', 'x'), timestamp: 'yesterday' },
      { ...trackEvent('u_3', 'x'), surprise: 1 },
      trackEvent('u_3', 'deep', { a: { b: { c: { d: { e: { f: { g: { h: { i: 1 } } } } } } } } }),
      { ...trackEvent('u_3', 'x'), context: { ip: 'not-an-ip' } },
      { ...trackEvent('u_3', 'x'), user_id: '' },
      identifyEvent('u_3', { phone: 'no digits here' }),
      'not an object',
      trackEvent('u_3', 'ok too'),
    ]);
    expect(result.accepted).toBe(2);
    expect(result.rejected.map((r) => [r.index, r.code])).toEqual([
      [1, 'missing_field'],
      [2, 'invalid_field'],
      [3, 'timestamp_in_future'],
      [4, 'invalid_field'],
      [5, 'unknown_field'],
      [6, 'too_deep'],
      [7, 'invalid_field'],
      [8, 'invalid_field'],
      [9, 'invalid_identifier'],
      [10, 'invalid_event'],
    ]);
    for (const r of result.rejected) expect(r.message.length).toBeGreaterThan(5);
  });

  it('answers 413 for a batch over 500 KB or an event over 32 KB, storing nothing', async () => {
    const big = 'x'.repeat(5000);
    const hugeBatch = Array.from({ length: 110 }, () => trackEvent('u_4', 'big', { a: big }));
    const res1 = await s.t.app.inject({
      method: 'POST',
      url: '/v1/sdk/events',
      headers: bearer(s.pk),
      payload: { batch: hugeBatch },
    });
    expect(res1.statusCode).toBe(413);
    const fatEvent = trackEvent('u_4', 'fat', {
      a: 'y'.repeat(8000),
      b: 'y'.repeat(8000),
      c: 'y'.repeat(8000),
      d: 'y'.repeat(8000),
      e: 'y'.repeat(1000),
    });
    const res2 = await s.t.app.inject({
      method: 'POST',
      url: '/v1/sdk/events',
      headers: bearer(s.pk),
      payload: { batch: [trackEvent('u_4', 'small'), fatEvent] },
    });
    expect(res2.statusCode).toBe(413);
    expect(res2.json().error.param).toBe('batch[1]');
    const { rows } = await s.t.db.systemPool.query(
      'SELECT count(*)::int AS n FROM sdk_events WHERE user_id = $1',
      ['u_4'],
    );
    expect(rows[0].n).toBe(0);
  });

  it('refuses malformed batches with 400 and keys of the wrong type with 403', async () => {
    for (const payload of [{}, { batch: [] }, { batch: 'x' }, { events: [] }]) {
      const res = await s.t.app.inject({
        method: 'POST',
        url: '/v1/sdk/events',
        headers: bearer(s.pk),
        payload,
      });
      expect(res.statusCode).toBe(400);
    }
    const res = await s.t.app.inject({
      method: 'POST',
      url: '/v1/sdk/events',
      headers: bearer(s.org.secret),
      payload: { batch: [trackEvent('u', 'x')] },
    });
    expect(res.statusCode).toBe(403);
  });

  it('rectification: a corrected identify updates current state; past events stay as they were', async () => {
    const t0 = Date.now();
    await sendEvents(s.t.app, s.pk, [
      identifyEvent('u_5', { name: 'Jon', plan: 'free' }, { timestamp: new Date(t0 - 2000).toISOString() }),
    ]);
    await sendEvents(s.t.app, s.pk, [
      identifyEvent('u_5', { name: 'John' }, { timestamp: new Date(t0 - 1000).toISOString() }),
    ]);
    // An older identify arriving late does not overwrite newer state, but fills what is missing.
    await sendEvents(s.t.app, s.pk, [
      identifyEvent('u_5', { name: 'J.', city: 'Leeds' }, { timestamp: new Date(t0 - 5000).toISOString() }),
    ]);
    expect((await profile('u_5')).json().properties).toEqual({ name: 'John', plan: 'free', city: 'Leeds' });
    const { rows } = await s.t.db.systemPool.query(
      `SELECT traits->>'name' AS name FROM sdk_events WHERE user_id = 'u_5' ORDER BY timestamp`,
    );
    expect(rows.map((r) => r.name)).toEqual(['J.', 'Jon', 'John']);
  });

  it('events are immutable: the app role cannot update them', async () => {
    const client = await s.t.db.appPool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT set_config('app.org_id', $1, true)`, [s.org.id]);
      await expect(client.query(`UPDATE sdk_events SET event = 'changed'`)).rejects.toThrow(
        /permission denied/,
      );
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
  });

  it('refuses events for a project pending deletion', async () => {
    const doomed = await createProject(s.t.app, s.org, 'Doomed');
    const dpk = (await createKey(s.t.app, s.org, { type: 'publishable', project_id: doomed.id })).secret;
    await s.t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${doomed.id}`,
      headers: bearer(s.org.secret),
    });
    const result = await sendEvents(s.t.app, dpk, [trackEvent('u', 'x')]);
    expect(result.accepted).toBe(0);
    expect(result.rejected[0]?.code).toBe('project_inactive');
  });

  it('404s for users that do not exist and for other orgs', async () => {
    expect((await profile('nobody')).statusCode).toBe(404);
    const other = await createOrg(s.t.app, 'Nosy');
    const res = await s.t.app.inject({
      method: 'GET',
      url: `/v1/projects/${s.projectId}/users/u_1`,
      headers: bearer(other.secret),
    });
    expect(res.statusCode).toBe(404);
  });
});

describe('SDK ingest: IP through trusted proxies only', () => {
  for (const [trust, expected] of [
    ['', null],
    ['127.0.0.1', { country: 'GB', region: 'GB-ENG' }],
  ] as const) {
    it(`TRUST_PROXY=${trust || '(none)'} → geo ${expected ? expected.country : 'none'}`, async () => {
      const t = await createTestApp({ env: { TRUST_PROXY: trust } });
      try {
        const org = await createOrg(t.app);
        const projectId = (await createProject(t.app, org)).id;
        const pk = (await createKey(t.app, org, { type: 'publishable', project_id: projectId })).secret;
        await sendEvents(t.app, pk, [trackEvent('u_proxy', 'x')], { 'x-forwarded-for': '81.2.69.160' });
        const res = await t.app.inject({
          method: 'GET',
          url: `/v1/projects/${projectId}/users/u_proxy`,
          headers: bearer(org.secret),
        });
        expect(res.json().geo).toEqual(expected);
      } finally {
        await t.close();
      }
    });
  }
});

describe('SDK ingest: CORS for browsers', () => {
  it('answers the preflight and labels answers (even errors) readable from any origin; partner routes get no CORS', async () => {
    const t = await createTestApp();
    try {
      const preflight = await t.app.inject({
        method: 'OPTIONS',
        url: '/v1/sdk/events',
        headers: {
          origin: 'https://shop.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
      expect(preflight.statusCode).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe('*');
      expect(String(preflight.headers['access-control-allow-headers'])).toContain('authorization');
      const unauthorized = await t.app.inject({
        method: 'POST',
        url: '/v1/sdk/events',
        headers: { origin: 'https://shop.example' },
        payload: { batch: [] },
      });
      expect(unauthorized.statusCode).toBe(401);
      expect(unauthorized.headers['access-control-allow-origin']).toBe('*');
      const partner = await t.app.inject({
        method: 'GET',
        url: '/v1/projects',
        headers: { origin: 'https://shop.example' },
      });
      expect(partner.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});
