import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type MetaFake, startMetaCapiFake } from '../fakes/meta-capi/meta-capi-fake.ts';
import { startTikTokEventsFake, type TikTokFake } from '../fakes/tiktok-events/tiktok-events-fake.ts';
import { dumpDatabase } from '../helpers/database-inspection.ts';
import { createDestination, metaDestination } from '../helpers/destinations.ts';
import { identifyEvent, sendEvents, trackEvent } from '../helpers/sdk-events.ts';
import {
  bearer,
  createSdkProject,
  createTestApp,
  type SdkProject,
  type TestApp,
} from '../helpers/test-app.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const META_TOKEN = 'EAAmetatoken-0123456789';
const TIKTOK_TOKEN = 'tiktok-token-0123456789';
// Canaries: a device id and an email that must never be stored in the clear.
const IDFA = '6D92078A-8246-4BA4-AE5B-76104861E7DC';
const EMAIL = ' Canary.Person@Example.com ';
const PHONE = '+1 (650) 555-1212';

function purchase(userId: string, extra: Record<string, unknown> = {}) {
  return trackEvent(
    userId,
    'purchase',
    { value: 9.99, currency: 'usd', order_id: 'o-1' },
    {
      traits: { email: EMAIL, phone: PHONE },
      context: {
        device: { idfa: IDFA, ad_tracking_enabled: true, model: 'iPhone16,1' },
        os: { name: 'iOS', version: '18.1' },
        app: { version: '2.3.0', build: '230' },
        locale: 'en-US',
        timezone: 'America/New_York',
      },
      ...extra,
    },
  );
}

/** Events queued (a row holds one commit's events for one destination). */
async function queued(t: TestApp, destinationId?: string): Promise<number> {
  const { rows } = await sql<{ n: string }>`
    SELECT coalesce(sum(event_count), 0) AS n FROM capi_forward_queue WHERE ${destinationId ?? null}::text IS NULL OR destination_id = ${destinationId ?? null}`.execute(
    t.db.system,
  );
  return Number(rows[0]?.n);
}

/** The destination's latest hour of forwarding stats. */
async function latestStatsHour(t: TestApp, p: SdkProject, destinationId: string) {
  return (
    await t.app.inject({
      method: 'GET',
      url: `/v1/destinations/${destinationId}/stats`,
      headers: bearer(p.org.secret),
    })
  )
    .json()
    .data.at(-1);
}

/** GET /v1/destinations/:id with the org's secret key. */
function getDestination(t: TestApp, p: SdkProject, destinationId: string) {
  return t.app.inject({
    method: 'GET',
    url: `/v1/destinations/${destinationId}`,
    headers: bearer(p.org.secret),
  });
}

/** Every queued row is due again now. */
async function makeQueueDue(t: TestApp): Promise<void> {
  await sql`UPDATE capi_forward_queue SET next_attempt_at = now() - interval '1 second'`.execute(t.db.system);
}

