import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../src/db/tenant-transaction.ts';
import { DAY_MS, fixedClock, HOUR_MS } from '../../src/lib/clock.ts';
import { createPartnershipEnd } from '../../src/modules/retention/partnership-end.ts';
import { createPurgeDal } from '../../src/modules/retention/purge-dal.ts';
import { createPurgeScheduleDal } from '../../src/modules/retention/purge-schedule-dal.ts';
import { createRetentionOverridesDal } from '../../src/modules/retention/retention-overrides-dal.ts';
import { createSweeperDals } from '../../src/modules/retention/sweeper-dals.ts';
import { DATA_CLASSES, type DataClass, dataClass } from '../../src/privacy/data-classes.ts';
import { retentionGroups } from '../../src/privacy/retention-policy.ts';
import {
  at,
  count,
  partnerOrg,
  plantRequestLog,
  plusMs,
  sdkProject,
  tableExists,
} from '../helpers/retention-fixtures.ts';
import { identifyEvent, sendEvents, trackEvent } from '../helpers/sdk-events.ts';
import { bearer, createOrg, createProject, createTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * Every data class with an injected clock: a row just inside its retention is kept, just outside it
 * is purged. Classes whose table does not exist yet are exercised on a stand-in table through their
 * registered purge code, so the code the future table will get is already tested.
 */
const EVENTS = dataClass('sdk_events').defaultMs as number;
const COVERED_HERE_OR_ELSEWHERE: Record<string, string> = {
  request_log: 'this file',
  idempotency_cache: 'this file',
  sdk_events: 'this file',
  user_profiles: 'this file',
  anonymous_ids: 'anonymous-ids.spec.ts',
  capi_forward_queue:
    'this file (stand-in table) and capi-queue-lifecycle.spec.ts (72 h expiry, erasure, partnership end)',
  capi_destinations: 'capi-queue-lifecycle.spec.ts (deleted at partnership end)',
  capi_forward_stats: 'capi-queue-lifecycle.spec.ts (90 days by the sweeper)',
  post_metadata:
    'this file (stand-in table) and social-retention.spec.ts (the real table, by the month of its sync)',
  social_accounts:
    'this file (stand-in table), social-security.spec.ts (offboarding) and social-*.spec.ts (until revoked)',
  generated_media: 'retention-projects.spec.ts (deletion grace period)',
  partner_config: 'retention-partnership-end.spec.ts and retention-projects.spec.ts',
  audit_log: 'retention-partnership-end.spec.ts',
  dpa_requests: 'retention-partnership-end.spec.ts',
  data_subject_requests: 'retention-partnership-end.spec.ts and retention-projects.spec.ts',
  deletion_records: 'retention-partnership-end.spec.ts (kept)',
  webhook_deliveries: 'webhook-retention.spec.ts',
  egress_ledger: 'egress-retention.spec.ts',
  console_accounts:
    'console-members.spec.ts (sweeper: expired sessions and invitations) and console-auth.spec.ts (partnership end)',
};

describe('every data class has a retention boundary test', () => {
  it('lists each registry class with the test that covers it', () => {
    expect(Object.keys(COVERED_HERE_OR_ELSEWHERE).sort()).toEqual(DATA_CLASSES.map((c) => c.name).sort());
  });
});

describe('request_log: kept for its retention from creation, per org', () => {
  const clock = fixedClock(at('2026-03-01T00:00:00.000Z'));
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ clock });
  });
  afterAll(() => t.close());

  it('purges at default 30 days and at a partner’s 10 days, one millisecond past, not before', async () => {
    const standard = await createOrg(t.app, 'Standard');
    const partner = await partnerOrg(t, 'Partner', { request_log: '10d' });
    const now = clock.now();
    const rows = {
      stdInside: await plantRequestLog(t.db.systemPool, standard.id, plusMs(now, -30 * DAY_MS + 1)),
      stdOutside: await plantRequestLog(t.db.systemPool, standard.id, plusMs(now, -30 * DAY_MS - 1)),
      partnerInside: await plantRequestLog(t.db.systemPool, partner.id, plusMs(now, -10 * DAY_MS + 1)),
      partnerOutside: await plantRequestLog(t.db.systemPool, partner.id, plusMs(now, -10 * DAY_MS - 1)),
      partnerTwentyDays: await plantRequestLog(t.db.systemPool, partner.id, plusMs(now, -20 * DAY_MS)),
    };
    const report = await t.container.retentionSweeper.sweep();
    const { rows: left } = await t.db.systemPool.query<{ id: string }>(`SELECT id FROM request_log`);
    expect(left.map((r) => r.id).sort()).toEqual([rows.stdInside, rows.partnerInside].sort());
    expect(report.purged.request_log).toBe(3);
  });
});

