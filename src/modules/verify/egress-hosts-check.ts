import { createAllowlist, vendorClaimsHost } from '../../egress/egress-allowlist.ts';
import type { SubprocessorEntry } from '../../privacy/subprocessors.ts';
import { createEgressLedgerDal } from '../egress-ledger/egress-ledger-dal.ts';
import type { Check } from './verify-types.ts';

/**
 * Vendor hosts in use that the sub-processor list does not name: every (vendor, host) pair of the
 * egress ledger must be claimed by that vendor's entry in the list this deployment publishes. The
 * gateway refuses such calls, so a violation means the list changed after the calls were made (a
 * vendor or host removed while its rows remain) or a row did not come from the gateway: either way
 * the page no longer names someone data went to. Rows past retention are the retention check's
 * (the egress_ledger class's purger counts them).
 */
export function egressHostsCheck(subprocessors: readonly SubprocessorEntry[]): Check {
  const allowlist = createAllowlist(subprocessors);
  const dal = createEgressLedgerDal();
  return {
    name: 'egress',
    description: 'every vendor host in the egress ledger is named by the sub-processor list',
    async run({ db }) {
      const pairs = await dal.vendorHosts(db);
      return pairs
        .filter((p) => {
          const vendor = allowlist.vendor(p.vendor);
          return vendor === undefined || !vendorClaimsHost(vendor, p.host);
        })
        .map((p) => ({
          message: `${p.vendor} at ${p.host}: ${p.rows} egress ledger row(s) for a vendor host the sub-processor list does not name`,
          vendor: p.vendor,
          host: p.host,
          rows: p.rows,
        }));
    },
  };
}
