import { describe, expect, it } from 'vitest';
import { sha256 } from '../helpers/hash.ts';
import { identifyEvent, sendEvents, trackEvent } from '../helpers/sdk-events.ts';
import { useSdkProjectApp } from '../helpers/sdk-project-app.ts';
import { bearer, createKey } from '../helpers/test-app.ts';

/**
 * The shapes of personal data the PII guard once let through into stored events (issue 13,
 * item 10), end to end: what reaches the database, and what each envelope field does.
 */
describe('ingest: personal data in every shape and field', () => {
  const s = useSdkProjectApp();

  const storedText = async (userId: string) => {
    const { rows } = await s.t.db.systemPool.query<{ row: string; payload: string }>(
      `SELECT row_to_json(e)::text AS row, e.properties::text || e.traits::text AS payload
         FROM sdk_events e WHERE project_id = $1 AND user_id = $2`,
      [s.projectId, userId],
    );
    return {
      row: rows.map((r) => r.row).join('\n'),
      // Only what the app sent: ids, UUIDs and millisecond timestamps are random and may hold
      // a short digit run such as "555" by chance.
      payload: rows.map((r) => r.payload).join('\n'),
    };
  };

  it('stores none of the shapes raw: national phones, phone arrays and plural keys, ip:port, bracketed IPv6, X-Forwarded-For lists, %40 emails', async () => {
    const result = await sendEvents(s.t.app, s.pk, [
      trackEvent('u_shapes', 'signup', {
        contact: '020 7946 0958',
        phones: ['(650) 555-0143', 16505550143],
        phone: { home: '650 555 0143' },
        upstream: '81.2.69.160:443',
        v6: '[2001:4860:4860::8888]:8443',
        xff: '81.2.69.160, 10.0.0.1',
        forwarded: 'for=81.2.69.160;proto=https',
        landing: 'https://shop.example/?email=canary.person%40example.org',
        plan: 'pro',
      }),
      identifyEvent('u_shapes', { alt_emails: ['Canary.Person@Example.org'], mobiles: '650-555-0143' }),
    ]);
    expect(result).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
    const stored = await storedText('u_shapes');
    const text = stored.row.toLowerCase();
    for (const raw of ['81.2.69.160', '10.0.0.1', '2001:4860', 'canary.person', '%40', '6505550143']) {
      expect(text).not.toContain(raw);
    }
    for (const fragment of ['7946', '555', '0143']) {
      expect(stored.payload).not.toContain(fragment);
    }
    expect(text).toContain(sha256('02079460958'));
    expect(text).toContain(sha256('canary.person@example.org'));
    expect(text).toMatch(/"plan": ?"pro"/);
  });

  it('an email address or international phone number as user_id is stored as its hash, and found by lookup', async () => {
    const result = await sendEvents(s.t.app, s.pk, [
      trackEvent(' Canary.User@Example.org', 'purchase'),
      trackEvent('canary.user%40example.org', 'purchase'),
      trackEvent('+1 650 555 0177', 'purchase'),
      trackEvent('auth0|canary.user@example.org', 'purchase'),
      trackEvent('123-456-7890', 'purchase'),
    ]);
    expect(result).toEqual({ accepted: 5, duplicates: 0, rejected: [] });
    const emailHash = sha256('canary.user@example.org');
    const { rows } = await s.t.db.systemPool.query<{ user_id: string; email_sha256: string | null }>(
      `SELECT user_id, email_sha256, phone_sha256 FROM sdk_events WHERE project_id = $1 AND event = 'purchase'
       ORDER BY user_id`,
      [s.projectId],
    );
    expect(rows.map((r) => r.user_id).sort()).toEqual(
      ['123-456-7890', `auth0|${emailHash}`, emailHash, emailHash, sha256('16505550177')].sort(),
    );
    expect(rows.find((r) => r.user_id === emailHash)?.email_sha256).toBe(emailHash);
    expect(JSON.stringify(rows).toLowerCase()).not.toContain('canary.user');

    const lookup = await s.t.app.inject({
      method: 'POST',
      url: `/v1/projects/${s.projectId}/users/lookup`,
      headers: bearer(s.org.secret),
      payload: { email: 'canary.user@example.org' },
    });
    expect(lookup.json().user_ids).toContain(emailHash);
    const profile = await s.t.app.inject({
      method: 'GET',
      url: `/v1/projects/${s.projectId}/users/${emailHash}`,
      headers: bearer(s.org.secret),
    });
    expect(profile.statusCode).toBe(200);
  });

  it('refuses an IP address as user_id, and personal data in event or app_id, in any project', async () => {
    const result = await sendEvents(s.t.app, s.pk, [
      trackEvent('81.2.69.160', 'x'),
      trackEvent('session-[2001:db8::1]:80', 'x'),
      trackEvent('u_ok', 'Signed up: canary@example.org'),
      trackEvent('u_ok', 'call +44 20 7946 0958'),
      { ...trackEvent('u_ok', 'x'), app_id: '10.0.0.7:8080' },
      trackEvent('u_ok', 'fine'),
    ]);
    expect(result.accepted).toBe(1);
    expect(result.rejected.map((r) => [r.index, r.code])).toEqual([
      [0, 'pii_rejected'],
      [1, 'pii_rejected'],
      [2, 'pii_rejected'],
      [3, 'pii_rejected'],
      [4, 'pii_rejected'],
    ]);
    for (const r of result.rejected) expect(r.message).not.toMatch(/81\.2|2001|canary|7946|10\.0/);
  });

  it('in a reject-mode project refuses an email or phone as user_id and every new shape, storing nothing', async () => {
    const strict = (
      await s.t.app.inject({
        method: 'POST',
        url: '/v1/projects',
        headers: bearer(s.org.secret),
        payload: { name: 'Strict', pii_policy: 'reject' },
      })
    ).json();
    const spk = (await createKey(s.t.app, s.org, { type: 'publishable', project_id: strict.id })).secret;
    const result = await sendEvents(s.t.app, spk, [
      trackEvent('canary@example.org', 'x'),
      trackEvent('+16505550177', 'x'),
      trackEvent('u_r', 'x', { contact: '020 7946 0958' }),
      trackEvent('u_r', 'x', { phones: ['650 555 0143'] }),
      trackEvent('u_r', 'x', { landing: '/?e=canary%40example.org' }),
      trackEvent('u_r', 'x', { seen_from: '81.2.69.160:443', plan: 'pro' }),
    ]);
    expect(result.rejected.map((r) => [r.index, r.code])).toEqual([
      [0, 'pii_rejected'],
      [1, 'pii_rejected'],
      [2, 'pii_rejected'],
      [3, 'pii_rejected'],
      [4, 'pii_rejected'],
    ]);
    // IPs are dropped in both modes, not refused.
    expect(result.accepted).toBe(1);
    const { rows } = await s.t.db.systemPool.query<{ properties: unknown }>(
      'SELECT properties FROM sdk_events WHERE project_id = $1',
      [strict.id],
    );
    expect(rows).toEqual([{ properties: { plan: 'pro' } }]);
  });

  it('the user routes take the id as it was sent: export, erasure and suppression reach an email user id', async () => {
    const sent = 'Canary.Erase@Example.org';
    const stored = sha256('canary.erase@example.org');
    expect((await sendEvents(s.t.app, s.pk, [trackEvent(sent, 'a'), trackEvent(sent, 'b')])).accepted).toBe(
      2,
    );
    const path = `/v1/projects/${s.projectId}/events/users/${encodeURIComponent(sent)}`;

    const exported = await s.t.app.inject({ method: 'GET', url: path, headers: bearer(s.org.secret) });
    expect(exported.statusCode).toBe(200);
    expect(exported.json().events).toHaveLength(2);
    expect(exported.body.toLowerCase()).not.toContain('canary.erase');
    const profile = await s.t.app.inject({
      method: 'GET',
      url: `/v1/projects/${s.projectId}/users/${encodeURIComponent(sent)}`,
      headers: bearer(s.org.secret),
    });
    expect(profile.json().user_id).toBe(stored);

    const erasure = await s.t.app.inject({
      method: 'DELETE',
      url: `${path}?suppress=true`,
      headers: bearer(s.org.secret),
    });
    expect(erasure.statusCode).toBe(202);
    const { rows: held } = await s.t.db.systemPool.query<{ user_id: string }>(
      'SELECT user_id FROM data_subject_requests WHERE id = $1',
      [erasure.json().id],
    );
    expect(held[0]?.user_id).toBe(stored); // the raw address is not kept even while the erasure runs
    await s.t.container.erasure.run(s.org.id, erasure.json().id);
    const { rows } = await s.t.db.systemPool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM sdk_events WHERE project_id = $1 AND user_id = $2',
      [s.projectId, stored],
    );
    expect(rows[0]?.n).toBe(0);
    const after = await sendEvents(s.t.app, s.pk, [trackEvent(` ${sent.toUpperCase()}`, 'c')]);
    expect(after).toMatchObject({ accepted: 0, rejected: [{ index: 0, code: 'user_suppressed' }] });

    const lifted = await s.t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${s.projectId}/suppressions/${encodeURIComponent(sent)}`,
      headers: bearer(s.org.secret),
    });
    expect(lifted.statusCode).toBe(200);
  });
});