describe('idempotency_cache: the replay window', () => {
  const clock = fixedClock(at('2026-03-01T00:00:00.000Z'));
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ clock });
  });
  afterAll(() => t.close());

  const post = (secret: string, key: string) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: { ...bearer(secret), 'idempotency-key': key },
      payload: { name: 'Replayed' },
    });

  it('replays and keeps an entry through 24 h, purges it after; a partner’s 2 h window likewise', async () => {
    const standard = await createOrg(t.app, 'Standard');
    const partner = await partnerOrg(t, 'Partner', { idempotency_cache: '2h' });
    const start = clock.now();
    expect((await post(standard.secret, 'k1')).statusCode).toBe(201);
    expect((await post(partner.secret, 'k1')).statusCode).toBe(201);
    const stored = () =>
      count(t.db.systemPool, `SELECT 1 FROM idempotency_keys WHERE org_id = $1`, [standard.id]);
    const storedPartner = () =>
      count(t.db.systemPool, `SELECT 1 FROM idempotency_keys WHERE org_id = $1`, [partner.id]);

    clock.set(plusMs(start, 2 * HOUR_MS - 1));
    await t.container.retentionSweeper.sweep();
    expect(await storedPartner()).toBe(1);
    expect((await post(partner.secret, 'k1')).headers['idempotent-replayed']).toBe('true');

    clock.set(plusMs(start, 2 * HOUR_MS + 1));
    await t.container.retentionSweeper.sweep();
    expect(await storedPartner()).toBe(0);
    expect(await stored()).toBe(1);

    clock.set(plusMs(start, 24 * HOUR_MS - 1));
    await t.container.retentionSweeper.sweep();
    expect(await stored()).toBe(1);
    expect((await post(standard.secret, 'k1')).headers['idempotent-replayed']).toBe('true');

    clock.set(plusMs(start, 24 * HOUR_MS + 1));
    const report = await t.container.retentionSweeper.sweep();
    expect(await stored()).toBe(0);
    expect(report.purged.idempotency_cache).toBe(1);
  });
});

