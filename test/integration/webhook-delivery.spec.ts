import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS, fixedClock, HOUR_MS } from '../../src/lib/clock.ts';
import {
  JITTER_RANGE,
  MAX_ATTEMPTS,
  nominalDelayMs,
} from '../../src/modules/webhooks/webhook-retry-schedule.ts';
import { dumpDatabase } from '../helpers/database-inspection.ts';
import {
  bearer,
  createOrg,
  createProject,
  createTestApp,
  expectError,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';
import { startReceiver, verifyStandardWebhook, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

/**
 * Delivery against real receivers on 127.0.0.1 (LAYERS_ALLOW_PRIVATE_WEBHOOKS on). The worker's job
 * body (`webhookDispatch.attempt`) is called directly, with the injected clock moved to each due
 * time, so three days of retries take milliseconds.
 */
describe('webhook delivery', () => {
  const clock = fixedClock(new Date(Math.floor(Date.now() / 1000) * 1000));
  let t: TestApp;
  const receivers: WebhookReceiver[] = [];

  beforeAll(async () => {
    t = await createTestApp({ clock, env: { LAYERS_ALLOW_PRIVATE_WEBHOOKS: 'true' } });
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await t.close();
  });

  async function receiver(): Promise<WebhookReceiver> {
    const r = await startReceiver();
    receivers.push(r);
    return r;
  }

  async function endpoint(org: TestOrg, url: string, events: string[]) {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: bearer(org.secret),
      payload: { url, events },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; secret: string };
  }

  /** Pending deliveries of the org that are due now. */
  async function due(org: TestOrg): Promise<{ id: string; endpoint_id: string }[]> {
    const { rows } = await t.db.systemPool.query(
      `SELECT id, endpoint_id FROM webhook_deliveries
       WHERE org_id = $1 AND status = 'pending' AND next_attempt_at <= $2 ORDER BY id`,
      [org.id, clock.now()],
    );
    return rows;
  }

  /** Runs every due delivery of the org once (what the worker's jobs would do now). */
  async function runDue(org: TestOrg) {
    const results = [];
    for (const d of await due(org)) results.push(await t.container.webhookDispatch.attempt(org.id, d.id));
    return results;
  }

  async function delivery(org: TestOrg, webhookId: string, deliveryId: string) {
    const res = await t.app.inject({
      method: 'GET',
      url: `/v1/webhooks/${webhookId}/deliveries/${deliveryId}`,
      headers: bearer(org.secret),
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  }

  async function onlyDelivery(org: TestOrg, webhookId: string) {
    const res = await t.app.inject({
      method: 'GET',
      url: `/v1/webhooks/${webhookId}/deliveries`,
      headers: bearer(org.secret),
    });
    expect(res.statusCode, res.body).toBe(200);
    const { data } = res.json();
    expect(data).toHaveLength(1);
    return data[0];
  }

  const seconds = () => Math.floor(clock.now().getTime() / 1000);

  it('signs each delivery so that an independent Standard Webhooks verifier accepts it', async () => {
    const r = await receiver();
    const org = await createOrg(t.app);
    const hook = await endpoint(org, r.url, ['project.created']);
    const project = await createProject(t.app, org, 'Named after a person@example.com');
    const results = await runDue(org);
    expect(results).toMatchObject([{ outcome: 'succeeded', statusCode: 200 }]);

    expect(r.received).toHaveLength(1);
    const [req] = r.received;
    const { headers, body } = req!;
    expect(verifyStandardWebhook(hook.secret, headers, body, { nowSeconds: seconds() })).toBe(true);
    expect(headers['content-type']).toBe('application/json');
    expect(headers['webhook-timestamp']).toBe(String(seconds()));
    const parsed = JSON.parse(body);
    expect(parsed).toEqual({
      id: headers['webhook-id'],
      type: 'project.created',
      timestamp: clock.now().toISOString(),
      data: { id: project.id, object: 'project', status: 'active' },
    });
    expect(parsed.id).toMatch(/^whevt_[0-9a-z]{26}$/); // not evt_: that is an SDK event's id
    // Payloads hold ids and non-personal fields only: not the project's name.
    expect(body).not.toContain('example.com');

    // The verifier can fail: another secret, a changed body, a stale timestamp.
    const other = await endpoint(org, r.url, ['dpa_request.updated']);
    expect(verifyStandardWebhook(other.secret, headers, body)).toBe(false);
    expect(verifyStandardWebhook(hook.secret, headers, body.replace('active', 'Active'))).toBe(false);
    expect(verifyStandardWebhook(hook.secret, headers, body, { nowSeconds: seconds() + 3600 })).toBe(false);

    const shown = await onlyDelivery(org, hook.id);
    expect(shown).toMatchObject({
      object: 'webhook_delivery',
      webhook_id: hook.id,
      event: { id: parsed.id, type: 'project.created' },
      status: 'succeeded',
      attempt_count: 1,
      next_attempt_at: null,
      last_attempt: { attempt: 1, status_code: 200, error: null },
    });
    expect(shown.last_attempt.latency_ms).toBeGreaterThanOrEqual(0);
  });

  it('still delivers and lists a webhook event stored with an old evt_ id (before whevt_)', async () => {
    const r = await receiver();
    const org = await createOrg(t.app);
    const hook = await endpoint(org, r.url, ['project.created']);
    const oldId = 'evt_01jd0000000000000000000000';
    await t.db.systemPool.query(
      `INSERT INTO webhook_events (id, org_id, type, data, created_at)
       VALUES ($1, $2, 'project.created', '{"id":"proj_x","object":"project","status":"active"}', $3)`,
      [oldId, org.id, clock.now()],
    );
    await t.db.systemPool.query(
      `INSERT INTO webhook_deliveries (id, org_id, endpoint_id, event_id, status, next_attempt_at, created_at)
       VALUES ('whd_01jd0000000000000000000000', $1, $2, $3, 'pending', $4, $4)`,
      [org.id, hook.id, oldId, clock.now()],
    );
    const listed = await onlyDelivery(org, hook.id);
    expect(listed.event).toMatchObject({ id: oldId, type: 'project.created' });
    expect(await delivery(org, hook.id, listed.id)).toMatchObject({ event: { id: oldId } });
    expect(await runDue(org)).toMatchObject([{ outcome: 'succeeded' }]);
    expect(r.received[0]!.headers['webhook-id']).toBe(oldId);
    expect(verifyStandardWebhook(hook.secret, r.received[0]!.headers, r.received[0]!.body)).toBe(true);
  });

  it('retries a failing endpoint with exponential backoff and jitter for about three days, same webhook-id', async () => {
    const r = await receiver();
    r.respond({ status: 500 });
    const org = await createOrg(t.app);
    const hook = await endpoint(org, r.url, ['project.created']);
    await createProject(t.app, org);
    const first = clock.now().getTime();
    const [pending] = await due(org);
    const attemptTimes: number[] = [];

    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      attemptTimes.push(clock.now().getTime());
      const result = await t.container.webhookDispatch.attempt(org.id, pending!.id);
      expect(result).toMatchObject({ attempt, statusCode: 500, error: 'http_error' });
      const shown = await delivery(org, hook.id, pending!.id);
      expect(shown.attempt_count).toBe(attempt);
      if (attempt === MAX_ATTEMPTS) {
        expect(shown).toMatchObject({ status: 'failed', next_attempt_at: null });
        break;
      }
      expect(shown.status).toBe('pending');
      const delay = Date.parse(shown.next_attempt_at) - clock.now().getTime();
      expect(delay).toBeGreaterThanOrEqual(Math.floor(nominalDelayMs(attempt) * JITTER_RANGE.min));
      expect(delay).toBeLessThanOrEqual(Math.ceil(nominalDelayMs(attempt) * JITTER_RANGE.max));
      clock.set(new Date(shown.next_attempt_at));
    }

    const span = (attemptTimes.at(-1) as number) - first;
    expect(span).toBeGreaterThan(2.5 * DAY_MS);
    expect(span).toBeLessThan(3.5 * DAY_MS);
    expect(r.received).toHaveLength(MAX_ATTEMPTS);
    const ids = new Set(r.received.map((q) => q.headers['webhook-id']));
    expect(ids.size).toBe(1);
    // webhook-timestamp is the time of each attempt (unix seconds), not of the event.
    expect(r.received.map((q) => Number(q.headers['webhook-timestamp']))).toEqual(
      attemptTimes.map((ms) => Math.floor(ms / 1000)),
    );
    for (const q of r.received) expect(verifyStandardWebhook(hook.secret, q.headers, q.body)).toBe(true);
    // Every retry carries the same body.
    expect(new Set(r.received.map((q) => q.body)).size).toBe(1);

    const endpointNow = (
      await t.app.inject({ method: 'GET', url: `/v1/webhooks/${hook.id}`, headers: bearer(org.secret) })
    ).json();
    expect(endpointNow).toMatchObject({ status: 'enabled', failing_since: new Date(first).toISOString() });
  });

  it('counts a 3xx as a failure and does not follow the redirect', async () => {
    const elsewhere = await receiver();
    const r = await receiver();
    r.respond({ status: 302, headers: { location: elsewhere.url } });
    const org = await createOrg(t.app);
    const hook = await endpoint(org, r.url, ['project.created']);
    await createProject(t.app, org);
    expect(await runDue(org)).toMatchObject([{ outcome: 'retrying', statusCode: 302, error: 'redirect' }]);
    expect(r.received).toHaveLength(1);
    expect(elsewhere.received).toHaveLength(0);
    expect((await onlyDelivery(org, hook.id)).last_attempt).toMatchObject({
      status_code: 302,
      error: 'redirect',
    });
  });

  it('honours Retry-After on 503 and 429', async () => {
    const r = await receiver();
    const org = await createOrg(t.app);
    const hook = await endpoint(org, r.url, ['project.created']);
    await createProject(t.app, org);

    r.respond({ status: 503, headers: { 'retry-after': '600' } });
    await runDue(org);
    let shown = await onlyDelivery(org, hook.id);
    expect(Date.parse(shown.next_attempt_at) - clock.now().getTime()).toBe(600_000);

    clock.advance(600_000);
    const inTwoHours = new Date(clock.now().getTime() + 2 * HOUR_MS);
    r.respond({ status: 429, headers: { 'retry-after': inTwoHours.toUTCString() } });
    await runDue(org);
    shown = await onlyDelivery(org, hook.id);
    expect(shown.attempt_count).toBe(2);
    // An HTTP date has whole seconds.
    expect(Date.parse(shown.next_attempt_at)).toBe(Date.parse(inTwoHours.toUTCString()));
    expect(shown.last_attempt).toMatchObject({ status_code: 429, error: 'http_error' });
  });

  it('410 Gone disables the endpoint at once, audits it and tells the org’s other endpoints', async () => {
    const gone = await receiver();
    gone.respond({ status: 410 });
    const watcher = await receiver();
    const org = await createOrg(t.app);
    const hook = await endpoint(org, gone.url, ['project.created', 'webhook_endpoint.disabled']);
    const other = await endpoint(org, watcher.url, ['webhook_endpoint.disabled']);
    await createProject(t.app, org);

    expect(await runDue(org)).toMatchObject([{ outcome: 'failed', statusCode: 410, disabled: 'gone' }]);
    const endpointNow = (
      await t.app.inject({ method: 'GET', url: `/v1/webhooks/${hook.id}`, headers: bearer(org.secret) })
    ).json();
    expect(endpointNow).toMatchObject({ status: 'disabled', disabled_reason: 'gone' });
    expect(await onlyDelivery(org, hook.id)).toMatchObject({ status: 'failed', next_attempt_at: null });

    const audit = (
      await t.app.inject({
        method: 'GET',
        url: `/v1/audit-log?action=webhook_endpoint.disabled&resource_id=${hook.id}`,
        headers: bearer(org.secret),
      })
    ).json();
    expect(audit.data).toHaveLength(1);
    expect(audit.data[0]).toMatchObject({
      actor: { type: 'system', id: null },
      changes: { status: { before: 'enabled', after: 'disabled' }, disabled_reason: { after: 'gone' } },
    });

    // Only the other endpoint hears about it.
    expect(await runDue(org)).toMatchObject([{ outcome: 'succeeded', endpointId: other.id }]);
    expect(gone.received).toHaveLength(1);
    expect(watcher.received).toHaveLength(1);
    const told = JSON.parse(watcher.received[0]!.body);
    expect(told).toMatchObject({
      type: 'webhook_endpoint.disabled',
      data: { id: hook.id, object: 'webhook_endpoint', reason: 'gone' },
    });
    expect(verifyStandardWebhook(other.secret, watcher.received[0]!.headers, watcher.received[0]!.body)).toBe(
      true,
    );

    // A disabled endpoint receives nothing more; enabling it again clears the reason.
    await createProject(t.app, org);
    expect(await due(org)).toEqual([]);
    const enabled = await t.app.inject({
      method: 'PATCH',
      url: `/v1/webhooks/${hook.id}`,
      headers: bearer(org.secret),
      payload: { status: 'enabled' },
    });
    expect(enabled.json()).toMatchObject({ status: 'enabled', disabled_reason: null, failing_since: null });
  });

  it('disables an endpoint that has failed continuously for 5 days, not before; a success resets the streak', async () => {
    const r = await receiver();
    r.respond({ status: 500 });
    const watcher = await receiver();
    const org = await createOrg(t.app);
    const hook = await endpoint(org, r.url, ['project.created']);
    await endpoint(org, watcher.url, ['webhook_endpoint.disabled']);
    const streakStart = clock.now();
    await createProject(t.app, org);
    await runDue(org);

    // A success on day 1 ends that streak; failures from day 2 start a new one.
    clock.advance(DAY_MS);
    r.respond({ status: 200 });
    await createProject(t.app, org);
    await runDue(org);
    r.respond({ status: 500 });
    clock.advance(DAY_MS);
    const newStreak = clock.now();
    await createProject(t.app, org);
    await runDue(org);
    const get = async () =>
      (
        await t.app.inject({ method: 'GET', url: `/v1/webhooks/${hook.id}`, headers: bearer(org.secret) })
      ).json();
    expect((await get()).failing_since).toBe(newStreak.toISOString());
    expect(newStreak.getTime() - streakStart.getTime()).toBe(2 * DAY_MS);

    // 5 days after the first run began, the endpoint is fine: the new run is 3 days old.
    clock.set(new Date(streakStart.getTime() + 5 * DAY_MS + 60_000));
    await createProject(t.app, org);
    await runDue(org);
    expect(await get()).toMatchObject({ status: 'enabled' });

    // 5 days into the new run: disabled, audited, reported.
    clock.set(new Date(newStreak.getTime() + 5 * DAY_MS));
    await createProject(t.app, org);
    const results = await runDue(org);
    expect(results.some((x) => x.outcome !== 'skipped' && x.disabled === 'failing')).toBe(true);
    expect(await get()).toMatchObject({ status: 'disabled', disabled_reason: 'failing' });
    await runDue(org);
    const report = watcher.received.map((q) => JSON.parse(q.body));
    expect(report).toMatchObject([
      {
        type: 'webhook_endpoint.disabled',
        data: { id: hook.id, reason: 'failing', failing_since: newStreak.toISOString() },
      },
    ]);
  });

  it('after a secret rotation signs with both secrets for 24 hours, then with the new one only', async () => {
    const r = await receiver();
    const org = await createOrg(t.app);
    const hook = await endpoint(org, r.url, ['project.created']);
    const rotated = await t.app.inject({
      method: 'POST',
      url: `/v1/webhooks/${hook.id}/rotate-secret`,
      headers: bearer(org.secret),
    });
    expect(rotated.statusCode, rotated.body).toBe(200);
    const { secret: newSecret, previous_secret_expires_at } = rotated.json();
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(hook.secret);
    expect(Date.parse(previous_secret_expires_at)).toBe(clock.now().getTime() + DAY_MS);

    await createProject(t.app, org);
    await runDue(org);
    const during = r.received[0]!;
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifyStandardWebhook(newSecret, during.headers, during.body)).toBe(true);
    expect(verifyStandardWebhook(hook.secret, during.headers, during.body)).toBe(true);

    clock.advance(DAY_MS - 1000);
    await createProject(t.app, org);
    await runDue(org);
    expect(verifyStandardWebhook(hook.secret, r.received[1]!.headers, r.received[1]!.body)).toBe(true);

    clock.advance(2000);
    await createProject(t.app, org);
    await runDue(org);
    const after = r.received[2]!;
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifyStandardWebhook(newSecret, after.headers, after.body)).toBe(true);
    expect(verifyStandardWebhook(hook.secret, after.headers, after.body)).toBe(false);

    // Neither secret is readable anywhere but in the response that showed it.
    const dump = await dumpDatabase(t.db.systemPool);
    for (const s of [hook.secret, newSecret]) {
      expect(dump).not.toContain(s);
      expect(dump).not.toContain(s.slice('whsec_'.length));
    }
    const audit = (
      await t.app.inject({
        method: 'GET',
        url: `/v1/audit-log?action=webhook_endpoint.secret_rotated`,
        headers: bearer(org.secret),
      })
    ).json();
    expect(audit.data).toHaveLength(1);
    expect(JSON.stringify(audit.data)).not.toContain('whsec_');
    const shown = await t.app.inject({
      method: 'GET',
      url: `/v1/webhooks/${hook.id}`,
      headers: bearer(org.secret),
    });
    expect(shown.body).not.toContain('whsec_');
  });

  it('lists deliveries with cursors and a status filter', async () => {
    const r = await receiver();
    const org = await createOrg(t.app);
    const hook = await endpoint(org, r.url, ['project.created']);
    for (let i = 0; i < 3; i++) await createProject(t.app, org);
    r.respond((req) => ({ status: r.received.indexOf(req) === 0 ? 200 : 500 }));
    await runDue(org);

    const list = async (query: string) => {
      const res = await t.app.inject({
        method: 'GET',
        url: `/v1/webhooks/${hook.id}/deliveries${query}`,
        headers: bearer(org.secret),
      });
      expect(res.statusCode, res.body).toBe(200);
      return res.json();
    };
    const first = await list('?limit=2');
    expect(first).toMatchObject({ object: 'list', has_more: true });
    expect(first.data).toHaveLength(2);
    const rest = await list(`?limit=2&starting_after=${first.data[1].id}`);
    expect(rest).toMatchObject({ has_more: false });
    expect(rest.data).toHaveLength(1);
    const all = [...first.data, ...rest.data];
    expect(new Set(all.map((d: { id: string }) => d.id)).size).toBe(3);
    expect(all.map((d: { id: string }) => d.id)).toEqual(
      [...all.map((d: { id: string }) => d.id)].sort().reverse(),
    );
    expect((await list(`?ending_before=${rest.data[0].id}`)).data.map((d: { id: string }) => d.id)).toEqual(
      first.data.map((d: { id: string }) => d.id),
    );
    expect((await list('?status=succeeded')).data).toHaveLength(1);
    const pending = (await list('?status=pending')).data;
    expect(pending).toHaveLength(2);
    for (const d of pending) {
      expect(d.attempts).toEqual([
        expect.objectContaining({ attempt: 1, status_code: 500, error: 'http_error' }),
      ]);
      expect(Date.parse(d.next_attempt_at)).toBeGreaterThan(clock.now().getTime());
    }
    expectError(
      await t.app.inject({
        method: 'GET',
        url: `/v1/webhooks/${hook.id}/deliveries?status=lost`,
        headers: bearer(org.secret),
      }),
      400,
    );
  });

  it('sends test events, also to a disabled endpoint, and retries a delivery on request with the same webhook-id', async () => {
    const r = await receiver();
    const org = await createOrg(t.app);
    const hook = await endpoint(org, r.url, ['dpa_request.updated']);

    const test = await t.app.inject({
      method: 'POST',
      url: `/v1/webhooks/${hook.id}/test`,
      headers: bearer(org.secret),
    });
    expect(test.statusCode, test.body).toBe(202);
    expect(test.json()).toMatchObject({
      object: 'webhook_delivery',
      status: 'pending',
      attempt_count: 0,
      event: { type: 'webhook_endpoint.test' },
    });
    await runDue(org);
    expect(JSON.parse(r.received[0]!.body)).toMatchObject({
      type: 'webhook_endpoint.test',
      data: { id: hook.id, object: 'webhook_endpoint', test: true },
    });

    // Retry the delivered test event: pending again, due now, same webhook-id on the wire.
    const deliveryId = test.json().id;
    const retried = await t.app.inject({
      method: 'POST',
      url: `/v1/webhooks/${hook.id}/deliveries/${deliveryId}/retry`,
      headers: bearer(org.secret),
    });
    expect(retried.statusCode, retried.body).toBe(202);
    expect(retried.json()).toMatchObject({
      status: 'pending',
      attempt_count: 1,
      next_attempt_at: clock.now().toISOString(),
    });
    const { rows: jobs } = await t.db.systemPool.query(
      `SELECT 1 FROM graphile_worker._private_jobs WHERE key = $1`,
      [`webhook-delivery:${deliveryId}`],
    );
    expect(jobs).toHaveLength(1);
    await runDue(org);
    expect(r.received).toHaveLength(2);
    expect(r.received[1]!.headers['webhook-id']).toBe(r.received[0]!.headers['webhook-id']);

    // While an attempt holds the delivery, a retry is refused.
    await t.db.systemPool.query(`UPDATE webhook_deliveries SET lease_until = $2 WHERE id = $1`, [
      deliveryId,
      new Date(clock.now().getTime() + 60_000),
    ]);
    expectError(
      await t.app.inject({
        method: 'POST',
        url: `/v1/webhooks/${hook.id}/deliveries/${deliveryId}/retry`,
        headers: bearer(org.secret),
      }),
      409,
      'conflict',
    );
    await t.db.systemPool.query(`UPDATE webhook_deliveries SET lease_until = NULL WHERE id = $1`, [
      deliveryId,
    ]);

    // A disabled endpoint gets test events, but its other deliveries are not retried.
    await t.app.inject({
      method: 'PATCH',
      url: `/v1/webhooks/${hook.id}`,
      headers: bearer(org.secret),
      payload: { status: 'disabled' },
    });
    const again = await t.app.inject({
      method: 'POST',
      url: `/v1/webhooks/${hook.id}/test`,
      headers: bearer(org.secret),
    });
    expect(again.statusCode).toBe(202);
    await runDue(org);
    expect(r.received).toHaveLength(3);

    const other = await endpoint(org, r.url, ['project.created']);
    await createProject(t.app, org);
    const [pendingOther] = await due(org);
    await t.app.inject({
      method: 'PATCH',
      url: `/v1/webhooks/${other.id}`,
      headers: bearer(org.secret),
      payload: { status: 'disabled' },
    });
    expect(await t.container.webhookDispatch.attempt(org.id, pendingOther!.id)).toMatchObject({
      outcome: 'failed',
      error: 'endpoint_disabled',
    });
    expect(r.received).toHaveLength(3);
    expectError(
      await t.app.inject({
        method: 'POST',
        url: `/v1/webhooks/${other.id}/deliveries/${pendingOther!.id}/retry`,
        headers: bearer(org.secret),
      }),
      409,
      'conflict',
    );
    expectError(
      await t.app.inject({
        method: 'POST',
        url: `/v1/webhooks/${other.id}/deliveries/whd_00000000000000000000000000/retry`,
        headers: bearer(org.secret),
      }),
      404,
    );
  });
});
