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
 * Ad deployments belong to generated_media (project lifetime plus the deletion grace period), and a
 * TikTok deployment's advertiser token is a credential: the end of a partnership deletes the tokens
 * in the offboarding transaction itself and the rows once the grace period has passed; a deleted
 * project's deployments (token included) go with it after its grace period.
 */
describe('ad deployments under the retention registry', () => {
  const clock = fixedClock(at('2026-06-10T09:00:00.000Z'));
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ clock });
  });
  afterAll(() => t.close());

  async function plant(org: TestOrg, projectId: string) {
    const id = newId('adDeployment');
    const sealed = t.container.envelope.encrypt('ttads-retention-token-0123456789', {
      orgId: org.id,
      recordId: id,
      field: 'advertiser_access_token',
    });
    await t.db.systemPool.query(
      `INSERT INTO ad_deployments (id, org_id, project_id, platform, social_account_id, ad_account_id, media_id, headline, body, daily_budget_cents, countries, status, encrypted_advertiser_token, display_name, created_at, updated_at)
       VALUES ($1, $2, $3, 'tiktok', $4, '7100', $5, 'Headline', 'Body', 2500, '{US}', 'created', $6, 'brand', $7, $7)`,
      [id, org.id, projectId, newId('socialAccount'), newId('media'), sealed, clock.now()],
    );
    return id;
  }
  const tokens = (orgId: string) =>
    count(
      t.db.systemPool,
      'SELECT 1 FROM ad_deployments WHERE org_id = $1 AND encrypted_advertiser_token IS NOT NULL',
      [orgId],
    );
  const rows = (where: string, id: string) =>
    count(t.db.systemPool, `SELECT 1 FROM ad_deployments WHERE ${where} = $1`, [id]);

  it('a deleted project’s deployments and tokens go with it after the grace period, not before', async () => {
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
    expect(await rows('project_id', doomed)).toBe(1);
    clock.set(plusMs(purgeAfter, 1));
    expect((await t.container.retentionSweeper.sweep()).projects_purged).toBe(1);
    expect(await rows('project_id', doomed)).toBe(0);
    expect(await rows('project_id', kept)).toBe(1);
  });

  it('the end of a partnership deletes the advertiser tokens at once and the rows after the grace period', async () => {
    const gone = await createOrg(t.app, 'Offboarded');
    const active = await createOrg(t.app, 'Active');
    await plant(gone, (await createProject(t.app, gone)).id);
    await plant(active, (await createProject(t.app, active)).id);
    await offboard(t, gone.id);
    expect(await tokens(gone.id)).toBe(0);
    expect(await rows('org_id', gone.id)).toBe(1);
    expect(await tokens(active.id)).toBe(1);
    clock.set(plusMs(clock.now(), 400 * DAY_MS));
    await t.container.retentionSweeper.sweep();
    expect(await rows('org_id', gone.id)).toBe(0);
    expect(await rows('org_id', active.id)).toBe(1);
    expect(await tokens(active.id)).toBe(1);
  });
});
