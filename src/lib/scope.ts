import type { TenantDb } from '../db/tenant-transaction.ts';

/** Who did it: recorded on audit entries. */
export type Actor = { type: 'api_key' | 'user' | 'system'; id: string | null };

/**
 * What a service method needs to act for one org: a transaction already scoped to that org (RLS on),
 * the actor, and the request id that ties audit entries to the request log.
 */
export type TenantScope = {
  tx: TenantDb;
  orgId: string;
  actor: Actor;
  requestId: string | null;
  now: Date;
};

/** The scope of work Layers does itself (a job, the operator) for one org, in `tx` (see withTenant). */
export function systemScope(
  tx: TenantDb,
  orgId: string,
  now: Date,
  requestId: string | null = null,
): TenantScope {
  return { tx, orgId, actor: { type: 'system', id: null }, requestId, now };
}