describe('sdk_events and user_profiles: counted from the end of the month of receipt', () => {
  const clock = fixedClock(at('2026-01-15T12:00:00.000Z'));
  const januaryEnd = at('2026-02-01T00:00:00.000Z');
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ clock });
  });
  afterAll(() => t.close());

  const eventsOf = (orgId: string, month = '2026-01-01') =>
    count(t.db.systemPool, `SELECT 1 FROM sdk_events WHERE org_id = $1 AND received_month = $2`, [
      orgId,
      month,
    ]);
  const profilesOf = (orgId: string) =>
    count(t.db.systemPool, `SELECT 1 FROM user_profiles WHERE org_id = $1`, [orgId]);
  const sweepAt = async (d: Date) => {
    clock.set(d);
    return t.container.retentionSweeper.sweep();
  };

  it('batched deletes for shorter contracts, a whole-partition drop once every org is past', async () => {
    const standard = await createOrg(t.app, 'Standard');
    const short = await partnerOrg(t, 'Short', { sdk_events: '60d' });
    const long = await partnerOrg(t, 'Long', { sdk_events: '500d' });
    for (const org of [standard, short, long]) {
      const { publishable } = await sdkProject(t, org);
      await sendEvents(t.app, publishable, [
        identifyEvent('u_1', { plan: 'pro' }, { timestamp: clock.now().toISOString() }),
        trackEvent('u_1', 'opened', {}, { timestamp: clock.now().toISOString() }),
      ]);
    }
    // The standard org keeps sending in February: that month is on its own clock.
    clock.set(at('2026-02-10T00:00:00.000Z'));
    const { publishable: febKey } = await sdkProject(t, standard, 'February');
    await sendEvents(t.app, febKey, [
      trackEvent('u_2', 'opened', {}, { timestamp: clock.now().toISOString() }),
    ]);
    expect(await eventsOf(standard.id)).toBe(2);
    expect(await profilesOf(short.id)).toBe(1);

    // The 60-day contract: January is kept through its end + 60 days, then its rows go row by row.
    let report = await sweepAt(plusMs(januaryEnd, 60 * DAY_MS));
    expect(await eventsOf(short.id)).toBe(2);
    expect(await profilesOf(short.id)).toBe(1);
    report = await sweepAt(plusMs(januaryEnd, 60 * DAY_MS + 1));
    expect(await eventsOf(short.id)).toBe(0);
    expect(await profilesOf(short.id)).toBe(0);
    expect(report.purged.sdk_events).toBe(2);
    expect(report.purged.user_profiles).toBe(1);
    expect(report.partitions_dropped).toEqual([]);
    expect(await eventsOf(standard.id)).toBe(2);

    // The default (396 days): the standard org's January goes, the long contract holds the partition.
    await sweepAt(plusMs(januaryEnd, EVENTS));
    expect(await eventsOf(standard.id)).toBe(2);
    expect(await profilesOf(standard.id)).toBe(1);
    report = await sweepAt(plusMs(januaryEnd, EVENTS + 1));
    expect(await eventsOf(standard.id)).toBe(0);
    expect(await profilesOf(standard.id)).toBe(0);
    expect(await eventsOf(standard.id, '2026-02-01')).toBe(1);
    expect(await eventsOf(long.id)).toBe(2);
    expect(await tableExists(t.db.systemPool, 'sdk_events_2026_01')).toBe(true);
    expect(report.partitions_dropped).toEqual([]);

    // The 500-day contract was the last one: the whole January partition is dropped, unread.
    await sweepAt(plusMs(januaryEnd, 500 * DAY_MS));
    expect(await eventsOf(long.id)).toBe(2);
    report = await sweepAt(plusMs(januaryEnd, 500 * DAY_MS + 1));
    expect(await tableExists(t.db.systemPool, 'sdk_events_2026_01')).toBe(false);
    expect(report.partitions_dropped.map((p) => p.partition)).toEqual(['sdk_events_2026_01']);
    expect(report.purged.sdk_events ?? 0).toBe(0);
    expect(await eventsOf(long.id)).toBe(0);
    expect(await profilesOf(long.id)).toBe(0);
    // February is older than 396 days by now too (its own partition is kept for the long contract).
    expect(await eventsOf(standard.id, '2026-02-01')).toBe(0);
  });

  it('without contracts, the partition is dropped exactly one millisecond past the default', async () => {
    const fresh = fixedClock(at('2026-05-20T08:00:00.000Z'));
    const t2 = await createTestApp({ clock: fresh });
    try {
      const org = await createOrg(t2.app, 'Default only');
      const { publishable } = await sdkProject(t2, org);
      const ts = { timestamp: fresh.now().toISOString() };
      await sendEvents(t2.app, publishable, [
        identifyEvent('u_1', {}, ts),
        trackEvent('u_1', 'opened', {}, ts),
      ]);
      const mayEnd = at('2026-06-01T00:00:00.000Z');
      fresh.set(plusMs(mayEnd, EVENTS));
      let report = await t2.container.retentionSweeper.sweep();
      expect(await tableExists(t2.db.systemPool, 'sdk_events_2026_05')).toBe(true);
      expect(report.partitions_dropped).toEqual([]);
      fresh.set(plusMs(mayEnd, EVENTS + 1));
      report = await t2.container.retentionSweeper.sweep();
      expect(report.partitions_dropped.map((p) => p.partition)).toEqual(['sdk_events_2026_05']);
      expect(await tableExists(t2.db.systemPool, 'sdk_events_2026_05')).toBe(false);
      expect(await tableExists(t2.db.systemPool, 'sdk_events_2026_06')).toBe(true);
      expect(await count(t2.db.systemPool, 'SELECT 1 FROM user_profiles')).toBe(0);
    } finally {
      await t2.close();
    }
  });

  it('rows in the default partition (a month without its own) follow the same clock', async () => {
    const org = await createOrg(t.app, 'Default partition');
    const project = await createProject(t.app, org);
    const received = at('2019-03-10T00:00:00.000Z');
    await t.db.systemPool.query(
      `INSERT INTO sdk_events (id, org_id, project_id, event_id, type, user_id, timestamp, received_at, received_month)
       VALUES ('evt_default_1', $1, $2, 'e1', 'track', 'u', $3, $3, '2019-03-01')`,
      [org.id, project.id, received],
    );
    const marchEnd = at('2019-04-01T00:00:00.000Z');
    await sweepAt(plusMs(marchEnd, EVENTS));
    expect(await count(t.db.systemPool, `SELECT 1 FROM sdk_events_default WHERE id = 'evt_default_1'`)).toBe(
      1,
    );
    await sweepAt(plusMs(marchEnd, EVENTS + 1));
    expect(await count(t.db.systemPool, `SELECT 1 FROM sdk_events_default WHERE id = 'evt_default_1'`)).toBe(
      0,
    );
  });
});

