import { describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS } from '../lib/clock.ts';
import {
  DATA_CLASSES,
  type DataClass,
  dataClass,
  isAdjustable,
  NOT_STORED_CATEGORIES,
  PURGE_KINDS,
  type PurgeKind,
  type RetentionClock,
  retentionSource,
} from './data-classes.ts';

/** The purge kinds that enforce each clock (the purgers themselves: modules/retention/class-purgers.ts). */
const KINDS_FOR_CLOCK: Record<RetentionClock['kind'], PurgeKind[]> = {
  record_age: ['delete_by_age'],
  expiry: ['delete_expired'],
  month_of_receipt: ['drop_monthly_partitions'],
  month_of_record: ['delete_by_month', 'profiles_by_month'],
  partnership: ['none'],
  project_lifetime: ['none'],
  until_revoked: ['none'],
  kept: ['none'],
};

describe('the data-class registry', () => {
  it('names each class once and lets each table belong to one class only', () => {
    const names = DATA_CLASSES.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    const tables = DATA_CLASSES.flatMap((c) => c.tables);
    expect(new Set(tables).size).toBe(tables.length);
  });

  it('holds the defaults and bounds of DESIGN.md', () => {
    const d = (name: Parameters<typeof dataClass>[0]) => dataClass(name);
    expect(d('request_log')).toMatchObject({
      defaultMs: 30 * DAY_MS,
      bounds: { minMs: 7 * DAY_MS, maxMs: 365 * DAY_MS },
    });
    expect(d('idempotency_cache')).toMatchObject({
      defaultMs: 24 * HOUR_MS,
      bounds: { minMs: HOUR_MS, maxMs: 7 * DAY_MS },
    });
    expect(d('sdk_events').defaultMs).toBeGreaterThanOrEqual(13 * 30.4 * DAY_MS);
    expect(d('sdk_events').bounds).toEqual({ minMs: 30 * DAY_MS, maxMs: 7 * 365 * DAY_MS });
    expect(d('generated_media')).toMatchObject({
      defaultMs: 30 * DAY_MS,
      bounds: { minMs: 7 * DAY_MS, maxMs: 90 * DAY_MS },
    });
    expect(d('audit_log')).toMatchObject({ clock: { kind: 'partnership' }, defaultMs: 30 * DAY_MS });
    expect(d('audit_log').bounds?.minMs).toBe(30 * DAY_MS);
    expect(d('capi_forward_queue').defaultMs).toBe(72 * HOUR_MS);
    expect(d('egress_ledger')).toMatchObject({
      defaultMs: 396 * DAY_MS,
      bounds: { minMs: 90 * DAY_MS, maxMs: 7 * 365 * DAY_MS },
    });
    expect(d('social_accounts')).toMatchObject({
      clock: { kind: 'until_revoked' },
      atPartnershipEnd: 'immediately',
    });
    expect(retentionSource(d('user_profiles')).name).toBe('sdk_events');
    expect(retentionSource(d('post_metadata')).name).toBe('sdk_events');
  });

  it('keeps every default within its bounds and only adjustable classes carry bounds that apply', () => {
    for (const cls of DATA_CLASSES) {
      if (cls.bounds && cls.defaultMs !== null) {
        expect(cls.defaultMs, cls.name).toBeGreaterThanOrEqual(cls.bounds.minMs);
        expect(cls.defaultMs, cls.name).toBeLessThanOrEqual(cls.bounds.maxMs);
        expect(cls.bounds.minMs, cls.name).toBeLessThan(cls.bounds.maxMs);
      }
      if (cls.follows) {
        expect(isAdjustable(cls), cls.name).toBe(false);
        expect(dataClass(cls.follows as never).defaultMs, cls.name).not.toBeNull();
      }
    }
    expect(DATA_CLASSES.filter(isAdjustable).map((c) => c.name)).toEqual([
      'request_log',
      'idempotency_cache',
      'webhook_deliveries',
      'egress_ledger',
      'audit_log',
      'sdk_events',
      'generated_media',
    ]);
  });

  it('purges each class with a kind that enforces its clock, and clock classes name a column', () => {
    for (const cls of DATA_CLASSES) {
      expect(PURGE_KINDS, cls.name).toContain(cls.purge);
      expect(KINDS_FOR_CLOCK[cls.clock.kind], cls.name).toContain(cls.purge);
      const needsColumn = ['record_age', 'expiry', 'month_of_receipt', 'month_of_record'].includes(
        cls.clock.kind,
      );
      expect('column' in cls.clock, cls.name).toBe(needsColumn);
      if (needsColumn) expect(cls.defaultMs, cls.name).not.toBeNull();
    }
    // Hashed identifiers ride on their events: the profile class purges them on the events' clock.
    expect(dataClass('user_profiles').purge).toBe('profiles_by_month');
  });

  it('gives every class a page entry, and the page its never-stored categories', () => {
    for (const cls of DATA_CLASSES as DataClass[]) {
      expect(cls.page.category.length, cls.name).toBeGreaterThan(0);
      expect(cls.promise.length, cls.name).toBeGreaterThan(0);
    }
    expect(NOT_STORED_CATEGORIES.map((c) => c.category)).toEqual(
      expect.arrayContaining([
        'Request/response bodies',
        'Raw email/phone',
        'IP address',
        'Hashed identifiers',
      ]),
    );
  });
});
