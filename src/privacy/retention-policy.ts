import { DAY_MS, HOUR_MS } from '../lib/clock.ts';
import {
  type DataClass,
  type DataClassName,
  isAdjustable,
  PARTNERSHIP_END_GRACE_MS,
  retentionSource,
} from './data-classes.ts';

/**
 * Effective retention: the registry's default, replaced for a partner-tier org by its contract value
 * (within the class's bounds). Pure functions: the sweeper, the retention API and the page all call
 * these with what they loaded, so they agree by construction.
 */
export type OrgOverrides = ReadonlyMap<string, number>;
export type OverrideRow = { org_id: string; data_class: string; retention_ms: number };

/**
 * Orgs sharing one effective retention. `orgIds: null` means every org (no org has a contract
 * value for this class), which lets a purge run one statement instead of one per org.
 */
export type RetentionGroup = { ms: number; orgIds: readonly string[] | null };

/** The retention `cls` has for an org with these overrides; null when no clock applies. */
export function effectiveRetentionMs(cls: DataClass, overrides: OrgOverrides): number | null {
  const source = retentionSource(cls);
  if (source.defaultMs === null) return null;
  return overrides.get(source.name) ?? source.defaultMs;
}

/** Whether the org's value for `cls` comes from its contract rather than the default. */
export function isContractValue(cls: DataClass, overrides: OrgOverrides): boolean {
  return overrides.has(retentionSource(cls).name);
}

/**
 * Orgs grouped by their effective retention for `cls`. Without any contract value there is one group
 * for every org (one statement purges them all); otherwise each distinct value lists its orgs, the
 * default one included, so no org is ever purged on another org's clock.
 */
export function retentionGroups(
  cls: DataClass,
  overrides: readonly OverrideRow[],
  orgIds: readonly string[],
): RetentionGroup[] {
  const source = retentionSource(cls);
  if (source.defaultMs === null) return [];
  const mine = overrides.filter((o) => o.data_class === source.name);
  if (mine.length === 0) return [{ ms: source.defaultMs, orgIds: null }];
  const byOrg = new Map(mine.map((o) => [o.org_id, o.retention_ms]));
  const groups = new Map<number, string[]>([[source.defaultMs, []]]);
  for (const id of new Set([...orgIds, ...byOrg.keys()])) {
    const ms = byOrg.get(id) ?? source.defaultMs;
    const list = groups.get(ms) ?? [];
    list.push(id);
    groups.set(ms, list);
  }
  return [...groups].map(([ms, ids]) => ({ ms, orgIds: ids.sort() }));
}

/**
 * How long after the partnership ends the org's rows of `cls` are purged: 0 for classes deleted at
 * offboarding, the class's own retention for partnership-clock classes, the export grace otherwise;
 * null when the class is kept.
 */
export function partnershipEndDelayMs(cls: DataClass, overrides: OrgOverrides): number | null {
  if (cls.atPartnershipEnd === 'immediately') return 0;
  if (cls.atPartnershipEnd === 'kept') return null;
  if (cls.clock.kind === 'partnership')
    return effectiveRetentionMs(cls, overrides) ?? PARTNERSHIP_END_GRACE_MS;
  return PARTNERSHIP_END_GRACE_MS;
}

/** Why `ms` cannot be `cls`'s contract retention, naming the bound; undefined when it can. */
export function overrideProblem(cls: DataClass, ms: number): string | undefined {
  if (!isAdjustable(cls) || cls.bounds === null) {
    const follows = cls.follows ? ` (it follows ${cls.follows})` : '';
    return `${cls.name} retention is not adjustable by contract${follows}.`;
  }
  const { minMs, maxMs } = cls.bounds;
  const range = `${formatDuration(minMs)} to ${formatDuration(maxMs)}`;
  if (ms < minMs)
    return `${cls.name} retention of ${formatDuration(ms)} is below the contract minimum of ${formatDuration(minMs)} (allowed: ${range}).`;
  if (ms > maxMs)
    return `${cls.name} retention of ${formatDuration(ms)} is above the contract maximum of ${formatDuration(maxMs)} (allowed: ${range}).`;
  return undefined;
}

const DURATION = /^([1-9][0-9]{0,5})(h|d)$/;

/** `"90d"` / `"36h"` → milliseconds; undefined when not in that form. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === 'd' ? DAY_MS : HOUR_MS);
}

/** The compact form `parseDuration` reads: whole days when possible, else hours. */
export function compactDuration(ms: number): string {
  return ms % DAY_MS === 0 ? `${ms / DAY_MS}d` : `${Math.round(ms / HOUR_MS)}h`;
}

/** Human form: "30 days", "72 hours", "396 days (about 13 months)"; up to 3 days in hours. */
export function formatDuration(ms: number): string {
  if (ms % DAY_MS !== 0 || ms <= 3 * DAY_MS) {
    const hours = Math.round(ms / HOUR_MS);
    return `${hours} hour${hours === 1 ? '' : 's'}`;
  }
  const days = ms / DAY_MS;
  if (days < 60) return `${days} days`;
  if (days % 365 === 0) return `${days / 365} year${days === 365 ? '' : 's'}`;
  const months = Math.round(days / 30.44);
  return months >= 24
    ? `${days} days (about ${Math.round(days / 365)} years)`
    : `${days} days (about ${months} months)`;
}

/**
 * The enforced rule in words, from the clock and the effective value: what the page, the retention
 * API and the CLI print, so all three say the same thing.
 */
export function describeRetention(cls: DataClass, ms: number | null): string {
  if (cls.describe) return cls.describe;
  const d = ms === null ? '' : formatDuration(ms);
  switch (cls.clock.kind) {
    case 'record_age':
      return ms === null ? 'Not kept' : `${d} from creation`;
    case 'expiry':
      return ms === null ? 'Not kept' : `${d} from creation`;
    case 'month_of_receipt':
      return `${d} after the end of the month the event was received`;
    case 'month_of_record':
      return `${d} after the end of the month of its last update (as ${cls.follows ?? cls.name})`;
    case 'partnership':
      return `Partnership duration, then ${d}`;
    case 'project_lifetime':
      return ms === null ? 'Project lifetime' : `Project lifetime, then a deletion grace period of ${d}`;
    case 'until_revoked':
      return 'Until revoked or the partnership ends';
    case 'kept':
      return 'Kept with the org record';
  }
}

/** The classes whose retention a contract may set, by name. */
export function adjustableClassNames(classes: readonly DataClass[]): DataClassName[] {
  return classes.filter(isAdjustable).map((c) => c.name as DataClassName);
}
