import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlatformApp } from '../../src/app.ts';
import {
  eventually,
  heldConnections,
  openStalledExport,
  runningExportCopies,
  type StalledExport,
} from '../helpers/export-client.ts';
import { sendEvents, trackEvent } from '../helpers/sdk-events.ts';
import { createSecondInstance, type SecondInstance } from '../helpers/second-instance.ts';
import {
  bearer,
  createSdkProject,
  createTestApp,
  type SdkProject,
  type TestApp,
} from '../helpers/test-app.ts';

/**
 * Exports hold an app-pool connection and a snapshot while their client reads, so slow readers must
 * not be able to take the pool: a cap per org and in all (429 / 503 in the error contract, with
 * Retry-After, before any connection is taken), and time limits that cut off a client that stops
 * reading or an export that runs too long.
 */
describe('export limits', () => {
  let t: TestApp;
  let a: SdkProject;
  let b: SdkProject;
  const instances: SecondInstance[] = [];
  const open: StalledExport[] = [];
  beforeAll(async () => {
    t = await createTestApp({ env: { LAYERS_EXPORTS_MAX: '3', LAYERS_EXPORTS_MAX_PER_ORG: '2' } });
    a = await createSdkProject(t.app, 'Org A');
    b = await createSdkProject(t.app, 'Org B');
    // Users whose exports (~20 MB) cannot fit in the socket buffers: a client that stops reading stalls them.
    for (const sdk of [a, b]) {
      await t.db.systemPool.query(
        `INSERT INTO sdk_events (id, org_id, project_id, event_id, type, event, user_id, timestamp, received_at, received_month, properties, traits)
         SELECT 'evt_big_' || g, $1, $2, 'big-' || g, 'track', 'view', 'u_big', now() - interval '1 hour' + g * interval '1 ms',
                now(), date_trunc('month', now())::date, jsonb_build_object('padding', repeat('p', 400)), '{}'
         FROM generate_series(1, 30000) g`,
        [sdk.org.id, sdk.projectId],
      );
    }
  });
  afterAll(async () => {
    for (const e of open) e.req.destroy();
    for (const i of instances) await i.close();
    await t.close();
  });

  async function portOf(app: PlatformApp): Promise<number> {
    if (!app.server.listening) await app.listen({ host: '127.0.0.1', port: 0 });
    return (app.server.address() as AddressInfo).port;
  }

  async function stalled(app: PlatformApp, sdk: SdkProject) {
    const e = await openStalledExport(
      await portOf(app),
      `/v1/projects/${sdk.projectId}/events/users/u_big`,
      sdk.org.secret,
    );
    open.push(e);
    return e;
  }

  function expectRefused(e: StalledExport, status: number, type: string, code: string) {
    expect(e.status, e.body).toBe(status);
    expect(e.headers['retry-after']).toBe('5');
    const body = JSON.parse(e.body);
    expect(body).toEqual({
      error: { type, code, message: expect.any(String), request_id: expect.stringMatching(/^req_/) },
    });
  }

  /** Every export's COPY ended, its connection back in the pool, its slot free. */
  const allFreed = (running: () => number) =>
    eventually(
      async () =>
        (await runningExportCopies(t.db.systemPool)) === 0 &&
        heldConnections(t.db.appPool) === 0 &&
        running() === 0,
      5_000,
    );

  it('twenty slow readers: two per org, three in all; the rest get 429 / 503 and the API keeps serving', async () => {
    expect((await stalled(t.app, a)).status).toBe(200);
    expect((await stalled(t.app, a)).status).toBe(200);
    expectRefused(await stalled(t.app, a), 429, 'rate_limit_error', 'rate_limited');
    expect((await stalled(t.app, b)).status).toBe(200);
    expectRefused(await stalled(t.app, b), 503, 'api_error', 'service_unavailable');
    for (let i = 0; i < 15; i += 1) {
      const e = await stalled(t.app, i % 2 === 0 ? a : b);
      expect(e.status).toBe(i % 2 === 0 ? 429 : 503);
    }
    expect(t.container.subjects.runningExports()).toBe(3);
    expect(await runningExportCopies(t.db.systemPool)).toBe(3);
    // Refused exports took no connection: the three streaming ones hold one each, nothing more.
    expect(await eventually(() => heldConnections(t.db.appPool) === 3)).toBe(true);

    // Every tenant's API and ingest still answer while the three stall.
    const projects = await t.app.inject({
      method: 'GET',
      url: '/v1/projects',
      headers: bearer(b.org.secret),
    });
    expect(projects.statusCode).toBe(200);
    expect((await sendEvents(t.app, b.publishableKey, [trackEvent('u_small', 'x')])).accepted).toBe(1);

    // Hanging up frees the slots: the next export streams.
    for (const e of open.splice(0)) e.req.destroy();
    expect(await allFreed(t.container.subjects.runningExports)).toBe(true);
    const again = await t.app.inject({
      method: 'GET',
      url: `/v1/projects/${b.projectId}/events/users/u_small`,
      headers: bearer(b.org.secret),
    });
    expect(again.statusCode).toBe(200);
    expect(again.json().events).toHaveLength(1);
  });

  it('a client that takes no data for the idle timeout is cut off, and its connection and slot come back', async () => {
    const idle = await createSecondInstance(t, {
      config: {
        exportLimits: { maxConcurrent: 3, maxPerOrg: 2, idleTimeoutMs: 300, maxDurationMs: 600_000 },
      },
    });
    instances.push(idle);
    const e = await stalled(idle.app, a);
    expect(e.status).toBe(200);
    expect(await allFreed(idle.container.subjects.runningExports)).toBe(true);
    // The client, reading on, gets a body that ends early: it can tell the export is incomplete.
    const complete = await new Promise<boolean>((resolve) => {
      e.res.on('close', () => resolve(e.res.complete));
      e.res.on('error', () => undefined);
      e.res.resume();
    });
    expect(complete).toBe(false);
  });

  it('no export runs longer than the maximum duration', async () => {
    const short = await createSecondInstance(t, {
      config: {
        exportLimits: { maxConcurrent: 3, maxPerOrg: 2, idleTimeoutMs: 600_000, maxDurationMs: 1_000 },
      },
    });
    instances.push(short);
    const e = await stalled(short.app, b);
    expect(e.status).toBe(200);
    expect(await allFreed(short.container.subjects.runningExports)).toBe(true);
  });
});
