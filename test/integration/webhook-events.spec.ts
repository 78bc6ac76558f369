import type { Runner } from 'graphile-worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../src/db/tenant-transaction.ts';
import { createLogger } from '../../src/http/logging.ts';
import { startWorker } from '../../src/jobs/worker.ts';
import type { TenantScope } from '../../src/lib/scope.ts';
import {
  bearer,
  createKey,
  createOrg,
  createProject,
  createTestApp,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';
import { startReceiver, verifyStandardWebhook } from '../helpers/webhook-receiver.ts';

/**
 * Events are written in the transaction of the change they report (an outbox through
 * graphile_worker's add_job), by the app role, with ids and non-personal fields only.
 */
describe('webhook events', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  async function eventsOf(org: TestOrg) {
    const { rows } = await t.db.systemPool.query(
      `SELECT id, type, data FROM webhook_events WHERE org_id = $1 ORDER BY id`,
      [org.id],
    );
    return rows as { id: string; type: string; data: Record<string, unknown> }[];
  }

  async function deliveriesOf(org: TestOrg) {
    const { rows } = await t.db.systemPool.query(
      `SELECT d.id, d.endpoint_id, e.type FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
       WHERE d.org_id = $1 ORDER BY d.id`,
      [org.id],
    );
    return rows as { id: string; endpoint_id: string; type: string }[];
  }

  async function jobKeys(): Promise<Set<string>> {
    const { rows } = await t.db.systemPool.query(
      `SELECT j.key, j.payload FROM graphile_worker._private_jobs j
       JOIN graphile_worker._private_tasks k ON k.id = j.task_id WHERE k.identifier = 'webhooks.deliver'`,
    );
    return new Set(rows.map((r) => r.key as string));
  }

  it('reports every change of projects, keys and endpoints with the documented payload, and nothing personal', async () => {
    const org = await createOrg(t.app);
    const send = (method: 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
      t.app.inject({ method, url, headers: bearer(org.secret), ...(payload ? { payload } : {}) });
    const everything = (
      await send('POST', '/v1/webhooks', { url: 'https://hooks.example.com/all', events: ['*'] })
    ).json();
    const projectsOnly = (
      await send('POST', '/v1/webhooks', {
        url: 'https://hooks.example.com/projects',
        events: ['project.created'],
        description: 'Canary-description-7f2',
      })
    ).json();
    const project = await createProject(t.app, org, 'Canary-name jane.doe@example.com');
    await send('PATCH', `/v1/projects/${project.id}`, { name: 'Canary-renamed' });
    const key = await createKey(t.app, org, {
      type: 'publishable',
      project_id: project.id,
      name: 'Canary-key',
    });
    await send('DELETE', `/v1/api-keys/${key.id}`);
    await send('DELETE', `/v1/projects/${project.id}`);
    await send('PATCH', `/v1/webhooks/${projectsOnly.id}`, {
      events: ['project.created', 'project.deleted'],
    });
    await send('POST', `/v1/webhooks/${projectsOnly.id}/rotate-secret`);
    await send('DELETE', `/v1/webhooks/${projectsOnly.id}`);

    const events = await eventsOf(org);
    expect(events.map((e) => e.type)).toEqual([
      'webhook_endpoint.created',
      'webhook_endpoint.created',
      'project.created',
      'project.updated',
      'api_key.created',
      'api_key.revoked',
      'project.deleted',
      'webhook_endpoint.updated',
      'webhook_endpoint.updated',
      'webhook_endpoint.deleted',
    ]);
    const data = events.map((e) => e.data);
    expect(data[1]).toEqual({
      id: projectsOnly.id,
      object: 'webhook_endpoint',
      status: 'enabled',
      events: ['project.created'],
    });
    expect(data[2]).toEqual({ id: project.id, object: 'project', status: 'active' });
    expect(data[3]).toEqual({ id: project.id, object: 'project', status: 'active', changed: ['name'] });
    expect(data[4]).toEqual({ id: key.id, object: 'api_key', type: 'publishable', project_id: project.id });
    expect(data[5]).toMatchObject({ id: key.id, object: 'api_key' });
    expect(data[6]).toMatchObject({ id: project.id, status: 'pending_deletion' });
    expect(Date.parse(data[6]!.purge_after as string)).toBeGreaterThan(Date.now());
    expect(data[7]).toMatchObject({ id: projectsOnly.id, changed: ['events'] });
    expect(data[8]).toMatchObject({ id: projectsOnly.id, changed: ['signing_secret'] });
    expect(data[9]).toEqual({ id: projectsOnly.id, object: 'webhook_endpoint' });
    // Names, descriptions, URLs and secrets never travel in an event.
    const text = JSON.stringify(events);
    for (const canary of ['Canary', 'example.com', 'whsec_']) expect(text).not.toContain(canary);

    // Each subscribed endpoint has one delivery per event it subscribes to, each with its queue job.
    const deliveries = await deliveriesOf(org);
    const toEverything = deliveries.filter((d) => d.endpoint_id === everything.id).map((d) => d.type);
    expect(toEverything).toEqual(events.map((e) => e.type));
    expect(deliveries.filter((d) => d.endpoint_id === projectsOnly.id)).toEqual([]); // cascaded with it
    const keys = await jobKeys();
    for (const d of deliveries) expect(keys.has(`webhook-delivery:${d.id}`)).toBe(true);
  });

  it('emits an operator-issued key too, in that org only', async () => {
    const org = await createOrg(t.app);
    const other = await createOrg(t.app);
    for (const o of [org, other])
      await t.app.inject({
        method: 'POST',
        url: '/v1/webhooks',
        headers: bearer(o.secret),
        payload: { url: 'https://hooks.example.com/k', events: ['api_key.created'] },
      });
    const issued = await t.container.orgs.issueSecretKey(org.id, 'Recovery key');
    expect((await deliveriesOf(org)).map((d) => d.type)).toEqual(['api_key.created']);
    expect(await deliveriesOf(other)).toEqual([]);
    expect((await eventsOf(org)).at(-1)?.data).toEqual({
      id: issued.id,
      object: 'api_key',
      type: 'secret',
      project_id: null,
    });
  });

  it('is an outbox: a change whose transaction rolls back leaves no event, delivery or job', async () => {
    const org = await createOrg(t.app);
    await t.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: bearer(org.secret),
      payload: { url: 'https://hooks.example.com/o', events: ['project.created'] },
    });
    const before = { events: (await eventsOf(org)).length, jobs: (await jobKeys()).size };
    const scopeOf = (tx: TenantScope['tx']): TenantScope => ({
      tx,
      orgId: org.id,
      actor: { type: 'system', id: null },
      requestId: null,
      now: new Date(),
    });
    // Runs as the app role (t.db.app), in a tenant transaction, exactly as a request does.
    await expect(
      withTenant(t.db.app, org.id, async (tx) => {
        await t.container.projects.create(scopeOf(tx), { name: 'Rolled back' });
        expect((await eventsOf(org)).length).toBe(before.events); // not visible outside the transaction
        throw new Error('the change fails after its event was emitted');
      }),
    ).rejects.toThrow('the change fails');
    expect((await eventsOf(org)).length).toBe(before.events);
    expect(await deliveriesOf(org)).toHaveLength(0);
    expect((await jobKeys()).size).toBe(before.jobs);

    // The same change committed: event, delivery and job, all there.
    await withTenant(t.db.app, org.id, (tx) => t.container.projects.create(scopeOf(tx), { name: 'Kept' }));
    const deliveries = await deliveriesOf(org);
    expect(deliveries.map((d) => d.type)).toEqual(['project.created']);
    expect((await jobKeys()).has(`webhook-delivery:${deliveries[0]!.id}`)).toBe(true);
  });

  it('re-arms a delivery whose job a dead worker took before claiming it, and only such deliveries', async () => {
    const org = await createOrg(t.app);
    await t.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: bearer(org.secret),
      payload: { url: 'https://hooks.example.com/r', events: ['project.created'] },
    });
    for (let i = 0; i < 3; i++) await createProject(t.app, org);
    const [stuck, healthy, leased] = (await deliveriesOf(org)).map((d) => d.id);
    const jobOf = async (id: string | undefined) =>
      (
        await t.db.systemPool.query(
          `SELECT id, locked_at FROM graphile_worker._private_jobs WHERE key = $1`,
          [`webhook-delivery:${id}`],
        )
      ).rows;
    // A worker took `stuck`'s job two minutes ago and died before claiming the delivery.
    await t.db.systemPool.query(
      `UPDATE graphile_worker._private_jobs SET locked_at = now() - interval '2 minutes', locked_by = 'dead-worker'
       WHERE key = $1`,
      [`webhook-delivery:${stuck}`],
    );
    const [deadJob] = await jobOf(stuck);
    // `leased` has a live attempt (its job was taken just now, its lease runs).
    await t.db.systemPool.query(
      `UPDATE webhook_deliveries SET lease_until = now() + interval '1 minute' WHERE id = $1`,
      [leased],
    );
    await t.db.systemPool.query(
      `UPDATE graphile_worker._private_jobs SET locked_at = now() - interval '2 minutes', locked_by = 'live-worker'
       WHERE key = $1`,
      [`webhook-delivery:${leased}`],
    );

    expect(await t.container.webhookDispatch.recover()).toBe(1);
    const [fresh] = await jobOf(stuck);
    expect(fresh.id).not.toBe(deadJob.id);
    expect(fresh.locked_at).toBeNull();
    expect((await jobOf(healthy))[0].locked_at).toBeNull();
    expect((await jobOf(leased))[0].locked_at).not.toBeNull();
    expect(await t.container.webhookDispatch.recover()).toBe(0);
  });

  it('gives the app role the enqueue function and nothing else of the job queue', async () => {
    const org = await createOrg(t.app);
    const client = await t.db.appPool.connect();
    const asApp = async (statement: string) => {
      await client.query('BEGIN');
      await client.query(`SELECT set_config('app.org_id', $1, true)`, [org.id]);
      try {
        return await client.query(statement);
      } finally {
        await client.query('ROLLBACK');
      }
    };
    try {
      expect((await client.query('SELECT current_user AS u')).rows[0].u).toBe('layers_app');
      await asApp(`SELECT layers_enqueue_job('webhooks.deliver', '{}'::json)`);
      for (const statement of [
        `SELECT count(*) FROM graphile_worker._private_jobs`,
        `SELECT graphile_worker.add_job('webhooks.deliver', '{}'::json)`,
        `DELETE FROM graphile_worker._private_jobs`,
        `DELETE FROM webhook_deliveries`,
        `DELETE FROM webhook_events`,
        `UPDATE webhook_events SET type = 'x'`,
      ]) {
        await expect(asApp(statement), statement).rejects.toThrow(/permission denied/);
      }
    } finally {
      client.release();
    }
  });
});

