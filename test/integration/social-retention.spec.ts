import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS, fixedClock } from '../../src/lib/clock.ts';
import { newId } from '../../src/lib/ids.ts';
import { nextSyncAt } from '../../src/modules/social-accounts/post-sync.ts';
import { plusMs } from '../helpers/retention-fixtures.ts';
import {
  bearer,
  createOrg,
  createProject,
  createTestApp,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';

/**
 * post_metadata is product analytics: purged by the sweeper once the month of its last sync is more
 * than the retention (13 months, as the events) behind; erased with its project. Accounts are
 * spread over the hour.
 */
describe('social accounts: post metadata retention', () => {
  const NOW = new Date('2026-12-01T12:00:00.000Z');
  const clock = fixedClock(NOW);
  let t: TestApp;
  let org: TestOrg;

  beforeAll(async () => {
    t = await createTestApp({ clock });
    org = await createOrg(t.app);
  });
  afterAll(() => t.close());

  async function plant(projectId: string, collectedAt: Date): Promise<{ accountId: string; postId: string }> {
    const accountId = newId('socialAccount');
    const postId = `p_${accountId.slice(-8)}`;
    await t.db.systemPool.query(
      `INSERT INTO social_accounts (id, org_id, project_id, platform, platform_user_id, status, connected_at, created_at, updated_at)
       VALUES ($1, $2, $3, 'youtube', $1, 'active', $4, $4, $4)`,
      [accountId, org.id, projectId, collectedAt],
    );
    await t.db.systemPool.query(
      `INSERT INTO post_metadata (org_id, project_id, social_account_id, platform, platform_post_id, caption, views, collected_at)
       VALUES ($1, $2, $3, 'youtube', $4, 'caption', 10, $5)`,
      [org.id, projectId, accountId, postId, collectedAt],
    );
    return { accountId, postId };
  }
  const posts = async (accountId: string) =>
    (
      await t.db.systemPool.query(
        'SELECT count(*)::int AS n FROM post_metadata WHERE social_account_id = $1',
        [accountId],
      )
    ).rows[0].n;

  it('purges post rows whose month is past product analytics retention, keeps recent ones', async () => {
    const project = await createProject(t.app, org);
    // 396 days after the end of its month has passed for the old row; the recent one is days old.
    const old = await plant(project.id, new Date('2025-09-15T00:00:00Z'));
    const recent = await plant(project.id, plusMs(NOW, -10 * DAY_MS));
    await t.container.retentionSweeper.sweep();
    expect(await posts(old.accountId)).toBe(0);
    expect(await posts(recent.accountId)).toBe(1);
    // The partner API shows what is left.
    const res = await t.app.inject({
      method: 'GET',
      url: `/v1/social-accounts/${recent.accountId}/posts`,
      headers: bearer(org.secret),
    });
    expect(res.json().data).toHaveLength(1);
  });

  it('erases post rows and accounts with their project', async () => {
    const project = await createProject(t.app, org);
    const planted = await plant(project.id, plusMs(NOW, -DAY_MS));
    const deleted = await t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${project.id}`,
      headers: bearer(org.secret),
    });
    clock.set(plusMs(new Date(deleted.json().purge_after), 1));
    await t.container.retentionSweeper.sweep();
    expect(await posts(planted.accountId)).toBe(0);
    const { rows } = await t.db.systemPool.query(
      'SELECT count(*)::int AS n FROM social_accounts WHERE project_id = $1',
      [project.id],
    );
    expect(rows[0].n).toBe(0);
    clock.set(NOW);
  });

  it('spreads accounts over the hour: each has its own minute, about an hour after its last sync', () => {
    const slots = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const at = nextSyncAt(newId('socialAccount'), NOW);
      const ahead = at.getTime() - NOW.getTime();
      expect(ahead).toBeGreaterThan(30 * 60_000);
      expect(ahead).toBeLessThanOrEqual(90 * 60_000);
      slots.add(Math.floor((at.getTime() % 3_600_000) / 60_000));
    }
    expect(slots.size).toBeGreaterThan(40);
  });
});