/**
 * Classes whose table arrives with a later feature (device ids queued for a Conversions API, public
 * post metadata, social accounts) are exercised through their registered purge code on stand-in
 * tables shaped as the registry requires (org_id + the clock column).
 */
describe('classes without a table yet, on stand-in tables', () => {
  const clock = fixedClock(at('2026-07-01T00:00:00.000Z'));
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ clock });
  });
  afterAll(() => t.close());

  const purgers = createSweeperDals().purgers;
  async function purgeWith(cls: DataClass) {
    return purgers[cls.purge].purge({
      db: t.db.system,
      now: clock.now(),
      cls,
      groups: retentionGroups(cls, [], []),
      batchSize: 2,
    });
  }

  it('capi_forward_queue: at most 72 hours', async () => {
    const org = await createOrg(t.app, 'CAPI');
    await t.db.systemPool.query(
      `CREATE TABLE standin_capi (org_id text NOT NULL, created_at timestamptz NOT NULL, tag text)`,
    );
    const now = clock.now();
    await t.db.systemPool.query(
      `INSERT INTO standin_capi VALUES ($1, $2, 'inside'), ($1, $3, 'outside'), ($1, $3, 'outside'), ($1, $3, 'outside')`,
      [org.id, plusMs(now, -72 * HOUR_MS + 1), plusMs(now, -72 * HOUR_MS - 1)],
    );
    const result = await purgeWith({ ...dataClass('capi_forward_queue'), tables: ['standin_capi'] });
    expect(result.rows).toBe(3);
    const { rows } = await t.db.systemPool.query(`SELECT tag FROM standin_capi`);
    expect(rows).toEqual([{ tag: 'inside' }]);
  });

  it('post_metadata: as the events, from the end of the month it was collected', async () => {
    const org = await createOrg(t.app, 'Posts');
    await t.db.systemPool.query(
      `CREATE TABLE standin_posts (org_id text NOT NULL, collected_at timestamptz NOT NULL, tag text)`,
    );
    const collected = at('2025-04-18T00:00:00.000Z');
    await t.db.systemPool.query(`INSERT INTO standin_posts VALUES ($1, $2, 'april')`, [org.id, collected]);
    const cls = { ...dataClass('post_metadata'), tables: ['standin_posts'] };
    clock.set(plusMs(at('2025-05-01T00:00:00.000Z'), EVENTS));
    expect((await purgeWith(cls)).rows).toBe(0);
    clock.set(plusMs(at('2025-05-01T00:00:00.000Z'), EVENTS + 1));
    expect((await purgeWith(cls)).rows).toBe(1);
  });

  it('social_accounts: deleted in the offboarding transaction itself', async () => {
    const org = await createOrg(t.app, 'Social');
    const other = await createOrg(t.app, 'Other');
    await t.db.systemPool.query(
      `CREATE TABLE standin_social (org_id text NOT NULL, encrypted_token text NOT NULL, handle text)`,
    );
    await t.db.systemPool.query(
      `INSERT INTO standin_social VALUES ($1, 'lenc1:x', 'a'), ($1, 'lenc1:y', 'b'), ($2, 'lenc1:z', 'c')`,
      [org.id, other.id],
    );
    const overridesDal = createRetentionOverridesDal();
    const scheduleDal = createPurgeScheduleDal();
    const classes = DATA_CLASSES.map((c) =>
      c.name === 'social_accounts' ? { ...c, tables: ['standin_social'] } : c,
    );
    const end = createPartnershipEnd({
      overridesDal,
      scheduleDal,
      purgeDal: createPurgeDal(),
      classes,
    });
    const summary = await withTenant(t.db.system, org.id, (tx) =>
      end.onOffboard({
        tx,
        orgId: org.id,
        actor: { type: 'system', id: null },
        requestId: null,
        now: clock.now(),
      }),
    );
    expect(summary.deleted_now).toEqual({
      social_accounts: 2,
      capi_forward_queue: 0,
      capi_destinations: 0,
      console_accounts: 0,
    });
    expect(summary.scheduled.sdk_events).toBe(plusMs(clock.now(), 30 * DAY_MS).toISOString());
    expect(await count(t.db.systemPool, `SELECT 1 FROM standin_social`)).toBe(1);
    const { rows } = await t.db.systemPool.query(
      `SELECT data_class, purged_at IS NOT NULL AS done, rows_purged FROM org_purge_schedule WHERE org_id = $1 AND data_class = 'social_accounts'`,
      [org.id],
    );
    expect(rows).toEqual([{ data_class: 'social_accounts', done: true, rows_purged: '2' }]);
  });
});
