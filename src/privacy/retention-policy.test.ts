import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS } from '../lib/clock.ts';
import { dataClass } from './data-classes.ts';
import { monthCutoff, monthRetentionEnd, monthStartUtc } from './retention-clock.ts';
import {
  compactDuration,
  describeRetention,
  effectiveRetentionMs,
  formatDuration,
  overrideProblem,
  parseDuration,
  partnershipEndDelayMs,
  retentionGroups,
} from './retention-policy.ts';

describe('retention policy', () => {
  it('uses the contract value when there is one, and follows the events for profiles', () => {
    const contract = new Map([['sdk_events', 60 * DAY_MS]]);
    expect(effectiveRetentionMs(dataClass('sdk_events'), new Map())).toBe(396 * DAY_MS);
    expect(effectiveRetentionMs(dataClass('sdk_events'), contract)).toBe(60 * DAY_MS);
    expect(effectiveRetentionMs(dataClass('user_profiles'), contract)).toBe(60 * DAY_MS);
    expect(effectiveRetentionMs(dataClass('social_accounts'), contract)).toBeNull();
  });

  it('groups orgs by effective retention, every org in exactly one group', () => {
    const cls = dataClass('request_log');
    expect(retentionGroups(cls, [], ['org_a', 'org_b'])).toEqual([{ ms: 30 * DAY_MS, orgIds: null }]);
    const groups = retentionGroups(
      cls,
      [
        { org_id: 'org_b', data_class: 'request_log', retention_ms: 90 * DAY_MS },
        { org_id: 'org_c', data_class: 'sdk_events', retention_ms: 90 * DAY_MS },
      ],
      ['org_a', 'org_b', 'org_c'],
    );
    expect(groups).toEqual([
      { ms: 30 * DAY_MS, orgIds: ['org_a', 'org_c'] },
      { ms: 90 * DAY_MS, orgIds: ['org_b'] },
    ]);
    expect(retentionGroups(dataClass('social_accounts'), [], ['org_a'])).toEqual([]);
  });

  it('refuses values outside the bounds with a message that names the bound', () => {
    const log = dataClass('request_log');
    expect(overrideProblem(log, 90 * DAY_MS)).toBeUndefined();
    expect(overrideProblem(log, 7 * DAY_MS)).toBeUndefined();
    expect(overrideProblem(log, 365 * DAY_MS)).toBeUndefined();
    expect(overrideProblem(log, 6 * DAY_MS)).toBe(
      'request_log retention of 6 days is below the contract minimum of 7 days (allowed: 7 days to 1 year).',
    );
    expect(overrideProblem(log, 366 * DAY_MS)).toContain('above the contract maximum of 1 year');
    expect(overrideProblem(dataClass('idempotency_cache'), 30 * 60_000)).toContain('minimum of 1 hour');
    expect(overrideProblem(dataClass('user_profiles'), 60 * DAY_MS)).toContain('not adjustable');
    expect(overrideProblem(dataClass('social_accounts'), 60 * DAY_MS)).toContain('not adjustable');
  });

  it('reads and writes durations', () => {
    expect(parseDuration('90d')).toBe(90 * DAY_MS);
    expect(parseDuration('36h')).toBe(36 * HOUR_MS);
    for (const bad of ['0d', '90', 'd', '-3d', '1.5d', '90 d', '90D', '9999999d'])
      expect(parseDuration(bad)).toBeUndefined();
    expect(compactDuration(90 * DAY_MS)).toBe('90d');
    expect(compactDuration(36 * HOUR_MS)).toBe('36h');
    expect(formatDuration(24 * HOUR_MS)).toBe('24 hours');
    expect(formatDuration(30 * DAY_MS)).toBe('30 days');
    expect(formatDuration(396 * DAY_MS)).toBe('396 days (about 13 months)');
    expect(formatDuration(7 * 365 * DAY_MS)).toBe('7 years');
  });

  it('schedules partnership-end purges per class', () => {
    expect(partnershipEndDelayMs(dataClass('social_accounts'), new Map())).toBe(0);
    expect(partnershipEndDelayMs(dataClass('deletion_records'), new Map())).toBeNull();
    expect(partnershipEndDelayMs(dataClass('sdk_events'), new Map())).toBe(30 * DAY_MS);
    expect(partnershipEndDelayMs(dataClass('audit_log'), new Map([['audit_log', 400 * DAY_MS]]))).toBe(
      400 * DAY_MS,
    );
  });

  it('describes the enforced rule in words', () => {
    expect(describeRetention(dataClass('request_log'), 30 * DAY_MS)).toBe('30 days from creation');
    expect(describeRetention(dataClass('audit_log'), 30 * DAY_MS)).toBe('Partnership duration, then 30 days');
  });

  it('month clock: kept through the end of the month plus retention, purged one millisecond later', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2035, 0, 1) }),
        fc.integer({ min: 1, max: 3000 }).map((d) => d * DAY_MS),
        (received, ms) => {
          const at = new Date(received);
          const month = monthStartUtc(at);
          const end = monthRetentionEnd(at, ms);
          // At the end instant the month is still kept; a millisecond later it is before the cutoff.
          expect(month.getTime() < monthCutoff(end, ms).getTime()).toBe(false);
          expect(month.getTime() < monthCutoff(new Date(end.getTime() + 1), ms).getTime()).toBe(true);
        },
      ),
    );
  });
});
