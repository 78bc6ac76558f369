import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS, fixedClock } from '../../src/lib/clock.ts';
import { ensureEventPartitions } from '../../src/modules/ingest/event-partitions.ts';
import { at, count, partnerOrg, plantEvents, plusMs, sdkProject } from '../helpers/retention-fixtures.ts';
import { identifyEvent, sendEvents, trackEvent } from '../helpers/sdk-events.ts';
import { bearer, createOrg, createTestApp, type TestApp, type TestOrg } from '../helpers/test-app.ts';

/**
 * generated_media's clock (project lifetime plus the deletion grace period) applied to everything a
 * project owns: once the grace period has passed, the project disappears with its events (every
 * month), profiles, publishable keys and data-subject receipts, and the org's audit log says so.
 */
describe('a project past its deletion grace period', () => {
  const clock = fixedClock(at('2026-06-10T09:00:00.000Z'));
  let t: TestApp;
  let org: TestOrg;
  let doomed: { projectId: string; publishable: string };
  let kept: { projectId: string; publishable: string };

  const owned = async (projectId: string) => ({
    events: await count(t.db.systemPool, 'SELECT 1 FROM sdk_events WHERE project_id = $1', [projectId]),
    profiles: await count(t.db.systemPool, 'SELECT 1 FROM user_profiles WHERE project_id = $1', [projectId]),
    keys: await count(t.db.systemPool, 'SELECT 1 FROM api_keys WHERE project_id = $1', [projectId]),
    dsrs: await count(t.db.systemPool, 'SELECT 1 FROM data_subject_requests WHERE project_id = $1', [
      projectId,
    ]),
    project: await count(t.db.systemPool, 'SELECT 1 FROM projects WHERE id = $1', [projectId]),
  });

  beforeAll(async () => {
    t = await createTestApp({ clock });
    org = await createOrg(t.app, 'Owner');
    doomed = await sdkProject(t, org, 'Doomed');
    kept = await sdkProject(t, org, 'Kept');
    const ts = { timestamp: clock.now().toISOString() };
    for (const p of [doomed, kept])
      await sendEvents(t.app, p.publishable, [
        identifyEvent('u_1', { plan: 'pro' }, ts),
        trackEvent('u_1', 'opened', {}, ts),
      ]);
    // An older month of the same project, in its own partition.
    const may = at('2026-05-03T00:00:00.000Z');
    await ensureEventPartitions(t.db.system, may);
    await plantEvents(t.db.systemPool, {
      orgId: org.id,
      projectId: doomed.projectId,
      receivedAt: may,
      n: 25,
    });
    const dsr = await t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${doomed.projectId}/events/users/u_gone`,
      headers: bearer(org.secret),
    });
    expect(dsr.statusCode).toBe(202);
  });
  afterAll(() => t.close());

  it('is kept through purge_after, then disappears with everything it owned', async () => {
    const before = await owned(doomed.projectId);
    expect(before).toEqual({ events: 27, profiles: 1, keys: 1, dsrs: 1, project: 1 });
    const keptBefore = await owned(kept.projectId);

    const deleted = await t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${doomed.projectId}`,
      headers: bearer(org.secret),
    });
    const purgeAfter = new Date(deleted.json().purge_after);
    expect(purgeAfter.getTime()).toBe(clock.now().getTime() + 30 * DAY_MS);

    clock.set(purgeAfter);
    let report = await t.container.retentionSweeper.sweep();
    expect(report.projects_purged).toBe(0);
    expect(await owned(doomed.projectId)).toEqual(before);

    clock.set(plusMs(purgeAfter, 1));
    report = await t.container.retentionSweeper.sweep();
    expect(report.projects_purged).toBe(1);
    expect(await owned(doomed.projectId)).toEqual({ events: 0, profiles: 0, keys: 0, dsrs: 0, project: 0 });
    expect(report.purged).toMatchObject({ sdk_events: 27, user_profiles: 1, data_subject_requests: 1 });
    expect(report.purged.partner_config).toBe(2); // the publishable key and the project row
    expect(await owned(kept.projectId)).toEqual(keptBefore);

    const audit = await t.app.inject({
      method: 'GET',
      url: `/v1/audit-log?action=project.purged&resource_id=${doomed.projectId}`,
      headers: bearer(org.secret),
    });
    const entry = audit.json().data[0];
    expect(entry).toMatchObject({ actor: { type: 'system', id: null }, resource: { type: 'project' } });
    expect(entry.changes.purged_rows.after).toMatchObject({
      sdk_events: 27,
      user_profiles: 1,
      partner_config: 2,
    });
    expect((await t.container.auditLog.verifyChain(t.db.system, org.id)).ok).toBe(true);

    // Nothing left to do: a second sweep purges nothing.
    const again = await t.container.retentionSweeper.sweep();
    expect(again.projects_purged).toBe(0);
  });

  it('uses the org’s contracted grace period', async () => {
    const partner = await partnerOrg(t, 'Short grace', { generated_media: '7d' });
    const { projectId } = await sdkProject(t, partner);
    const deleted = await t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${projectId}`,
      headers: bearer(partner.secret),
    });
    const purgeAfter = new Date(deleted.json().purge_after);
    expect(purgeAfter.getTime()).toBe(clock.now().getTime() + 7 * DAY_MS);
    clock.set(plusMs(purgeAfter, 1));
    await t.container.retentionSweeper.sweep();
    expect((await owned(projectId)).project).toBe(0);
  });
});
