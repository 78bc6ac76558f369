import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS, fixedClock } from '../../src/lib/clock.ts';
import {
  createEgressLedgerDal,
  type EgressLedgerRow,
} from '../../src/modules/egress-ledger/egress-ledger-dal.ts';
import { runVerify } from '../../src/modules/verify/verify-service.ts';
import { dataClass } from '../../src/privacy/data-classes.ts';
import { ledgerRow } from '../helpers/egress-harness.ts';
import { offboard, partnerOrg } from '../helpers/retention-fixtures.ts';
import { createOrg, createTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * The egress_ledger data class: 13 months from creation by default, a partner's contract value
 * within 90 days–7 years, enforced by the retention sweeper to the millisecond; `layers verify`
 * reports rows past retention (through the class's purger) and ledger hosts the sub-processor list
 * does not name; at a partnership end the org's rows go after the grace period, by org id (the
 * ledger has no foreign key to orgs since 0023: the purge must not depend on one).
 */
const dal = createEgressLedgerDal();

const row = (orgId: string, over: Partial<EgressLedgerRow> = {}): EgressLedgerRow =>
  ledgerRow({ org_id: orgId, ...over });

describe('egress_ledger retention: the sweeper and layers verify', () => {
  const now = new Date('2027-08-01T00:00:00.000Z');
  const clock = fixedClock(now);
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ clock });
  });
  afterAll(() => t.close());
  const ids = async (orgId: string) =>
    (
      await t.db.systemPool.query('SELECT id FROM egress_ledger WHERE org_id = $1 ORDER BY created_at', [
        orgId,
      ])
    ).rows.map((r) => r.id as string);

  it('keeps rows for 13 months (396 days) from creation, a partner’s 90 days by contract, purges one millisecond past', async () => {
    const cls = dataClass('egress_ledger');
    expect(cls.defaultMs).toBe(396 * DAY_MS);
    expect(cls.bounds).toEqual({ minMs: 90 * DAY_MS, maxMs: 7 * 365 * DAY_MS });
    const standard = await createOrg(t.app, 'Default retention');
    const partner = await partnerOrg(t, 'Short contract', { egress_ledger: '90d' });
    const at = (ms: number) => new Date(now.getTime() - ms);
    const keptDefault = row(standard.id, { created_at: at(396 * DAY_MS - 1) });
    const goneDefault = row(standard.id, { created_at: at(396 * DAY_MS + 1) });
    const keptPartner = row(partner.id, { created_at: at(90 * DAY_MS - 1) });
    const gonePartner = row(partner.id, { created_at: at(90 * DAY_MS + 1) });
    const defaultAt100 = row(standard.id, { created_at: at(100 * DAY_MS) });
    await dal.insert(t.db.system, [keptDefault, goneDefault, keptPartner, gonePartner, defaultAt100]);

    // layers verify sees the overdue rows (through the class's purger) before the sweep…
    const before = await runVerify({
      db: t.db.system,
      clock,
      sweeper: t.container.retentionSweeper,
      slackMs: 0,
      subprocessors: t.container.dataProtection.subprocessors,
    });
    const retention = before.checks.find((c) => c.name === 'retention');
    expect(retention?.violations).toEqual([
      expect.objectContaining({ data_class: 'egress_ledger', table: 'egress_ledger', rows: 2 }),
    ]);

    await t.container.retentionSweeper.sweep();
    expect(await ids(standard.id)).toEqual([keptDefault.id, defaultAt100.id]);
    expect(await ids(partner.id)).toEqual([keptPartner.id]);

    const after = await runVerify({
      db: t.db.system,
      clock,
      sweeper: t.container.retentionSweeper,
      slackMs: 0,
    });
    expect(after.checks.find((c) => c.name === 'retention')?.ok).toBe(true);
  });

  it('layers verify names vendor hosts in the ledger that the sub-processor list does not', async () => {
    const org = await createOrg(t.app, 'Hosts');
    await dal.insert(t.db.system, [
      row(org.id),
      row(org.id, { vendor: 'aws_s3', host: 'media.s3.us-east-1.amazonaws.com', purpose: 'media_store' }),
      row(org.id, { host: 'api.openai.example' }),
      row(org.id, { vendor: 'departed_vendor', host: 'api.departed.example' }),
      row(org.id, { vendor: 'aws_s3', host: 'a.b.s3.us-east-1.amazonaws.com', purpose: 'media_store' }),
    ]);
    const report = await runVerify({
      db: t.db.system,
      clock,
      sweeper: t.container.retentionSweeper,
      subprocessors: t.container.dataProtection.subprocessors,
    });
    const egress = report.checks.find((c) => c.name === 'egress');
    expect(egress?.ok).toBe(false);
    expect(egress?.violations.map((v) => `${v.vendor} ${v.host} ${v.rows}`)).toEqual([
      'aws_s3 a.b.s3.us-east-1.amazonaws.com 1',
      'departed_vendor api.departed.example 1',
      'openai api.openai.example 1',
    ]);
  });

  // Last in this file: it moves the clock.
  it('purges an offboarded org’s rows 30 days after its partnership ended, not before, and nobody else’s', async () => {
    const gone = await createOrg(t.app, 'Offboarded');
    const staying = await createOrg(t.app, 'Still a partner');
    const ended = clock.now();
    const recent = new Date(ended.getTime() - DAY_MS);
    const goneRows = [row(gone.id, { created_at: recent }), row(gone.id, { created_at: recent })];
    const stayingRow = row(staying.id, { created_at: recent });
    await dal.insert(t.db.system, [...goneRows, stayingRow]);
    await offboard(t, gone.id);

    clock.set(new Date(ended.getTime() + 30 * DAY_MS));
    await t.container.retentionSweeper.sweep();
    expect(await ids(gone.id)).toHaveLength(2);
    clock.set(new Date(ended.getTime() + 30 * DAY_MS + 1));
    await t.container.retentionSweeper.sweep();
    expect(await ids(gone.id)).toEqual([]);
    expect(await ids(staying.id)).toEqual([stayingRow.id]);
  });
});