describe('Conversions API forwarding, end to end from POST /v1/sdk/events to the platforms', () => {
  let t: TestApp;
  let meta: MetaFake;
  let tiktok: TikTokFake;
  let p: SdkProject;
  let metaDst: string;
  let tiktokDst: string;

  beforeAll(async () => {
    meta = await startMetaCapiFake({ token: META_TOKEN });
    tiktok = await startTikTokEventsFake({ token: TIKTOK_TOKEN });
    t = await createTestApp({
      env: {
        LAYERS_EGRESS_REDIRECT: `graph.facebook.com=${meta.url},business-api.tiktok.com=${tiktok.url}`,
      },
    });
    p = await createSdkProject(t.app);
    metaDst = (await createDestination(t, p, metaDestination(META_TOKEN))).id;
    tiktokDst = (
      await createDestination(t, p, {
        type: 'tiktok_events',
        event_source_id: '7568899277611696136',
        access_token: TIKTOK_TOKEN,
        event_map: { purchase: 'CompletePayment' },
        test_event_code: 'TEST123',
        enabled: true,
      })
    ).id;
  });
  afterAll(async () => {
    await t.close();
    await meta.close();
    await tiktok.close();
  });
  beforeEach(async () => {
    await sql`DELETE FROM capi_forward_queue`.execute(t.db.system);
    meta.events.length = 0;
    tiktok.events.length = 0;
  });

  it('queues only ciphertext, then each platform receives its own hashes, the raw device id and seconds', async () => {
    const event = purchase('u_forward_1');
    const res = await sendEvents(t.app, p.publishableKey, [
      event,
      trackEvent('u_forward_1', 'unmapped_event'),
    ]);
    expect(res.accepted).toBe(2);
    // Committed with the event: one row per mapped destination, nothing for the unmapped event.
    expect(await queued(t)).toBe(2);
    // …and each destination's forwarder job was woken by the same statement.
    const { rows: jobs } = await t.db.systemPool.query(
      `SELECT j.payload->>'destination_id' AS d FROM graphile_worker._private_jobs j
       JOIN graphile_worker._private_tasks k ON k.id = j.task_id WHERE k.identifier = 'capi.forward'`,
    );
    expect(jobs.map((j: { d: string }) => j.d).sort()).toEqual([metaDst, tiktokDst].sort());
    const during = await dumpDatabase(t.db.systemPool);
    for (const canary of [IDFA, IDFA.toLowerCase(), 'canary.person@example.com', '6505551212'])
      expect(during.toLowerCase()).not.toContain(canary.toLowerCase());
    const { rows } = await sql<{
      encrypted_payload: string;
    }>`SELECT encrypted_payload FROM capi_forward_queue`.execute(t.db.system);
    for (const r of rows) expect(r.encrypted_payload).toMatch(/^lenc1:/);

    await t.container.forwarder.run({ org_id: p.org.id, destination_id: metaDst });
    await t.container.forwarder.run({ org_id: p.org.id, destination_id: tiktokDst });

    expect(meta.events).toHaveLength(1);
    const m = meta.events[0]!;
    expect(m.dataset).toBe('1234567890');
    expect(m.event).toMatchObject({
      event_name: 'Purchase',
      event_id: event.event_id,
      event_time: Math.floor(new Date(event.timestamp as string).getTime() / 1000),
      action_source: 'app',
      user_data: {
        em: [sha('canary.person@example.com')],
        ph: [sha('16505551212')],
        external_id: [sha(`${p.projectId}:u_forward_1`)],
        madid: IDFA.toLowerCase(),
      },
      custom_data: { value: 9.99, currency: 'USD', order_id: 'o-1' },
      app_data: { advertiser_tracking_enabled: 1 },
    });
    expect((m.event.app_data as { extinfo: string[] }).extinfo).toEqual([
      'i2',
      'com.example.app',
      '2.3.0',
      '230',
      '18.1',
      'iPhone16,1',
      'en-US',
      '',
      '',
      '',
      '',
      '',
      '',
      '',
      '',
      'America/New_York',
    ]);

    expect(tiktok.events).toHaveLength(1);
    const k = tiktok.events[0]!;
    expect(k.eventSourceId).toBe('7568899277611696136');
    expect(k.testEventCode).toBe('TEST123');
    expect(k.event).toMatchObject({
      event: 'CompletePayment',
      event_id: event.event_id,
      user: {
        email: sha('canary.person@example.com'),
        phone: sha('+16505551212'),
        external_id: sha(`${p.projectId}:u_forward_1`),
        idfa: IDFA,
        att_status: 'AUTHORIZED',
        locale: 'en-US',
      },
      app: { app_id: 'com.example.app', app_version: '2.3.0' },
    });

    // Forwarded means gone: nothing of the device id anywhere in the database.
    expect(await queued(t)).toBe(0);
    const after = await dumpDatabase(t.db.systemPool);
    expect(after.toLowerCase()).not.toContain(IDFA.toLowerCase());
  });

  it('sends no device id when the app says tracking is not allowed, and counts it', async () => {
    const event = purchase('u_no_consent');
    (event.context as { device: Record<string, unknown> }).device.ad_tracking_enabled = false;
    await sendEvents(t.app, p.publishableKey, [event]);
    await t.container.forwarder.run({ org_id: p.org.id, destination_id: metaDst });
    expect(meta.events).toHaveLength(1);
    const sent = meta.events[0]!.event;
    expect((sent.user_data as Record<string, unknown>).madid).toBeUndefined();
    expect((sent.app_data as { advertiser_tracking_enabled: number }).advertiser_tracking_enabled).toBe(0);
    expect(JSON.stringify(meta.events)).not.toContain(IDFA.toLowerCase());
    const stats = await t.app.inject({
      method: 'GET',
      url: `/v1/destinations/${metaDst}/stats`,
      headers: bearer(p.org.secret),
    });
    expect(stats.statusCode).toBe(200);
    const hour = stats.json().data.at(-1);
    expect(hour.dropped.not_consented).toBeGreaterThanOrEqual(1);
    expect(hour.sent).toBeGreaterThanOrEqual(1);
    expect(hour.queue_age_p99_seconds).not.toBeNull();
  });

  it('a retried batch queues nothing twice, and an identify is not forwarded', async () => {
    const event = purchase('u_retry');
    await sendEvents(t.app, p.publishableKey, [event, identifyEvent('u_retry', { plan: 'pro' })]);
    const again = await sendEvents(t.app, p.publishableKey, [event]);
    expect(again.duplicates).toBe(1);
    expect(await queued(t, metaDst)).toBe(1);
  });

  it('a batch holding an event already stored and new ones queues the new ones once, in the same commit', async () => {
    // One commit's row is sealed before the commit for all its events; stored only in part (the
    // first event is a duplicate), it is written the longer way: the stored events' rows sealed again.
    // Either way the commit wakes the destination's forwarder job (at most every 200 ms a process).
    const woken = async () => {
      const { rows } = await t.db.systemPool.query(
        'DELETE FROM graphile_worker._private_jobs WHERE key = $1 RETURNING id',
        [`capi.forward:${metaDst}`],
      );
      return rows.length;
    };
    await woken();
    await new Promise((r) => setTimeout(r, 250));
    const first = purchase('u_partial');
    await sendEvents(t.app, p.publishableKey, [first]);
    expect(await woken()).toBe(1);
    await new Promise((r) => setTimeout(r, 250));
    const later = [purchase('u_partial'), purchase('u_partial_2')];
    const res = await sendEvents(t.app, p.publishableKey, [first, ...later]);
    expect(res.duplicates).toBe(1);
    expect(res.accepted).toBe(2);
    expect(await woken()).toBe(1);
    for (const d of [metaDst, tiktokDst]) expect(await queued(t, d)).toBe(3);
    await makeQueueDue(t);
    await t.container.forwarder.run({ org_id: p.org.id, destination_id: metaDst });
    expect(meta.events.map((e) => e.event.event_id).sort()).toEqual(
      [first, ...later].map((e) => e.event_id as string).sort(),
    );
  });

  it('Meta: an event older than 7 days is dropped and counted, the rest of the batch goes', async () => {
    const old = purchase('u_old', { timestamp: new Date(Date.now() - 8 * 86_400_000).toISOString() });
    const fresh = purchase('u_fresh');
    await sendEvents(t.app, p.publishableKey, [old, fresh]);
    await t.container.forwarder.run({ org_id: p.org.id, destination_id: metaDst });
    expect(meta.events.map((e) => e.event.event_id)).toEqual([fresh.event_id]);
    expect(meta.refused).toHaveLength(0);
    const hour = await latestStatsHour(t, p, metaDst);
    expect(hour.dropped.too_old).toBeGreaterThanOrEqual(1);
    expect(await queued(t, metaDst)).toBe(0);
  });

  it('a batch the platform refuses as a whole is split: only the refused event is rejected', async () => {
    // Without an OS version Meta would refuse the whole request; here the check catches it first…
    const noOs = purchase('u_no_os');
    (noOs.context as Record<string, unknown>).os = { name: 'iOS' };
    const ok1 = purchase('u_ok_1');
    const ok2 = purchase('u_ok_2');
    await sendEvents(t.app, p.publishableKey, [ok1, noOs, ok2]);
    await t.container.forwarder.run({ org_id: p.org.id, destination_id: metaDst });
    expect(meta.events.map((e) => e.event.event_id).sort()).toEqual([ok1.event_id, ok2.event_id].sort());
    expect(meta.refused).toHaveLength(0);
    // …and a refusal the check cannot foresee is isolated by splitting the batch.
    meta.events.length = 0;
    const a = purchase('u_split_a');
    const b = purchase('u_split_b');
    await sendEvents(t.app, p.publishableKey, [a, b]);
    meta.failNext(2, {
      status: 400,
      body: { error: { code: 100, error_subcode: 2804019, type: 'OAuthException' } },
    });
    await t.container.forwarder.run({ org_id: p.org.id, destination_id: metaDst });
    // The whole batch and its first half were refused; the second half went.
    expect(meta.events).toHaveLength(1);
    expect([a.event_id, b.event_id]).toContain(meta.events[0]?.event.event_id);
    expect(await queued(t, metaDst)).toBe(0);
    const hour = await latestStatsHour(t, p, metaDst);
    expect(hour.rejected['100/2804019']).toBe(1);
    expect(hour.rejected['invalid_event:missing_os_version']).toBe(1);
  });

  it('a row whose events settle differently keeps only the ones to retry, sealed again', async () => {
    const a = purchase('u_part_a');
    const b = purchase('u_part_b');
    // One request, one commit: one row holding both events.
    await sendEvents(t.app, p.publishableKey, [a, b]);
    const rowsOf = async () =>
      (
        await sql<{ id: string; event_count: number; subject_hashes: string[] }>`
          SELECT id, event_count, subject_hashes FROM capi_forward_queue WHERE destination_id = ${metaDst}`.execute(
          t.db.system,
        )
      ).rows;
    const [row] = await rowsOf();
    expect(row?.event_count).toBe(2);
    // The whole batch refused, then its first half (rejected), then a 503 for the second (retried).
    meta.failNext(2, {
      status: 400,
      body: { error: { code: 100, error_subcode: 2804019, type: 'OAuthException' } },
    });
    meta.failNext(1, { status: 503, body: { error: { code: 2, is_transient: true } } });
    await t.container.forwarder.run({ org_id: p.org.id, destination_id: metaDst });
    expect(meta.events).toHaveLength(0);
    // The row (events in the commit's order: by event id) now holds only the retried event.
    const subjectOf = { [sha(`${p.projectId}:u_part_a`)]: a, [sha(`${p.projectId}:u_part_b`)]: b };
    const after = await rowsOf();
    expect(after.map((r) => [r.id, r.event_count])).toEqual([[row?.id, 1]]);
    const kept = subjectOf[after[0]?.subject_hashes[0] as string];
    expect(kept).toBeDefined();
    await makeQueueDue(t);
    await t.container.forwarder.run({ org_id: p.org.id, destination_id: metaDst });
    expect(meta.events.map((e) => e.event.event_id)).toEqual([kept?.event_id]);
    expect(await queued(t, metaDst)).toBe(0);
  });

  it('a row queued before batches (one event, its own ciphertext) is forwarded as it is', async () => {
    // What migration 0025 leaves of a 0019 row: the single event's JSON sealed under the row id.
    const e = purchase('u_legacy');
    const id = '0193a000-0000-7000-8000-0000000000aa';
    const event = {
      name: 'Purchase',
      event_id: e.event_id,
      time: Math.floor(Date.now() / 1000),
      hashes: { email: sha('legacy@example.com') },
      device: { tracking: false, platform: 'ios', os_version: '18.1', app_id: 'com.example.app' },
      custom: {},
    };
    const payload = t.container.envelope.encrypt(JSON.stringify(event), {
      orgId: p.org.id,
      recordId: id,
      field: 'capi_payload',
    });
    await sql`
      INSERT INTO capi_forward_queue (id, org_id, project_id, destination_id, event_count, subject_hashes,
        oldest_event_time, encrypted_payload, next_attempt_at, created_at)
      VALUES (${id}, ${p.org.id}, ${p.projectId}, ${metaDst}, 1, ${[sha(`${p.projectId}:u_legacy`)]}::text[],
        now(), ${payload}, now(), now())`.execute(t.db.system);
    await t.container.forwarder.run({ org_id: p.org.id, destination_id: metaDst });
    expect(meta.events.map((x) => x.event.event_id)).toEqual([e.event_id]);
    expect(await queued(t, metaDst)).toBe(0);
  });

  it('only retryable errors are retried, with backoff; the rows stay queued until then', async () => {
    const e = purchase('u_5xx');
    await sendEvents(t.app, p.publishableKey, [e]);
    meta.failNext(1, { status: 503, body: { error: { code: 2, is_transient: true } } });
    await t.container.forwarder.run({ org_id: p.org.id, destination_id: metaDst });
    expect(meta.events).toHaveLength(0);
    const { rows } = await sql<{ next_attempt_at: Date; attempts: number }>`
      SELECT next_attempt_at, attempts FROM capi_forward_queue WHERE destination_id = ${metaDst}`.execute(
      t.db.system,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.attempts).toBe(1);
    expect(rows[0]!.next_attempt_at.getTime()).toBeGreaterThan(Date.now());
    // Due again: sent with the same event id.
    await makeQueueDue(t);
    await t.container.forwarder.run({ org_id: p.org.id, destination_id: metaDst });
    expect(meta.events.map((x) => x.event.event_id)).toEqual([e.event_id]);
  });

  it('TikTok: a non-zero code inside an HTTP 200 is a failure (40105 pauses, 40100 is retried)', async () => {
    const e = purchase('u_tiktok_codes');
    await sendEvents(t.app, p.publishableKey, [e]);
    tiktok.failNext(1, { status: 200, body: { code: 40100, message: 'QPS exceeded' } });
    await t.container.forwarder.run({ org_id: p.org.id, destination_id: tiktokDst });
    expect(tiktok.events).toHaveLength(0);
    expect(await queued(t, tiktokDst)).toBe(1);
    await makeQueueDue(t);
    tiktok.failNext(1, { status: 200, body: { code: 40105, message: 'The access token is invalid' } });
    await t.container.forwarder.run({ org_id: p.org.id, destination_id: tiktokDst });
    const got = await getDestination(t, p, tiktokDst);
    expect(got.json()).toMatchObject({ status: 'paused', paused_reason: 'invalid_token' });
    expect(await queued(t, tiktokDst)).toBe(1);
    await t.app.inject({
      method: 'PATCH',
      url: `/v1/destinations/${tiktokDst}`,
      headers: bearer(p.org.secret),
      payload: { access_token: TIKTOK_TOKEN },
    });
    await t.container.forwarder.run({ org_id: p.org.id, destination_id: tiktokDst });
    expect(tiktok.events.map((x) => x.event.event_id)).toEqual([e.event_id]);
  });

  it('a refused token pauses the destination with a webhook; a new token resumes it', async () => {
    const e = purchase('u_token');
    await sendEvents(t.app, p.publishableKey, [e]);
    meta.setToken('another-token-entirely');
    await t.container.forwarder.run({ org_id: p.org.id, destination_id: metaDst });
    const got = await getDestination(t, p, metaDst);
    expect(got.json()).toMatchObject({ status: 'paused', paused_reason: 'invalid_token' });
    expect(JSON.stringify(got.json())).not.toContain(META_TOKEN);
    const { rows } = await sql<{ type: string; data: Record<string, unknown> }>`
      SELECT type, data FROM webhook_events WHERE org_id = ${p.org.id} AND type = 'destination.paused' AND data->>'id' = ${metaDst}`.execute(
      t.db.system,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.data).toMatchObject({ id: metaDst, reason: 'invalid_token' });
    expect(await queued(t, metaDst)).toBe(1);
    const patched = await t.app.inject({
      method: 'PATCH',
      url: `/v1/destinations/${metaDst}`,
      headers: bearer(p.org.secret),
      payload: { access_token: 'another-token-entirely' },
    });
    expect(patched.json()).toMatchObject({ status: 'active', paused_reason: null });
    await t.container.forwarder.run({ org_id: p.org.id, destination_id: metaDst });
    expect(meta.events.map((x) => x.event.event_id)).toEqual([e.event_id]);
    meta.setToken(META_TOKEN);
    await t.app.inject({
      method: 'PATCH',
      url: `/v1/destinations/${metaDst}`,
      headers: bearer(p.org.secret),
      payload: { access_token: META_TOKEN },
    });
  });
});
