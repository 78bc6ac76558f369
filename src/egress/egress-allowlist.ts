import type { SubprocessorEntry } from '../privacy/subprocessors.ts';
import type { EgressPurpose } from './egress-types.ts';

/**
 * Which hosts a call may reach: the hosts a vendor of the sub-processor registry names, for the
 * purposes it names, plus the hosts of the destinations a project enabled. Read from the same
 * entries as the sub-processor list, the page and GET /v1/subprocessors.
 */
export type RegisteredVendor = {
  id: string;
  name: string;
  purposes: ReadonlySet<EgressPurpose>;
  /** Exact hosts, lower-case. */
  hosts: ReadonlySet<string>;
  /** `*.suffix` hosts as the suffix (`.s3.us-east-1.amazonaws.com`): one more label in front matches. */
  wildcardSuffixes: readonly string[];
};

export type Allowlist = {
  vendor(id: string): RegisteredVendor | undefined;
  vendors(): readonly RegisteredVendor[];
};

export function createAllowlist(entries: readonly SubprocessorEntry[]): Allowlist {
  const byId = new Map<string, RegisteredVendor>();
  for (const e of entries) {
    if (!e.id || !e.hosts || !e.egress_purposes) continue;
    byId.set(e.id, {
      id: e.id,
      name: e.name,
      purposes: new Set(e.egress_purposes),
      hosts: new Set(e.hosts.filter((h) => !h.startsWith('*.'))),
      wildcardSuffixes: e.hosts.filter((h) => h.startsWith('*.')).map((h) => h.slice(1)),
    });
  }
  const all = Object.freeze([...byId.values()]);
  return { vendor: (id) => byId.get(id), vendors: () => all };
}

/** Whether `vendor` names `host` (lower-case, no port): exactly, or as one label under a `*.` entry. */
export function vendorClaimsHost(vendor: RegisteredVendor, host: string): boolean {
  if (vendor.hosts.has(host)) return true;
  for (const suffix of vendor.wildcardSuffixes) {
    if (host.length <= suffix.length || !host.endsWith(suffix)) continue;
    const label = host.slice(0, host.length - suffix.length);
    if (!label.includes('.')) return true;
  }
  return false;
}

/**
 * A destination a project enabled (a Conversions API forwarding target, API.md "destinations"): its
 * type, the registry vendor it belongs to and the hosts it sends to. `capi` calls go only to these.
 */
export type EnabledDestination = { type: string; vendor: string; hosts: readonly string[] };

/**
 * The seam the gateway asks for a project's enabled destinations. It is asked only when a call needs
 * it (a `capi` call, or a host no registry vendor claims), so an implementation may read the
 * database. No destinations exist yet: today's implementation answers none, so every `capi` call is
 * refused until the destinations module (CAPI forwarding) supplies the real lookup.
 */
export type DestinationLookup = (scope: {
  orgId: string;
  projectId: string | null;
}) => Promise<readonly EnabledDestination[]>;

export const noEnabledDestinations: DestinationLookup = async () => [];
