import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openUserEventExport } from '../../src/modules/subjects/subject-export.ts';
import { eventually, heldConnections, openStalledExport } from '../helpers/export-client.ts';
import { createSdkProject, createTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * The export's database side: a consistent snapshot; an export cut off (by the code, or by a client
 * hanging up over real HTTP) stops the database's work and gives its connection back.
 */
describe('user event export', () => {
  let t: TestApp;
  let ids: { orgId: string; projectId: string; userId: string };
  let secret: string;
  beforeAll(async () => {
    t = await createTestApp();
    const sdk = await createSdkProject(t.app);
    ids = { orgId: sdk.org.id, projectId: sdk.projectId, userId: 'u_export_big' };
    secret = sdk.org.secret;
    await insertEvents(50_000, 'before');
  });
  afterAll(() => t.close());

  async function insertEvents(count: number, tag: string) {
    await t.db.systemPool.query(
      `INSERT INTO sdk_events (id, org_id, project_id, event_id, type, event, user_id, timestamp, received_at, received_month, properties, traits)
       SELECT 'evt_' || $4 || '_' || g, $1, $2, $4 || '-' || g, 'track', 'view', $3,
              now() - interval '1 hour' + g * interval '1 millisecond', now(), date_trunc('month', now())::date,
              jsonb_build_object('padding', repeat('p', 200)), '{}'
       FROM generate_series(1, $5::int) g`,
      [ids.orgId, ids.projectId, ids.userId, tag, count],
    );
  }

  const exportCopies = async () =>
    (
      await t.db.systemPool.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'COPY (SELECT json_build_object%'`,
      )
    ).rows[0].n as number;

  it('reads one snapshot: events written after the export opened are not in it', async () => {
    const exported = await openUserEventExport(t.db.appPool, ids);
    await insertEvents(10, 'after');
    let lines = 0;
    for await (const chunk of exported.events({ between: '', after: '\n' })) {
      lines += (chunk as Buffer).toString('latin1').split('\n').length - 1;
    }
    await exported.close();
    expect(lines).toBe(50_000);
  });

  it('a cut-off export discards its connection and the database stops sending', async () => {
    const exported = await openUserEventExport(t.db.appPool, ids);
    const events = exported.events({ between: '', after: '\n' });
    // A client that stopped reading: the stream fills, the database socket pauses, the backend blocks.
    for (let i = 0; i < 100 && events.readableLength === 0; i += 1) await sleep(10);
    await sleep(200);
    expect(events.readableLength).toBeGreaterThan(0);
    expect(await exportCopies()).toBe(1);
    events.destroy();
    await exported.close();
    for (let i = 0; i < 100 && (await exportCopies()) > 0; i += 1) await sleep(50);
    expect(await exportCopies()).toBe(0);
    // The pool goes on serving exports.
    const again = await openUserEventExport(t.db.appPool, ids);
    expect(again.hasEvents).toBe(true);
    await again.close();
  });

  it('an export answered 404 holds no database connection afterwards', async () => {
    for (const userId of ['u_never_seen_1', 'u_never_seen_2', 'u_never_seen_3']) {
      const res = await t.app.inject({
        method: 'GET',
        url: `/v1/projects/${ids.projectId}/events/users/${userId}`,
        headers: { authorization: `Bearer ${secret}` },
      });
      expect(res.statusCode).toBe(404);
    }
    // The tenant read's COMMIT may still be on its way back when the 404 is sent: poll, bounded.
    expect(await eventually(() => heldConnections(t.db.appPool) === 0)).toBe(true);
    expect(t.container.subjects.runningExports()).toBe(0);
  });

  it('a client that hangs up mid-export over HTTP frees the database connection', async () => {
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    // Hang up only once events arrive, i.e. once the COPY runs. (Hanging up on the first chunk, the
    // user line, could come before the COPY had started: a poll then saw none, and a moment later one.)
    const stalled = await openStalledExport(
      port,
      `/v1/projects/${ids.projectId}/events/users/${ids.userId}`,
      secret,
    );
    expect(stalled.status).toBe(200);
    // Mid-stream: ~20 MB of events do not fit in the socket buffers, so the database waits for the client.
    expect(await exportCopies()).toBe(1);
    stalled.req.destroy();
    // Nothing can start the COPY again or take the connection back, so the first poll that sees both
    // gone sees the end state.
    expect(
      await eventually(async () => (await exportCopies()) === 0 && heldConnections(t.db.appPool) === 0),
    ).toBe(true);
    expect(t.container.subjects.runningExports()).toBe(0);
  });
});
