import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalHttpServer, startLocalHttpServer } from '../fakes/local-http-server.ts';
import { dumpDatabase } from '../helpers/database-inspection.ts';
import { sendEvents, trackEvent } from '../helpers/sdk-events.ts';
import {
  bearer,
  createOrg,
  createSdkProject,
  createTestApp,
  expectError,
  type SdkProject,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';

const TOKEN = 'EAA-secret-token-canary-7f3a9';

describe('destinations API (POST/GET/PATCH/DELETE, audit, token never shown)', () => {
  let t: TestApp;
  let p: SdkProject;
  let other: TestOrg;
  let local: LocalHttpServer;
  const body = {
    type: 'meta_capi',
    pixel_id: '1234567890',
    access_token: TOKEN,
    event_map: { purchase: 'Purchase' },
    enabled: true,
  };
  const post = (org: TestOrg, projectId: string, payload: unknown) =>
    t.app.inject({
      method: 'POST',
      url: `/v1/projects/${projectId}/destinations`,
      headers: bearer(org.secret),
      payload: payload as object,
    });

  beforeAll(async () => {
    local = await startLocalHttpServer();
    // Nothing leaves the test: the Meta host, once allowed, reaches this local server.
    t = await createTestApp({ env: { LAYERS_EGRESS_REDIRECT: `graph.facebook.com=${local.url}` } });
    p = await createSdkProject(t.app);
    other = await createOrg(t.app, 'Other');
  });
  afterAll(async () => {
    await t.close();
    await local.close();
  });

  it('creates, reads, lists and updates a destination; the token is stored only as ciphertext and never returned', async () => {
    const created = await post(p.org, p.projectId, body);
    expect(created.statusCode).toBe(201);
    const d = created.json();
    expect(d).toMatchObject({
      object: 'destination',
      project_id: p.projectId,
      type: 'meta_capi',
      pixel_id: '1234567890',
      event_map: { purchase: 'Purchase' },
      test_event_code: null,
      enabled: true,
      status: 'active',
    });
    expect(d.id).toMatch(/^dst_/);
    const got = await t.app.inject({
      method: 'GET',
      url: `/v1/destinations/${d.id}`,
      headers: bearer(p.org.secret),
    });
    const list = await t.app.inject({
      method: 'GET',
      url: `/v1/projects/${p.projectId}/destinations`,
      headers: bearer(p.org.secret),
    });
    expect(list.json()).toMatchObject({ object: 'list', has_more: false, data: [{ id: d.id }] });
    const patched = await t.app.inject({
      method: 'PATCH',
      url: `/v1/destinations/${d.id}`,
      headers: bearer(p.org.secret),
      payload: { test_event_code: 'TEST42', access_token: `${TOKEN}-2` },
    });
    expect(patched.json()).toMatchObject({ test_event_code: 'TEST42' });
    for (const r of [created, got, list, patched]) expect(r.body).not.toContain(TOKEN);
    const dump = await dumpDatabase(t.db.systemPool);
    expect(dump).not.toContain(TOKEN);
    const { rows } = await sql<{
      t: string;
    }>`SELECT encrypted_access_token AS t FROM destinations WHERE id = ${d.id}`.execute(t.db.system);
    expect(rows[0]?.t).toMatch(/^lenc1:/);
    const audit = await t.app.inject({
      method: 'GET',
      url: `/v1/audit-log?resource_id=${d.id}`,
      headers: bearer(p.org.secret),
    });
    const actions = audit.json().data.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['destination.created', 'destination.updated']));
    expect(audit.body).not.toContain(TOKEN);
    expect(t.logs.join('\n')).not.toContain(TOKEN);
  });

  it('refuses what cannot be a destination', async () => {
    expectError(await post(p.org, p.projectId, { ...body, pixel_id: undefined }), 400);
    expectError(await post(p.org, p.projectId, { ...body, event_source_id: '123' }), 400);
    expectError(await post(p.org, p.projectId, { ...body, type: 'google_ads' }), 400);
    expectError(await post(p.org, p.projectId, { ...body, event_map: {} }), 400);
    expectError(await post(p.org, p.projectId, { ...body, default_phone_country: 'usa' }), 400);
    const tiktok = await post(p.org, p.projectId, {
      type: 'tiktok_events',
      event_source_id: '7568899277611696136',
      access_token: TOKEN,
      event_map: { purchase: 'CompletePayment' },
      enabled: false,
    });
    expect(tiktok.json()).toMatchObject({
      type: 'tiktok_events',
      event_source_id: '7568899277611696136',
      enabled: false,
    });
    expect(tiktok.json().pixel_id).toBeUndefined();
  });

  it("another org's destination answers 404; a publishable key 403; no key 401", async () => {
    const d = (await post(p.org, p.projectId, body)).json();
    for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
      const res = await t.app.inject({
        method,
        url: `/v1/destinations/${d.id}`,
        headers: bearer(other.secret),
        ...(method === 'PATCH' ? { payload: { enabled: false } } : {}),
      });
      expectError(res, 404);
    }
    expectError(
      await t.app.inject({
        method: 'GET',
        url: `/v1/destinations/${d.id}/stats`,
        headers: bearer(other.secret),
      }),
      404,
    );
    expectError(await post(other, p.projectId, body), 404);
    expectError(
      await t.app.inject({
        method: 'GET',
        url: `/v1/destinations/${d.id}`,
        headers: bearer(p.publishableKey),
      }),
      403,
    );
    expectError(await t.app.inject({ method: 'GET', url: `/v1/destinations/${d.id}` }), 401);
  });

  it('deleting a destination deletes its queue in the same transaction (audited with the count)', async () => {
    const q = await createSdkProject(t.app, 'Queue Co');
    const d = (await post(q.org, q.projectId, body)).json();
    await sendEvents(t.app, q.publishableKey, [trackEvent('u_1', 'purchase'), trackEvent('u_2', 'purchase')]);
    const count = async () =>
      Number(
        (
          await sql<{
            n: string;
          }>`SELECT coalesce(sum(event_count), 0) AS n FROM capi_forward_queue WHERE destination_id = ${d.id}`.execute(
            t.db.system,
          )
        ).rows[0]?.n,
      );
    expect(await count()).toBe(2);
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/v1/destinations/${d.id}`,
      headers: bearer(q.org.secret),
    });
    expect(del.statusCode).toBe(200);
    expect(await count()).toBe(0);
    const audit = await t.app.inject({
      method: 'GET',
      url: `/v1/audit-log?resource_id=${d.id}&action=destination.deleted`,
      headers: bearer(q.org.secret),
    });
    expect(audit.json().data[0].changes.queued_events_deleted.after).toBe(2);
    expectError(
      await t.app.inject({ method: 'GET', url: `/v1/destinations/${d.id}`, headers: bearer(q.org.secret) }),
      404,
    );
  });

  it('the egress gateway lets capi calls reach only the hosts of destinations the project enabled', async () => {
    const q = await createSdkProject(t.app, 'Egress Co');
    const call = (host: string, vendor: string) =>
      t.container.egress.request({
        orgId: q.org.id,
        projectId: q.projectId,
        vendor,
        purpose: 'capi',
        dataClasses: ['conversion_events'],
        records: 1,
        method: 'POST',
        url: `https://${host}/v25.0/1/events`,
        body: { json: { data: [] } },
        maxAttempts: 1,
      });
    // No destination: refused before a socket opens.
    await expect(call('graph.facebook.com', 'meta')).rejects.toMatchObject({ code: 'host_not_allowed' });
    const d = (await post(q.org, q.projectId, { ...body, enabled: false })).json();
    await expect(call('graph.facebook.com', 'meta')).rejects.toMatchObject({ code: 'host_not_allowed' });
    await t.app.inject({
      method: 'PATCH',
      url: `/v1/destinations/${d.id}`,
      headers: bearer(q.org.secret),
      payload: { enabled: true },
    });
    expect(local.connections()).toBe(0);
    // Enabled Meta: a TikTok host is still refused; the Meta host is reached.
    await expect(call('business-api.tiktok.com', 'tiktok')).rejects.toMatchObject({
      code: 'host_not_allowed',
    });
    await expect(call('graph.facebook.com', 'meta')).resolves.toMatchObject({ status: 200 });
    expect(local.connections()).toBe(1);
  });

  it('a project without a destination queues nothing (and its statement is the plain ingest one)', async () => {
    const n = await createSdkProject(t.app, 'No Destination Co');
    await sendEvents(t.app, n.publishableKey, [
      trackEvent(
        'u_1',
        'purchase',
        {},
        { context: { device: { idfa: '6D92078A-8246-4BA4-AE5B-76104861E7DC', ad_tracking_enabled: true } } },
      ),
    ]);
    const { rows } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM capi_forward_queue WHERE project_id = ${n.projectId}`.execute(t.db.system);
    expect(Number(rows[0]?.n)).toBe(0);
    const policy = await t.container.projectPolicies.get(n.org.id, n.projectId);
    expect(policy?.destinations).toEqual([]);
  });
});
