import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS, fixedClock } from '../../src/lib/clock.ts';
import { newId } from '../../src/lib/ids.ts';
import { at, count, offboard, plusMs } from '../helpers/retention-fixtures.ts';
import {
  bearer,
  createOrg,
  createProject,
  createTestApp,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';

/**
 * Publications belong to generated_media (project lifetime plus the deletion grace period): a
 * project's publications disappear with the project once its grace period has passed, and the end
 * of a partnership purges the org's publications and its per-account call budgets.
 */
describe('publications under the retention registry', () => {
  const clock = fixedClock(at('2026-06-10T09:00:00.000Z'));
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ clock });
  });
  afterAll(() => t.close());

  async function plant(org: TestOrg, projectId: string) {
    const accountId = newId('socialAccount');
    await t.db.systemPool.query(
      `INSERT INTO publications (id, org_id, project_id, social_account_id, platform, media_id, caption, status, created_at, updated_at)
       VALUES ($1, $2, $3, $4, 'tiktok', $5, 'Caption', 'published', $6, $6)`,
      [newId('publication'), org.id, projectId, accountId, newId('media'), clock.now()],
    );
    await t.db.systemPool.query(
      `INSERT INTO publishing_budget (org_id, social_account_id, kind, window_start, calls) VALUES ($1, $2, 'init', $3, 1)`,
      [org.id, accountId, clock.now()],
    );
  }
  const publications = (where: string, id: string) =>
    count(t.db.systemPool, `SELECT 1 FROM publications WHERE ${where} = $1`, [id]);

  it('a deleted project’s publications go with it after the grace period, not before', async () => {
    const org = await createOrg(t.app, 'Owner');
    const doomed = (await createProject(t.app, org)).id;
    const kept = (await createProject(t.app, org)).id;
    await plant(org, doomed);
    await plant(org, kept);
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${doomed}`,
      headers: bearer(org.secret),
    });
    expect(del.statusCode).toBeLessThan(300);
    const purgeAfter = new Date(del.json().purge_after);
    clock.set(purgeAfter);
    await t.container.retentionSweeper.sweep();
    expect(await publications('project_id', doomed)).toBe(1);
    clock.set(plusMs(purgeAfter, 1));
    const report = await t.container.retentionSweeper.sweep();
    expect(report.projects_purged).toBe(1);
    expect(await publications('project_id', doomed)).toBe(0);
    expect(await publications('project_id', kept)).toBe(1);
  });

  it('the end of a partnership purges the org’s publications and call budgets', async () => {
    const gone = await createOrg(t.app, 'Gone');
    const active = await createOrg(t.app, 'Active');
    await plant(gone, (await createProject(t.app, gone)).id);
    await plant(active, (await createProject(t.app, active)).id);
    await offboard(t, gone.id);
    clock.set(plusMs(clock.now(), 400 * DAY_MS));
    await t.container.retentionSweeper.sweep();
    expect(await publications('org_id', gone.id)).toBe(0);
    expect(await count(t.db.systemPool, 'SELECT 1 FROM publishing_budget WHERE org_id = $1', [gone.id])).toBe(
      0,
    );
    expect(await publications('org_id', active.id)).toBe(1);
    expect(
      await count(t.db.systemPool, 'SELECT 1 FROM publishing_budget WHERE org_id = $1', [active.id]),
    ).toBe(1);
  });
});
