import { DAY_MS } from '../../lib/clock.ts';
import { AppError } from '../../lib/errors.ts';
import type { Page } from '../../lib/pagination.ts';
import type { TenantScope } from '../../lib/scope.ts';
import type { EgressLedgerDal, EgressRollupRow } from './egress-ledger-dal.ts';

/**
 * The egress ledger as partners see it: the daily roll-up (GET /v1/data-protection/egress) and the
 * last 30 days per vendor on the live data-protection page. Both read in the org's tenant
 * transaction, so RLS keeps every org to its own rows.
 */
export const DEFAULT_WINDOW_MS = 30 * DAY_MS;
/** The longest window one request may ask for: the longest retention a contract may set (7 years). */
export const MAX_WINDOW_MS = 7 * 365 * DAY_MS;

export type EgressVendorSummary = {
  vendor: string;
  purposes: string[];
  data_classes: string[];
  requests: number;
  records: number;
  bytes: number;
  errors: number;
};

export function createEgressLedgerService(deps: { dal: EgressLedgerDal }) {
  const { dal } = deps;
  return {
    async rollup(
      scope: TenantScope,
      q: { since?: string; until?: string; vendor?: string; purpose?: string; limit?: number },
    ): Promise<Page<EgressRollupRow>> {
      // [since, until): until is exclusive; without one, everything up to and including now.
      const until = q.until ? new Date(q.until) : new Date(scope.now.getTime() + 1);
      const since = q.since ? new Date(q.since) : new Date(until.getTime() - DEFAULT_WINDOW_MS);
      if (since.getTime() >= until.getTime())
        throw new AppError('parameter_invalid', 'since must be before until.', { param: 'since' });
      if (until.getTime() - since.getTime() > MAX_WINDOW_MS)
        throw new AppError('parameter_invalid', 'since and until may be at most 7 years apart.', {
          param: 'since',
        });
      const limit = q.limit ?? 1000;
      const rows = await dal.rollup(
        scope.tx,
        {
          since,
          until,
          ...(q.vendor === undefined ? {} : { vendor: q.vendor }),
          ...(q.purpose === undefined ? {} : { purpose: q.purpose }),
        },
        limit + 1,
      );
      return { object: 'list', data: rows.slice(0, limit), has_more: rows.length > limit };
    },

    /** What left for each vendor in the last `days` days (the page's table), most requests first. */
    async lastDaysByVendor(scope: TenantScope, days = 30): Promise<EgressVendorSummary[]> {
      const since = new Date(scope.now.getTime() - days * DAY_MS);
      const rows = await dal.rollup(scope.tx, { since, until: new Date(scope.now.getTime() + 1) }, 100_000);
      const byVendor = new Map<string, EgressVendorSummary & { p: Set<string>; c: Set<string> }>();
      for (const r of rows) {
        let v = byVendor.get(r.vendor);
        if (!v) {
          v = {
            vendor: r.vendor,
            purposes: [],
            data_classes: [],
            requests: 0,
            records: 0,
            bytes: 0,
            errors: 0,
            p: new Set(),
            c: new Set(),
          };
          byVendor.set(r.vendor, v);
        }
        v.p.add(r.purpose);
        for (const c of r.data_classes) v.c.add(c);
        v.requests += r.requests;
        v.records += r.records;
        v.bytes += r.bytes;
        v.errors += r.errors;
      }
      return [...byVendor.values()]
        .map(({ p, c, ...v }) => ({ ...v, purposes: [...p].sort(), data_classes: [...c].sort() }))
        .sort((a, b) => b.requests - a.requests || a.vendor.localeCompare(b.vendor));
    },
  };
}

export type EgressLedgerService = ReturnType<typeof createEgressLedgerService>;
