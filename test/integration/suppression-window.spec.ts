import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/lib/clock.ts';
import { monthStart } from '../../src/modules/ingest/event-partitions.ts';
import { createIngestDal } from '../../src/modules/ingest/ingest-dal.ts';
import { suppressionHash } from '../../src/modules/subjects/subject-hashes.ts';
import { createDestination, metaDestination } from '../helpers/destinations.ts';
import { identifyEvent, sendEvents, trackEvent } from '../helpers/sdk-events.ts';
import { createSecondInstance, type SecondInstance } from '../helpers/second-instance.ts';
import {
  bearer,
  createSdkProject,
  createTestApp,
  type SdkProject,
  type TestApp,
} from '../helpers/test-app.ts';

/**
 * Erasure with suppression, with two app instances on one database (as two processes behind a load
 * balancer): once it has completed nothing for the user is held, and no instance stores anything for
 * them afterwards, whatever its per-process suppression cache still says.
 */
describe('suppression window', () => {
  let t: TestApp;
  let sdk: SdkProject;
  /** The second instance. Its clock stands still, so its suppression cache (5 s) never refreshes by itself. */
  let other: SecondInstance;
  beforeAll(async () => {
    t = await createTestApp();
    sdk = await createSdkProject(t.app);
    const frozen = new Date();
    const clock: Clock = { now: () => new Date(frozen) };
    other = await createSecondInstance(t, { clock });
  });
  afterAll(async () => {
    await other.close();
    await t.close();
  });

  async function requestErasure(userId: string): Promise<string> {
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${sdk.projectId}/events/users/${userId}?suppress=true`,
      headers: bearer(sdk.org.secret),
    });
    expect(res.statusCode, res.body).toBe(202);
    return res.json().id as string;
  }

  async function held(userId: string) {
    const { rows } = await t.db.systemPool.query(
      `SELECT (SELECT count(*)::int FROM sdk_events WHERE project_id = $1 AND user_id = $2) AS events,
              (SELECT count(*)::int FROM user_profiles WHERE project_id = $1 AND user_id = $2) AS profiles`,
      [sdk.projectId, userId],
    );
    return rows[0] as { events: number; profiles: number };
  }

  const suppressedAt = (index: number) => ({ index, code: 'user_suppressed', message: expect.any(String) });

  it('after completion, another instance refuses the user at once (events and profile)', async () => {
    // The other instance has just loaded the project's suppressions: none yet.
    expect((await sendEvents(other.app, sdk.publishableKey, [trackEvent('u_w1', 'before')])).accepted).toBe(
      1,
    );
    const dsrId = await requestErasure('u_w1');
    await t.container.erasure.run(sdk.org.id, dsrId);

    const after = await sendEvents(other.app, sdk.publishableKey, [
      identifyEvent('u_w1', { plan: 'pro' }),
      trackEvent('u_w1', 'after'),
      trackEvent('u_w1_neighbour', 'fine'),
    ]);
    expect(after).toEqual({ accepted: 1, duplicates: 0, rejected: [suppressedAt(0), suppressedAt(1)] });
    expect(await held('u_w1')).toEqual({ events: 0, profiles: 0 });
    const exported = await t.app.inject({
      method: 'GET',
      url: `/v1/projects/${sdk.projectId}/events/users/u_w1`,
      headers: bearer(sdk.org.secret),
    });
    expect(exported.statusCode).toBe(404);
  });

  it('events sent while the erasure runs do not survive it', async () => {
    expect((await sendEvents(other.app, sdk.publishableKey, [trackEvent('u_w2', 'before')])).accepted).toBe(
      1,
    );
    const dsrId = await requestErasure('u_w2');
    const during: Awaited<ReturnType<typeof sendEvents>>[] = [];
    // The heartbeat comes after each committed batch: the first one, after the events were deleted.
    await t.container.erasure.run(sdk.org.id, dsrId, {
      heartbeat: async () => {
        if (during.length === 0)
          during.push(
            await sendEvents(other.app, sdk.publishableKey, [
              trackEvent('u_w2', 'during'),
              identifyEvent('u_w2', { plan: 'during' }),
            ]),
          );
      },
    });
    expect(during[0]).toEqual({ accepted: 0, duplicates: 0, rejected: [suppressedAt(0), suppressedAt(1)] });
    expect(await held('u_w2')).toEqual({ events: 0, profiles: 0 });
    const status = await t.app.inject({
      method: 'GET',
      url: `/v1/data-subject-requests/${dsrId}`,
      headers: bearer(sdk.org.secret),
    });
    expect(status.json()).toMatchObject({ status: 'completed', receipt: { erased: { sdk_events: 1 } } });
  });

  it('an ingest commit in flight when the erasure starts is waited for, and its events erased', async () => {
    const client = await t.db.appPool.connect();
    let erasure: Promise<void> | undefined;
    try {
      // An ingest commit that has written its rows but not yet committed (as a slow flush would).
      await client.query('BEGIN');
      const now = new Date();
      const written = await createIngestDal().writeBatch(
        client as unknown as pg.Pool,
        sdk.org.id,
        now,
        monthStart(now),
        [
          {
            id: `evt_inflight_${randomUUID().slice(0, 8)}`,
            project_id: sdk.projectId,
            event_id: randomUUID(),
            type: 'track',
            event: 'inflight',
            user_id: 'u_w3',
            timestamp: now,
            app_id: null,
            properties: {},
            traits: {},
            email_sha256: null,
            phone_sha256: null,
            geo_country: null,
            geo_region: null,
          },
        ],
        [],
      );
      expect(written).toHaveLength(1);

      const dsrId = await requestErasure('u_w3');
      let finished = false;
      erasure = t.container.erasure.run(sdk.org.id, dsrId).finally(() => {
        finished = true;
      });
      // Either the erasure waits for the open commit, or (without a fence) it completes around it.
      const waiting = async () =>
        (
          await t.db.systemPool.query(
            `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database =
               (SELECT oid FROM pg_database WHERE datname = current_database())`,
          )
        ).rows[0].n as number;
      const deadline = Date.now() + 10_000;
      while (!finished && (await waiting()) === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      await client.query('COMMIT');
      await erasure;
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
      await erasure?.catch(() => undefined);
    }
    expect(await held('u_w3')).toEqual({ events: 0, profiles: 0 });
  });

  it("a suppressed user's event among others in a project that forwards: only the others are queued", async () => {
    // A project of its own, so the other instance loads its destination and (empty) suppressions now.
    const fwd = await createSdkProject(t.app);
    await createDestination(t, fwd, metaDestination('EAAmetatoken-0123456789'));
    const queue = async () =>
      (
        await t.db.systemPool.query(
          'SELECT event_count, subject_hashes FROM capi_forward_queue WHERE project_id = $1 ORDER BY created_at',
          [fwd.projectId],
        )
      ).rows;
    expect((await sendEvents(other.app, fwd.publishableKey, [trackEvent('u_fw', 'purchase')])).accepted).toBe(
      1,
    );
    expect(await queue()).toHaveLength(1);
    const erasure = await t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${fwd.projectId}/events/users/u_fw?suppress=true`,
      headers: bearer(fwd.org.secret),
    });
    expect(erasure.statusCode, erasure.body).toBe(202);
    await t.container.erasure.run(fwd.org.id, erasure.json().id as string);
    expect(await queue()).toEqual([]);

    // The other instance's cache still says nobody is suppressed: the commit itself refuses u_fw,
    // so the row sealed for both events is stored only in part, and only the neighbour's is queued.
    const after = await sendEvents(other.app, fwd.publishableKey, [
      trackEvent('u_fw', 'purchase'),
      trackEvent('u_fw_neighbour', 'purchase'),
    ]);
    expect(after).toEqual({ accepted: 1, duplicates: 0, rejected: [suppressedAt(0)] });
    expect(await queue()).toEqual([
      { event_count: 1, subject_hashes: [suppressionHash(fwd.projectId, 'u_fw_neighbour')] },
    ]);
  });
});
