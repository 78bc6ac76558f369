import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateKeys } from '../../src/cli/key-rotation.ts';
import { fixedClock } from '../../src/lib/clock.ts';
import {
  createEnvelope,
  generateKeyEncryptionKey,
  parseKeyEncryptionKeys,
} from '../../src/lib/envelope-crypto.ts';
import { openEvents } from '../../src/modules/destinations/forward-batch.ts';
import { suppressionHash } from '../../src/modules/subjects/subject-hashes.ts';
import { createDestination, metaDestination } from '../helpers/destinations.ts';
import { offboard } from '../helpers/retention-fixtures.ts';
import { sendEvents, trackEvent } from '../helpers/sdk-events.ts';
import {
  bearer,
  createSdkProject,
  createTestApp,
  type SdkProject,
  type TestApp,
} from '../helpers/test-app.ts';

/**
 * The forward queue's exits besides forwarding: the 72-hour expiry (counted per destination), a DSR
 * erasure of the user's queued rows, and the end of the partnership (queue and destinations at once).
 */
const IDFA = '6D92078A-8246-4BA4-AE5B-76104861E7DC';

describe('the forward queue: 72 h expiry, erasure, partnership end', () => {
  let t: TestApp;
  const clock = fixedClock(new Date());
  beforeAll(async () => {
    t = await createTestApp({ clock });
  });
  afterAll(() => t.close());

  async function project(name: string): Promise<SdkProject & { destinationId: string }> {
    const p = await createSdkProject(t.app, name);
    const { id } = await createDestination(t, p, metaDestination('EAA-lifecycle-token', '42'));
    return { ...p, destinationId: id };
  }
  const event = (userId: string) =>
    trackEvent(userId, 'purchase', {}, { context: { device: { idfa: IDFA, ad_tracking_enabled: true } } });
  /** Events queued (a row holds one commit's events for one destination). */
  async function count(where: { projectId?: string; destinationId?: string }) {
    const { rows } = await sql<{ n: string }>`
      SELECT coalesce(sum(event_count), 0) AS n FROM capi_forward_queue
      WHERE (${where.projectId ?? null}::text IS NULL OR project_id = ${where.projectId ?? null})
        AND (${where.destinationId ?? null}::text IS NULL OR destination_id = ${where.destinationId ?? null})`.execute(
      t.db.system,
    );
    return Number(rows[0]?.n);
  }

  it('rows still queued after 72 hours are deleted by the sweep and counted as expired', async () => {
    const p = await project('Expiry Co');
    // No platform is reachable here (the destination is never forwarded to): the rows just wait.
    await sendEvents(t.app, p.publishableKey, [event('u_1'), event('u_2')]);
    expect(await count({ destinationId: p.destinationId })).toBe(2);
    clock.advance(72 * 3_600_000 - 60_000);
    expect((await t.container.forwarder.sweep()).expired).toBe(0);
    expect(await count({ destinationId: p.destinationId })).toBe(2);
    clock.advance(2 * 60_000);
    const swept = await t.container.forwarder.sweep();
    expect(swept.expired).toBe(2);
    expect(await count({ destinationId: p.destinationId })).toBe(0);
    const stats = await t.app.inject({
      method: 'GET',
      url: `/v1/destinations/${p.destinationId}/stats?since=${new Date(clock.now().getTime() - 3_600_000).toISOString()}&until=${new Date(clock.now().getTime() + 1).toISOString()}`,
      headers: bearer(p.org.secret),
    });
    expect(stats.json().data.reduce((a: number, h: { expired: number }) => a + h.expired, 0)).toBe(2);
    // …and counted as queued in the hour they were queued (72 h earlier), once they left the queue.
    const queuedHour = await t.app.inject({
      method: 'GET',
      url: `/v1/destinations/${p.destinationId}/stats?since=${new Date(clock.now().getTime() - 73 * 3_600_000).toISOString()}&until=${new Date(clock.now().getTime() - 71 * 3_600_000).toISOString()}`,
      headers: bearer(p.org.secret),
    });
    expect(queuedHour.json().data.reduce((a: number, h: { queued: number }) => a + h.queued, 0)).toBe(2);
  });

  it("a DSR erasure deletes the user's queued rows, and only theirs", async () => {
    const p = await project('Erasure Co');
    await sendEvents(t.app, p.publishableKey, [event('u_gone'), event('u_gone'), event('u_stays')]);
    expect(await count({ projectId: p.projectId })).toBe(3);
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${p.projectId}/events/users/u_gone`,
      headers: bearer(p.org.secret),
    });
    expect(res.statusCode).toBe(202);
    await t.container.erasure.run(p.org.id, res.json().id);
    // The three were one row: it now holds only u_stays's event, sealed again.
    expect(await count({ projectId: p.projectId })).toBe(1);
    const { rows } = await sql<{
      id: string;
      org_id: string;
      subject_hashes: string[];
      encrypted_payload: string;
    }>`
      SELECT id, org_id, subject_hashes, encrypted_payload FROM capi_forward_queue WHERE project_id = ${p.projectId}`.execute(
      t.db.system,
    );
    expect(rows.map((r) => r.subject_hashes)).toEqual([[suppressionHash(p.projectId, 'u_stays')]]);
    const left = openEvents(t.container.envelope, {
      ...rows[0]!,
      first_subject: rows[0]!.subject_hashes[0]!,
    });
    expect(left.map((e) => e.subject)).toEqual([suppressionHash(p.projectId, 'u_stays')]);
    const receipt = await t.app.inject({
      method: 'GET',
      url: `/v1/data-subject-requests/${res.json().id}`,
      headers: bearer(p.org.secret),
    });
    expect(JSON.stringify(receipt.json())).toContain('capi_forward_queue');
  });

  it('`layers keys rotate` re-wraps queued batches: they open with the new key alone, events intact', async () => {
    const p = await project('Rotation Co');
    const sent = [event('u_r1'), event('u_r2')];
    await sendEvents(t.app, p.publishableKey, sent);
    // Re-wraps the whole test database: the tests after this one decrypt nothing with the old key.
    const newKey = generateKeyEncryptionKey();
    const both = createEnvelope(parseKeyEncryptionKeys(`${newKey},${t.config.encryptionKey}`));
    const report = await rotateKeys(t.db.system, both);
    expect(report.columns.find((c) => c.table === 'capi_forward_queue')?.rewrapped).toBeGreaterThan(0);
    const onlyNew = createEnvelope(parseKeyEncryptionKeys(newKey));
    const { rows } = await sql<{
      id: string;
      org_id: string;
      subject_hashes: string[];
      encrypted_payload: string;
    }>`
      SELECT id, org_id, subject_hashes, encrypted_payload FROM capi_forward_queue WHERE project_id = ${p.projectId}`.execute(
      t.db.system,
    );
    const opened = rows.flatMap((r) => openEvents(onlyNew, { ...r, first_subject: r.subject_hashes[0]! }));
    expect(opened.map((e) => e.event.event_id).sort()).toEqual(sent.map((e) => e.event_id as string).sort());
    expect(opened.every((e) => e.event.device.idfa === IDFA)).toBe(true);
  });

  it('forwarding stats (counts only) are kept 90 days, then purged by the retention sweeper', async () => {
    const p = await project('Stats Co');
    const hour = (msAgo: number) =>
      new Date(Math.floor((clock.now().getTime() - msAgo) / 3_600_000) * 3_600_000);
    const DAY = 86_400_000;
    for (const at of [hour(90 * DAY + 2 * 3_600_000), hour(89 * DAY)])
      await sql`
        INSERT INTO capi_forward_stats (org_id, project_id, destination_id, hour, sent)
        VALUES (${p.org.id}, ${p.projectId}, ${p.destinationId}, ${at}, 5)`.execute(t.db.system);
    await t.container.retentionSweeper.sweep();
    const { rows } = await sql<{ hour: Date }>`
      SELECT hour FROM capi_forward_stats WHERE destination_id = ${p.destinationId} AND sent = 5`.execute(
      t.db.system,
    );
    expect(rows.map((r) => r.hour.getTime())).toEqual([hour(89 * DAY).getTime()]);
  });

  it('the end of the partnership deletes the queue and the destinations (their tokens) at once', async () => {
    const p = await project('Offboarded Co');
    await sendEvents(t.app, p.publishableKey, [event('u_1')]);
    expect(await count({ projectId: p.projectId })).toBe(1);
    await offboard(t, p.org.id);
    expect(await count({ projectId: p.projectId })).toBe(0);
    const { rows } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM destinations WHERE org_id = ${p.org.id}`.execute(t.db.system);
    expect(Number(rows[0]?.n)).toBe(0);
  });
});