describe('webhook events through the job worker', () => {
  let t: TestApp;
  let runner: Runner | undefined;
  beforeAll(async () => {
    t = await createTestApp({ env: { LAYERS_ALLOW_PRIVATE_WEBHOOKS: 'true' } });
  });
  afterAll(async () => {
    await runner?.stop();
    await t.close();
  });

  it('a running worker delivers what the API enqueued, signed', async () => {
    const r = await startReceiver();
    try {
      runner = await startWorker({ container: t.container, logger: createLogger({ level: 'silent' }) });
      const org = await createOrg(t.app);
      const hook = (
        await t.app.inject({
          method: 'POST',
          url: '/v1/webhooks',
          headers: bearer(org.secret),
          payload: { url: r.url, events: ['*'] },
        })
      ).json();
      const project = await createProject(t.app, org);
      await r.waitFor(2);
      const bodies = r.received.map((q) => JSON.parse(q.body));
      expect(bodies.map((b) => b.type).sort()).toEqual(['project.created', 'webhook_endpoint.created']);
      expect(bodies.find((b) => b.type === 'project.created').data.id).toBe(project.id);
      for (const q of r.received) {
        expect(verifyStandardWebhook(hook.secret, q.headers, q.body, { nowSeconds: Date.now() / 1000 })).toBe(
          true,
        );
      }
      // Done deliveries leave no job behind.
      const deadline = Date.now() + 5_000;
      let left = -1;
      while (Date.now() < deadline) {
        const { rows } = await t.db.systemPool.query(
          `SELECT count(*)::int AS n FROM graphile_worker._private_jobs WHERE key LIKE 'webhook-delivery:%'`,
        );
        left = rows[0].n;
        if (left === 0) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      expect(left).toBe(0);
      const { rows } = await t.db.systemPool.query(
        `SELECT status, count(*)::int AS n FROM webhook_deliveries WHERE org_id = $1 GROUP BY 1`,
        [org.id],
      );
      expect(rows).toEqual([{ status: 'succeeded', n: 2 }]);
    } finally {
      await r.close();
    }
  });
});
