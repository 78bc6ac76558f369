import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dumpDatabase } from '../helpers/database-inspection.ts';
import { sha256 } from '../helpers/hash.ts';
import { identifyEvent, sendEvents, trackEvent } from '../helpers/sdk-events.ts';
import {
  bearer,
  createKey,
  createOrg,
  createProject,
  createTestApp,
  type TestApp,
} from '../helpers/test-app.ts';

/**
 * Canary email, phone, IP and device ids in every place the SDK contract lets them travel: traits,
 * properties, nested properties, arrays, context. After ingest, a dump of the whole database, the
 * captured logs and the API responses hold none of them; their hashes are there.
 */
describe('privacy canaries through SDK ingest', () => {
  let t: TestApp;
  const canary = {
    email: 'Canary.Person+7731@Example.org',
    phone: '+44 20 7946 0958',
    ipv4: '81.2.69.160',
    ipv6: '2a02:c7f:1234:5600::7731',
    idfa: '6D92078A-8246-4BA4-AE5B-76104861E7DC',
    gaid: '38400000-8cf0-11bd-b23e-10b96e40000d',
  };
  const raw = [
    canary.email,
    canary.email.toLowerCase(),
    canary.phone,
    '442079460958',
    canary.ipv4,
    canary.ipv6,
    canary.idfa,
    canary.idfa.toLowerCase(),
    canary.gaid,
  ];
  const responses: string[] = [];
  let projectId: string;
  let orgSecret: string;

  beforeAll(async () => {
    t = await createTestApp({ env: { TRUST_PROXY: '127.0.0.1' } });
    const org = await createOrg(t.app);
    orgSecret = org.secret;
    projectId = (await createProject(t.app, org)).id;
    const pk = (await createKey(t.app, org, { type: 'publishable', project_id: projectId })).secret;
    const context = { ip: canary.ipv4, device: { idfa: canary.idfa, gaid: canary.gaid } };
    const everywhere = {
      email: canary.email,
      contact: canary.email,
      phone_number: canary.phone,
      mobile: canary.phone,
      ip: canary.ipv4,
      last_ip: canary.ipv6,
      idfa: canary.idfa,
      advertising_id: canary.gaid,
      nested: {
        deeper: {
          email: canary.email,
          note: `reach me at ${canary.email}`,
          where: canary.ipv6,
          phone: canary.phone,
        },
      },
      list: [canary.email, canary.phone, canary.ipv4, { gaid: canary.gaid }],
    };
    const batch = [
      identifyEvent('u_canary', { phone: canary.phone, ...everywhere, profile: everywhere }, { context }),
      trackEvent('u_canary', 'purchase', everywhere, { traits: { email: canary.email }, context }),
      trackEvent(
        'u_canary',
        'ipv6',
        { n: 1 },
        { context: { ip: canary.ipv6, device: { gaid: canary.gaid } } },
      ),
    ];
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/sdk/events',
      headers: { ...bearer(pk), 'x-forwarded-for': canary.ipv4, 'user-agent': canary.email },
      payload: { batch },
    });
    responses.push(res.body);
    expect(res.json()).toMatchObject({ accepted: 3, rejected: [] });
    // A second batch that is rejected must not leak through its error messages either.
    responses.push(
      JSON.stringify(
        await sendEvents(t.app, pk, [
          { ...trackEvent('u_canary', 'x', { email: canary.email }), timestamp: canary.email },
        ]),
      ),
    );
    responses.push(
      (
        await t.app.inject({
          method: 'GET',
          url: `/v1/projects/${projectId}/users/u_canary`,
          headers: bearer(orgSecret),
        })
      ).body,
    );
    await t.container.requestLog.flush();
  });
  afterAll(() => t.close());

  it('no raw canary anywhere: database, logs, responses', async () => {
    const dump = (await dumpDatabase(t.db.systemPool)).toLowerCase();
    const logs = t.logs.join('').toLowerCase();
    expect(dump).toContain('u_canary');
    for (const value of raw) {
      const needle = value.toLowerCase();
      expect(dump.includes(needle), `${value} in the database`).toBe(false);
      expect(logs.includes(needle), `${value} in the logs`).toBe(false);
      expect(
        responses.some((r) => r.toLowerCase().includes(needle)),
        `${value} in a response`,
      ).toBe(false);
    }
  });

  it('the hashes are there, and geo replaced the IP', async () => {
    const dump = await dumpDatabase(t.db.systemPool);
    expect(dump).toContain(sha256(canary.email.trim().toLowerCase()));
    expect(dump).toContain(sha256('442079460958'));
    const profile = JSON.parse(responses[2] as string);
    expect(profile.hashed_identifiers.email_sha256).toContain(sha256(canary.email.toLowerCase()));
    expect(profile.geo.country).toMatch(/^[A-Z]{2}$/);
    const { rows } = await t.db.systemPool.query(
      `SELECT geo_country, geo_region FROM sdk_events WHERE user_id = 'u_canary' ORDER BY event`,
    );
    expect(rows.some((r) => r.geo_country === 'GB' && r.geo_region === 'GB-ENG')).toBe(true);
  });

  it('counts the device ids handed to the forwarding seam (dropped: no CAPI enabled)', async () => {
    const metrics = (await t.app.inject('/metrics')).body;
    expect(metrics).toMatch(/layers_device_ids_dropped_total 3/);
  });
});
