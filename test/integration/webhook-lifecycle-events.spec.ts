import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendEvents, trackEvent } from '../helpers/sdk-events.ts';
import {
  ADMIN_TOKEN,
  bearer,
  createSdkProject,
  createTestApp,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';
import { startReceiver, verifyStandardWebhook, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

/**
 * `data_subject_request.completed` and `dpa_request.updated` are in the catalog, so they must be sent:
 * written by the transaction that completes the erasure / changes the DPA request's status (the
 * outbox), with ids and statuses only. Same transaction is checked with PostgreSQL's `xmin`: the
 * event row and the row it reports were written by one transaction id.
 */
describe('webhook events of erasures and DPA requests', () => {
  let t: TestApp;
  let org: TestOrg;
  let projectId: string;
  let pk: string;
  let receiver: WebhookReceiver;
  let subscribed: { id: string; secret: string };
  let unrelated: { id: string };

  beforeAll(async () => {
    t = await createTestApp({ env: { LAYERS_ALLOW_PRIVATE_WEBHOOKS: 'true' } });
    ({ org, projectId, publishableKey: pk } = await createSdkProject(t.app));
    receiver = await startReceiver();
    const hook = (url: string, events: string[]) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/webhooks',
        headers: bearer(org.secret),
        payload: { url, events },
      });
    subscribed = (await hook(receiver.url, ['data_subject_request.completed', 'dpa_request.updated'])).json();
    unrelated = (await hook('https://hooks.example.com/projects', ['project.created'])).json();
  });
  afterAll(async () => {
    await receiver.close();
    await t.close();
  });

  async function eventsOf(type: string) {
    const { rows } = await t.db.systemPool.query(
      `SELECT id, data, xmin::text AS xmin FROM webhook_events WHERE org_id = $1 AND type = $2 ORDER BY id`,
      [org.id, type],
    );
    return rows as { id: string; data: Record<string, unknown>; xmin: string }[];
  }

  async function deliveriesOf(eventId: string) {
    const { rows } = await t.db.systemPool.query(
      `SELECT id, endpoint_id FROM webhook_deliveries WHERE event_id = $1 ORDER BY id`,
      [eventId],
    );
    return rows as { id: string; endpoint_id: string }[];
  }

  async function deliver(eventId: string) {
    const [delivery] = await deliveriesOf(eventId);
    const before = receiver.received.length;
    const result = await t.container.webhookDispatch.attempt(org.id, delivery!.id);
    expect(result).toMatchObject({ outcome: 'succeeded' });
    await receiver.waitFor(before + 1);
    const got = receiver.received[before]!;
    expect(verifyStandardWebhook(subscribed.secret, got.headers, got.body)).toBe(true);
    expect(got.headers['webhook-id']).toBe(eventId);
    return JSON.parse(got.body) as { id: string; type: string; data: Record<string, unknown> };
  }

  it('sends data_subject_request.completed from the transaction that completes the erasure, once', async () => {
    const userId = 'u_completed_canary';
    await sendEvents(t.app, pk, [trackEvent(userId, 'view'), trackEvent(userId, 'purchase')]);
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${projectId}/events/users/${userId}`,
      headers: bearer(org.secret),
    });
    expect(res.statusCode, res.body).toBe(202);
    const dsrId = res.json().id as string;
    expect(await eventsOf('data_subject_request.completed')).toEqual([]); // pending: nothing yet

    await t.container.erasure.run(org.id, dsrId);
    await t.container.erasure.run(org.id, dsrId); // a re-run (watchdog) reports nothing twice

    const { rows } = await t.db.systemPool.query(
      `SELECT completed_at, xmin::text AS xmin FROM data_subject_requests WHERE id = $1`,
      [dsrId],
    );
    const dsr = rows[0] as { completed_at: Date; xmin: string };
    const events = await eventsOf('data_subject_request.completed');
    expect(events).toHaveLength(1);
    const event = events[0]!;
    expect(event.data).toEqual({
      id: dsrId,
      object: 'data_subject_request',
      type: 'erasure',
      project_id: projectId,
      status: 'completed',
      completed_at: dsr.completed_at.toISOString(),
    });
    expect(event.xmin).toBe(dsr.xmin);
    expect((await deliveriesOf(event.id)).map((d) => d.endpoint_id)).toEqual([subscribed.id]);

    const body = await deliver(event.id);
    expect(body).toMatchObject({ id: event.id, type: 'data_subject_request.completed', data: event.data });
    expect(JSON.stringify(body)).not.toContain('canary');
    expect(unrelated.id).toMatch(/^wh_/);
  });

  it('an erasure whose event cannot be written does not complete (and completes, with one event, on the re-run)', async () => {
    const userId = 'u_atomic';
    await sendEvents(t.app, pk, [trackEvent(userId, 'view')]);
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${projectId}/events/users/${userId}`,
      headers: bearer(org.secret),
    });
    const dsrId = res.json().id as string;
    const before = (await eventsOf('data_subject_request.completed')).length;
    // The outbox write fails: the completion must roll back with it.
    await t.db.systemPool.query(`
      CREATE FUNCTION test_refuse_event() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'outbox unavailable'; END $$;
      CREATE TRIGGER test_refuse_event BEFORE INSERT ON webhook_events
        FOR EACH ROW WHEN (NEW.type = 'data_subject_request.completed') EXECUTE FUNCTION test_refuse_event();`);
    try {
      await expect(t.container.erasure.run(org.id, dsrId)).rejects.toThrow(/outbox unavailable/);
    } finally {
      await t.db.systemPool.query(
        `DROP TRIGGER test_refuse_event ON webhook_events; DROP FUNCTION test_refuse_event();`,
      );
    }
    const status = async () =>
      (await t.db.systemPool.query(`SELECT status FROM data_subject_requests WHERE id = $1`, [dsrId])).rows[0]
        .status;
    expect(await status()).not.toBe('completed');
    expect(await eventsOf('data_subject_request.completed')).toHaveLength(before);

    await t.container.erasure.run(org.id, dsrId);
    expect(await status()).toBe('completed');
    const events = await eventsOf('data_subject_request.completed');
    expect(events).toHaveLength(before + 1);
    expect(events.at(-1)!.data).toMatchObject({ id: dsrId, status: 'completed' });
  });

  it('sends dpa_request.updated from the transaction of each status change, with id and status only', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/dpa-requests',
      headers: bearer(org.secret),
      payload: {
        signatory_entity: 'Canary Europe GmbH',
        countries_of_processing: ['DE'],
        governing_law: 'Ireland',
        special_requirements: ['HIPAA'],
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as string;
    const patch = (status: string) =>
      t.app.inject({
        method: 'PATCH',
        url: `/admin/v1/dpa-requests/${id}`,
        headers: bearer(ADMIN_TOKEN),
        payload: { status },
      });
    expect((await patch('in_review')).statusCode).toBe(200);
    expect((await patch('in_review')).statusCode).toBe(200); // no change: no event
    expect((await patch('received')).statusCode).toBe(409); // refused: no event
    expect((await patch('sent_for_signature')).statusCode).toBe(200);

    const events = await eventsOf('dpa_request.updated');
    expect(events.map((e) => e.data)).toEqual([
      { id, object: 'dpa_request', status: 'in_review' },
      { id, object: 'dpa_request', status: 'sent_for_signature' },
    ]);
    const { rows } = await t.db.systemPool.query(
      `SELECT xmin::text AS xmin FROM dpa_requests WHERE id = $1`,
      [id],
    );
    expect(events[1]!.xmin).toBe(rows[0].xmin);
    expect((await deliveriesOf(events[0]!.id)).map((d) => d.endpoint_id)).toEqual([subscribed.id]);
    const body = await deliver(events[1]!.id);
    expect(body).toMatchObject({ type: 'dpa_request.updated', data: events[1]!.data });
    expect(JSON.stringify(body)).not.toMatch(/Canary|HIPAA|Ireland/);
  });
});
