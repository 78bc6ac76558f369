import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS, fixedClock } from '../../src/lib/clock.ts';
import {
  at,
  count,
  offboard,
  partnerOrg,
  plantRequestLog,
  plusMs,
  sdkProject,
} from '../helpers/retention-fixtures.ts';
import { identifyEvent, sendEvents, trackEvent } from '../helpers/sdk-events.ts';
import {
  ADMIN_TOKEN,
  bearer,
  createOrg,
  createTestApp,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';

/**
 * The end of a partnership (POST /admin/v1/orgs/:orgId/offboard): keys revoked and the classes the
 * registry deletes at once deleted at once; every other class purged on its scheduled date (30 days
 * later; the audit log after its own, contractable, retention); deletion records kept. The operator
 * sees what is pending and when.
 */
describe('partnership end: audit_log, partner_config, dpa_requests, data_subject_requests, deletion_records', () => {
  const clock = fixedClock(at('2026-04-01T00:00:00.000Z'));
  const ended = at('2026-04-01T00:00:00.000Z');
  let t: TestApp;
  let gone: TestOrg;
  let longAudit: TestOrg;
  let active: TestOrg;

  async function populate(org: TestOrg) {
    const { projectId, publishable } = await sdkProject(t, org);
    const ts = { timestamp: clock.now().toISOString() };
    await sendEvents(t.app, publishable, [
      identifyEvent('u_1', { plan: 'pro' }, ts),
      trackEvent('u_1', 'opened', {}, ts),
    ]);
    const dpa = await t.app.inject({
      method: 'POST',
      url: '/v1/dpa-requests',
      headers: bearer(org.secret),
      payload: { signatory_entity: 'Entity GmbH', countries_of_processing: ['DE'], governing_law: 'Germany' },
    });
    expect(dpa.statusCode).toBe(201);
    const dsr = await t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${projectId}/events/users/u_other`,
      headers: bearer(org.secret),
    });
    expect(dsr.statusCode).toBe(202);
    await plantRequestLog(t.db.systemPool, org.id, clock.now());
  }

  const rowsOf = async (orgId: string) => ({
    audit_log: await count(t.db.systemPool, 'SELECT 1 FROM audit_log WHERE org_id = $1', [orgId]),
    audit_chain_heads: await count(t.db.systemPool, 'SELECT 1 FROM audit_chain_heads WHERE org_id = $1', [
      orgId,
    ]),
    projects: await count(t.db.systemPool, 'SELECT 1 FROM projects WHERE org_id = $1', [orgId]),
    api_keys: await count(t.db.systemPool, 'SELECT 1 FROM api_keys WHERE org_id = $1', [orgId]),
    sdk_events: await count(t.db.systemPool, 'SELECT 1 FROM sdk_events WHERE org_id = $1', [orgId]),
    user_profiles: await count(t.db.systemPool, 'SELECT 1 FROM user_profiles WHERE org_id = $1', [orgId]),
    dpa_requests: await count(t.db.systemPool, 'SELECT 1 FROM dpa_requests WHERE org_id = $1', [orgId]),
    data_subject_requests: await count(
      t.db.systemPool,
      'SELECT 1 FROM data_subject_requests WHERE org_id = $1',
      [orgId],
    ),
    request_log: await count(t.db.systemPool, 'SELECT 1 FROM request_log WHERE org_id = $1', [orgId]),
    retention_overrides: await count(t.db.systemPool, 'SELECT 1 FROM retention_overrides WHERE org_id = $1', [
      orgId,
    ]),
  });
  const operatorView = async (orgId: string) =>
    (
      await t.app.inject({ method: 'GET', url: `/admin/v1/orgs/${orgId}`, headers: bearer(ADMIN_TOKEN) })
    ).json();
  const sweepAt = async (d: Date) => {
    clock.set(d);
    return t.container.retentionSweeper.sweep();
  };

  beforeAll(async () => {
    t = await createTestApp({ clock });
    gone = await createOrg(t.app, 'Gone');
    longAudit = await partnerOrg(t, 'Long audit', { audit_log: '400d' });
    active = await createOrg(t.app, 'Still a partner');
    for (const org of [gone, longAudit, active]) await populate(org);
  });
  afterAll(() => t.close());

  it('offboarding revokes keys at once and shows the operator what is scheduled, and when', async () => {
    const before = await operatorView(gone.id);
    expect(before.data_purge).toBeNull();

    const body = await offboard(t, gone.id);
    await offboard(t, longAudit.id);
    expect(body.status).toBe('offboarded');
    const res = await t.app.inject({ method: 'GET', url: '/v1/projects', headers: bearer(gone.secret) });
    expect(res.statusCode).toBe(401);

    const view = await operatorView(gone.id);
    expect(view.data_purge.partnership_ended_at).toBe(ended.toISOString());
    expect(view.data_purge.complete).toBe(false);
    const byClass = Object.fromEntries(
      view.data_purge.data_classes.map((c: { data_class: string }) => [c.data_class, c]),
    );
    const in30 = plusMs(ended, 30 * DAY_MS).toISOString();
    for (const cls of [
      'sdk_events',
      'user_profiles',
      'audit_log',
      'partner_config',
      'dpa_requests',
      'request_log',
    ])
      expect(byClass[cls], cls).toMatchObject({ status: 'scheduled', purge_at: in30, purged_at: null });
    expect(byClass.social_accounts).toMatchObject({
      status: 'purged',
      rows_purged: 0,
      purged_at: ended.toISOString(),
    });
    expect(byClass.capi_forward_queue).toMatchObject({ status: 'purged' });
    expect(byClass.deletion_records).toMatchObject({ status: 'kept', purge_at: null });

    const long = await operatorView(longAudit.id);
    const audit = long.data_purge.data_classes.find(
      (c: { data_class: string }) => c.data_class === 'audit_log',
    );
    expect(audit.purge_at).toBe(plusMs(ended, 400 * DAY_MS).toISOString());

    // The offboarding itself is audited with the schedule (counts and dates, no content).
    const { rows } = await t.db.systemPool.query(
      `SELECT changes FROM audit_log WHERE org_id = $1 AND action = 'org.offboarded'`,
      [gone.id],
    );
    expect(rows[0].changes.purge_scheduled.after.sdk_events).toBe(in30);
    expect(rows[0].changes.deleted_at_offboarding.after).toMatchObject({
      social_accounts: 0,
      capi_forward_queue: 0,
      console_accounts: 0,
    });
  });

  it('keeps everything through 30 days after the end, purges it one millisecond later', async () => {
    const populated = await rowsOf(gone.id);
    const populatedActive = await rowsOf(active.id);
    for (const [table, n] of Object.entries(populated))
      if (table !== 'retention_overrides') expect(n, table).toBeGreaterThan(0);
    expect((await rowsOf(longAudit.id)).retention_overrides).toBe(1);

    await sweepAt(plusMs(ended, 30 * DAY_MS));
    expect(await rowsOf(gone.id)).toEqual(populated);

    const report = await sweepAt(plusMs(ended, 30 * DAY_MS + 1));
    for (const [table, n] of Object.entries(await rowsOf(gone.id))) expect(n, table).toBe(0);
    expect(report.partnership_end_purges).toBeGreaterThanOrEqual(10);
    expect(report.purged.audit_log).toBe(populated.audit_log + populated.audit_chain_heads);

    const view = await operatorView(gone.id);
    expect(view.data_purge.complete).toBe(true);
    const events = view.data_purge.data_classes.find(
      (c: { data_class: string }) => c.data_class === 'sdk_events',
    );
    expect(events).toMatchObject({ status: 'purged', rows_purged: populated.sdk_events });

    // The org with a longer audit contract: everything but its audit log is gone.
    const long = await rowsOf(longAudit.id);
    expect(long.audit_log).toBeGreaterThan(0);
    expect(long.audit_chain_heads).toBe(1);
    expect(long.sdk_events + long.projects + long.dpa_requests + long.retention_overrides).toBe(0);

    // A partner still under contract loses nothing but what its own clocks expire (30-day request log).
    for (const [table, n] of Object.entries(await rowsOf(active.id))) {
      if (table === 'retention_overrides') continue;
      expect(n, table).toBe(
        table === 'request_log' ? 0 : populatedActive[table as keyof typeof populatedActive],
      );
    }
  });

  it('purges a contracted audit log at its own date, and keeps the deletion records', async () => {
    await sweepAt(plusMs(ended, 400 * DAY_MS));
    expect((await rowsOf(longAudit.id)).audit_log).toBeGreaterThan(0);
    await sweepAt(plusMs(ended, 400 * DAY_MS + 1));
    expect((await rowsOf(longAudit.id)).audit_log).toBe(0);
    expect((await operatorView(longAudit.id)).data_purge.complete).toBe(true);
    for (const org of [gone, longAudit]) {
      const kept = await count(t.db.systemPool, 'SELECT 1 FROM org_purge_schedule WHERE org_id = $1', [
        org.id,
      ]);
      expect(kept).toBeGreaterThanOrEqual(12);
    }
    // The active org's own audit chain is untouched and still verifies.
    expect((await t.container.auditLog.verifyChain(t.db.system, active.id)).ok).toBe(true);
  });

  it('resumes: an entry blocked part-way stays pending, keeps its progress, and completes later', async () => {
    const blocked = await createOrg(t.app, 'Blocked');
    await populate(blocked);
    const { rows } = await t.db.systemPool.query('SELECT id FROM projects WHERE org_id = $1', [blocked.id]);
    // A row elsewhere still referencing the project (as a not-yet-due class would) blocks its deletion.
    await t.db.systemPool.query('CREATE TABLE standin_blocker (project_id text REFERENCES projects(id))');
    await t.db.systemPool.query('INSERT INTO standin_blocker VALUES ($1)', [rows[0].id]);
    await offboard(t, blocked.id);
    const end = clock.now();
    const configEntry = async () =>
      (await operatorView(blocked.id)).data_purge.data_classes.find(
        (c: { data_class: string }) => c.data_class === 'partner_config',
      );

    await sweepAt(plusMs(end, 30 * DAY_MS + 1));
    expect(await configEntry()).toMatchObject({ status: 'scheduled', purged_at: null });
    const partial = await rowsOf(blocked.id);
    expect(partial.api_keys).toBe(0);
    expect(partial.projects).toBe(1);
    expect(partial.sdk_events + partial.audit_log + partial.dpa_requests).toBe(0);

    await t.db.systemPool.query('DROP TABLE standin_blocker');
    await sweepAt(plusMs(end, 30 * DAY_MS + 2));
    expect(await configEntry()).toMatchObject({ status: 'purged' });
    expect((await rowsOf(blocked.id)).projects).toBe(0);
    expect((await operatorView(blocked.id)).data_purge.complete).toBe(true);
  });

  it('an org offboarded without a schedule (older data) gets one from its end date on the next sweep', async () => {
    const legacy = await createOrg(t.app, 'Legacy');
    await populate(legacy);
    const legacyEnd = clock.now();
    await t.db.systemPool.query(`UPDATE orgs SET status = 'offboarded', offboarded_at = $2 WHERE id = $1`, [
      legacy.id,
      legacyEnd,
    ]);
    await sweepAt(plusMs(legacyEnd, 1));
    expect((await rowsOf(legacy.id)).projects).toBe(1);
    const view = await operatorView(legacy.id);
    expect(view.data_purge.complete).toBe(false);
    const config = view.data_purge.data_classes.find(
      (c: { data_class: string }) => c.data_class === 'partner_config',
    );
    expect(config).toMatchObject({
      status: 'scheduled',
      purge_at: plusMs(legacyEnd, 30 * DAY_MS).toISOString(),
    });
    await sweepAt(plusMs(legacyEnd, 30 * DAY_MS + 1));
    expect((await rowsOf(legacy.id)).projects).toBe(0);
  });
});
